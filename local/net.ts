// Loopback networking helpers the local stage and its tests share.
import { createServer } from 'node:net';

/** A loopback port that was free a moment ago (the API's port must be known before the template is resolved). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePromise(port));
    });
  });
}
