// Entry of the local backends process: starts dynalite, kinesalite and s3rver, reports their ports to the parent over
// IPC and stops them cleanly (LevelDB closed) when told to, or when the parent goes away.
// Run by ./index.ts as `node --import tsx local/backends/child.ts '<config json>'`; not meant to be run by hand.
import { type BackendServers, type BackendServersConfig, startBackendServers } from './servers.js';

/** Messages of the backends process to its parent. */
export type BackendsChildMessage =
  | { readonly type: 'ready'; readonly endpoints: BackendServers['endpoints'] }
  | { readonly type: 'failed'; readonly message: string; readonly stack?: string };

/** Messages of the parent to the backends process. */
export type BackendsParentMessage = { readonly type: 'close' };

const send = (message: BackendsChildMessage): Promise<void> =>
  new Promise((resolve) => {
    process.send?.(message, undefined, {}, () => resolve());
  });

if (!process.send) {
  process.stderr.write(
    'local/backends/child.ts runs only as the child of startLocalBackends (it needs an IPC channel)\n',
  );
  process.exit(2);
}

let servers: BackendServers | undefined;
let closing: Promise<void> | undefined;

function shutdown(reason: string): Promise<void> {
  closing ??= (async () => {
    process.stdout.write(`${new Date().toISOString()} stopping the backends (${reason})\n`);
    let code = 0;
    try {
      await servers?.close();
    } catch (error) {
      process.stderr.write(`${new Date().toISOString()} ${String(error)}\n`);
      code = 1;
    }
    process.exit(code);
  })();
  return closing;
}

// Ctrl-C or a SIGTERM to the whole process group reaches us too: the parent decides when to stop us, after its own
// consumers have stopped (it sends 'close', or goes away). A SIGKILL of the group still ends us at once.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
// The parent died without closing us: flush and go, never linger holding the LevelDB locks.
process.on('disconnect', () => void shutdown('the parent process went away'));
process.on('message', (message: BackendsParentMessage) => {
  if (message?.type === 'close') void shutdown('asked by the parent');
});

try {
  const config = JSON.parse(process.argv[2] ?? '') as BackendServersConfig;
  servers = await startBackendServers(config);
  process.stdout.write(`${new Date().toISOString()} backends ready: ${JSON.stringify(servers.endpoints)}\n`);
  await send({ type: 'ready', endpoints: servers.endpoints });
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  process.stderr.write(`${new Date().toISOString()} backends failed to start: ${e.stack ?? e.message}\n`);
  await send({ type: 'failed', message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
  process.exit(1);
}
