// People who sign in (analysts, operators): their Cognito groups and the API scopes each group grants. The one
// source for the user pool's groups, the authorizer's intersection, the local issuer's tokens and the console.
import { SCOPES, type Scope } from './api.js';

export interface PeopleGroup {
  readonly description: string;
  /** What a member may do through the API, whatever scopes the token of the console's client asks for. */
  readonly scopes: readonly Scope[];
}

/**
 * Operators do not get `review`: the people who approve model versions are not the people who override the model's
 * decisions (separation of duties); an operator who also works cases is put in both groups.
 */
export const PEOPLE_GROUPS = {
  analysts: {
    description: 'Fraud analysts: read decisions, label cases, work the review queue',
    scopes: [SCOPES.read, SCOPES.feedback, SCOPES.review],
  },
  operators: {
    description: 'Platform operators: read decisions, approve and roll back model versions',
    scopes: [SCOPES.read, SCOPES.admin],
  },
} as const satisfies Readonly<Record<string, PeopleGroup>>;
export type PeopleGroupName = keyof typeof PEOPLE_GROUPS;

/** The Cognito claim listing a person's groups (in access and id tokens). */
export const GROUPS_CLAIM = 'cognito:groups';

/** The scopes the groups grant together; unknown group names grant nothing. */
export function scopesOfGroups(groups: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const g of groups) {
    if (!Object.hasOwn(PEOPLE_GROUPS, g)) continue;
    for (const s of PEOPLE_GROUPS[g as PeopleGroupName].scopes) out.add(s);
  }
  return out;
}
