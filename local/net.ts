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

/** A loopback port held open until `release()`, so the servers started meanwhile on port 0 cannot be given it. */
export interface PortReservation {
  readonly port: number;
  release(): Promise<void>;
}

/**
 * Reserves a loopback port for a server that can only listen later (the API's URL is baked into the resolved
 * template before the emulators start, and every emulator listens on port 0 in between). Release it right before
 * the real server listens.
 */
export function reservePort(): Promise<PortReservation> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      let released: Promise<void> | undefined;
      resolvePromise({
        port,
        release: () => {
          released ??= new Promise<void>((done) => server.close(() => done()));
          return released;
        },
      });
    });
  });
}
