// Test support: dynalite, kinesalite and s3rver in-process on 127.0.0.1, and SDK options that point at them.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientOptions } from '../../shared/aws.js';

interface Listening {
  listen(port: number, host: string, cb: (err?: Error) => void): void;
  address(): AddressInfo | string | null;
  close(cb: (err?: Error) => void): void;
}
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

// These servers ship CommonJS without type declarations.
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { createTableMs: number }) => Listening;
const kinesalite = require('kinesalite') as (options: { createStreamMs: number }) => Listening;
const S3rver = require('s3rver') as new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
}) => S3rverInstance;

export interface LocalServer {
  readonly endpoint: string;
  /** Client options with fake credentials, so the SDK never walks the credential chain. */
  readonly clientOptions: ClientOptions;
  close(): Promise<void>;
}

const options = (endpoint: string, key = 'test'): ClientOptions => ({
  endpoint,
  region: 'eu-west-1',
  credentials: { accessKeyId: key, secretAccessKey: key },
});

async function listen(server: Listening): Promise<LocalServer> {
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  const address = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    clientOptions: options(endpoint),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const startDynalite = (): Promise<LocalServer> => listen(dynalite({ createTableMs: 0 }));
export const startKinesalite = (): Promise<LocalServer> => listen(kinesalite({ createStreamMs: 0 }));

export async function startS3rver(): Promise<LocalServer> {
  const directory = mkdtempSync(join(tmpdir(), 'aims-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    // s3rver checks signatures against its one built-in key pair.
    clientOptions: options(endpoint, 'S3RVER'),
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
