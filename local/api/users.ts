// The local stage's people: seeded users with random passwords, generated once per data directory (mode 0600).
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { PeopleGroupName } from '../../lambdas/shared/contracts/people.js';
import { apiDir, readJsonFile, writeJsonFile } from './store.js';

export interface LocalUser {
  readonly username: string;
  readonly password: string;
  /** Cognito's `sub`: stable for the user across restarts. */
  readonly sub: string;
  readonly groups: readonly string[];
}

interface UsersFile {
  readonly users: readonly LocalUser[];
}

/** Who can sign in locally: one analyst and one operator, as a team would create them in the user pool. */
export const SEEDED_USERS: readonly { readonly username: string; readonly groups: readonly PeopleGroupName[] }[] = [
  { username: 'analyst', groups: ['analysts'] },
  { username: 'operator', groups: ['operators'] },
];

export const usersPath = (dataDir: string): string => join(apiDir(dataDir), 'users.json');

/** A password the pool's policy accepts (16+ characters with upper, lower, digit and symbol). */
function newPassword(): string {
  return `${randomBytes(18).toString('base64url')}-Aa1`;
}

/** Creates the seeded users the data directory lacks; existing users keep their password and `sub`. */
export function syncUsers(dataDir: string): readonly LocalUser[] {
  const previous = readJsonFile<UsersFile>(usersPath(dataDir))?.users ?? [];
  const byName = new Map(previous.map((u) => [u.username, u]));
  let changed = previous.length === 0;
  for (const seed of SEEDED_USERS) {
    if (byName.has(seed.username)) continue;
    byName.set(seed.username, {
      username: seed.username,
      password: newPassword(),
      sub: randomUUID(),
      groups: seed.groups,
    });
    changed = true;
  }
  const users = [...byName.values()];
  // writeJsonFile creates the file with mode 0600: the passwords are for this machine's user only.
  if (changed) writeJsonFile(usersPath(dataDir), { users } satisfies UsersFile);
  return users;
}

/** The local users and their passwords (for `npm start`'s banner and the tests); throws before the first start. */
export function readLocalUsers(dataDir: string): readonly LocalUser[] {
  const file = readJsonFile<UsersFile>(usersPath(dataDir));
  if (!file) throw new Error(`no local users in ${usersPath(dataDir)}: start the local stage first`);
  return file.users;
}

/** The user whose name and password match, compared in constant time per candidate. */
export function checkPassword(users: readonly LocalUser[], username: string, password: string): LocalUser | undefined {
  const user = users.find((u) => u.username === username);
  if (!user) return undefined;
  const a = Buffer.from(password);
  const b = Buffer.from(user.password);
  return a.length === b.length && timingSafeEqual(a, b) ? user : undefined;
}
