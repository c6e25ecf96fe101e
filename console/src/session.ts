// What every page reads: the stage's config, the API client and who is signed in.
import { createContext, useContext } from 'react';
import type { SCOPES } from '../../lambdas/shared/contracts/api.js';
import type { ConsoleConfig } from '../../lambdas/shared/contracts/console.js';
import type { Api } from './api.js';

/** Scopes the UI explains itself by (typed against the contract; a value import would bundle every schema). */
export const ADMIN_SCOPE: (typeof SCOPES)['admin'] = 'aims/admin';
export const REVIEW_SCOPE: (typeof SCOPES)['review'] = 'aims/review';

export interface Session {
  readonly config: ConsoleConfig;
  readonly api: Api;
  readonly userName: string;
  readonly scopes: readonly string[];
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}
