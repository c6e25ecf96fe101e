// The console's entry: reads the runtime configuration written beside the app, then renders.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CONSOLE_CONFIG_FILE, ConsoleConfig } from '../../lambdas/shared/contracts/console.js';

async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch(new URL(CONSOLE_CONFIG_FILE, document.baseURI));
  if (!response.ok) throw new Error(`${CONSOLE_CONFIG_FILE}: HTTP ${response.status}`);
  return ConsoleConfig.parse(await response.json());
}

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
loadConfig().then(
  (config) =>
    createRoot(root).render(
      <StrictMode>
        <main>
          <h1>AIMS console — {config.stage}</h1>
        </main>
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
