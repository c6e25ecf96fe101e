// The console's entry: reads the runtime configuration written beside the app, completes or starts the sign-in, then
// renders the pages for the signed-in person.
import type { UserManager } from 'oidc-client-ts';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CONSOLE_CONFIG_FILE, ConsoleConfig } from '../../lambdas/shared/contracts/console.js';
import { App } from './App.js';
import { completeSignin, createUserManager, isSigninCallback } from './auth.js';
import './styles.css';

async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch(new URL(CONSOLE_CONFIG_FILE, document.baseURI));
  if (!response.ok) throw new Error(`${CONSOLE_CONFIG_FILE}: HTTP ${response.status}`);
  return ConsoleConfig.parse(await response.json());
}

async function start(): Promise<{ config: ConsoleConfig; manager: UserManager; signinError?: unknown }> {
  const config = await loadConfig();
  const manager = createUserManager(config);
  if (!isSigninCallback()) return { config, manager };
  try {
    await completeSignin(manager);
    return { config, manager };
  } catch (signinError) {
    // A stale or forged `state`, a refused code: say so on the sign-in screen rather than loop back to the issuer.
    window.history.replaceState(null, '', window.location.pathname);
    return { config, manager, signinError };
  }
}

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
start().then(
  ({ config, manager, signinError }) =>
    createRoot(root).render(
      <StrictMode>
        <App config={config} manager={manager} signinError={signinError} />
      </StrictMode>,
    ),
  (error: unknown) =>
    createRoot(root).render(
      <main>
        <h1>AIMS console</h1>
        <p role="alert">Cannot load the console's configuration: {String(error)}</p>
      </main>,
    ),
);
