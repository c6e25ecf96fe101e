// `npm start` serves console/dist: build it first when it is missing or older than what it is built from.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What the console's build reads: its own folder (dist aside) and the shared contracts it imports. */
const CONSOLE_INPUTS = ['console', join('lambdas', 'shared', 'contracts')] as const;
const SKIPPED = new Set(['dist', 'node_modules']);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Why the console needs a build (`console/dist is missing`, `console/src changed`…), or undefined when it is current. */
export function consoleBuildReason(root: string): string | undefined {
  const index = join(root, 'console', 'dist', 'index.html');
  if (!existsSync(index)) return 'console/dist is missing';
  const built = statSync(index).mtimeMs;
  for (const input of CONSOLE_INPUTS) {
    const dir = join(root, input);
    if (existsSync(dir) && newestMtime(dir) > built) return `${input} changed since the last build`;
  }
  return undefined;
}

/** Builds the console (`npm run console:build`) when consoleBuildReason says so. */
export async function ensureConsoleBuilt(
  root: string,
  run: (args: readonly string[], log: (line: string) => void) => Promise<void>,
  log: (line: string) => void,
): Promise<void> {
  const reason = consoleBuildReason(root);
  if (!reason) return;
  log(`▶ building the console: ${reason}`);
  const started = Date.now();
  await run(['vite', 'build', '--config', join(root, 'console', 'vite.config.ts')], log);
  log(`  built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
