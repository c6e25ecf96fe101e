// What every page reads: the stage's config, the API client and who is signed in.
import { createContext, useContext } from 'react';
import type { ConsoleConfig } from '../../lambdas/shared/contracts/console.js';
import type { Api } from './api.js';

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
