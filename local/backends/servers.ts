// The stateful local backends — dynalite (DynamoDB, behind the stream recorder of ./stream-recorder.ts), kinesalite
// (Kinesis), s3rver (S3) — on loopback ports, with their data under one directory. Runs inside the backends process (see ./child.ts) or, for debugging, in the caller.
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import S3rver from 's3rver';
import { startStreamRecorder } from './stream-recorder.js';

export interface BackendServersConfig {
  /** The local stage's data directory: `dynamodb/`, `kinesis/` and `s3/` live under it. */
  readonly dataDir: string;
  /** Buckets s3rver creates at start (existing ones keep their objects). */
  readonly buckets: readonly string[];
  /** Account and region in the ARNs of the local table streams. @default 000000000000 and us-east-1 */
  readonly account?: string;
  readonly region?: string;
}

export interface BackendEndpoints {
  readonly dynamodb: string;
  readonly kinesis: string;
  readonly s3: string;
}

export interface BackendServers {
  readonly endpoints: BackendEndpoints;
  /** Stops the servers; dynalite and kinesalite close their LevelDB stores (flushing them) on the way. */
  close(): Promise<void>;
}

/** The fake key every local SDK client signs with (`sdkEnvironment` in ../types.ts). */
const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** s3rver only knows its own `S3RVER` key; teach it the fake key (module state, so in the process that hosts it). */
function allowFakeS3Credentials(): void {
  const require = createRequire(import.meta.url);
  const account = require('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
  };
  account.DUMMY_ACCOUNT.createKeyPair(FAKE_CREDENTIALS.accessKeyId, FAKE_CREDENTIALS.secretAccessKey);
}

async function listenOn(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes a server (the emulators' own close also closes their store) without waiting for keep-alive clients. */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error?: Error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

export async function startBackendServers(config: BackendServersConfig): Promise<BackendServers> {
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    const errors: string[] = [];
    for (const closeOne of closers.splice(0).reverse()) {
      await closeOne().catch((error: unknown) => errors.push(String(error)));
    }
    if (errors.length > 0) throw new Error(`closing the local backends: ${errors.join('; ')}`);
  };
  try {
    for (const dir of ['dynamodb', 'kinesis', 's3']) mkdirSync(join(config.dataDir, dir), { recursive: true });
    const dynamo = dynalite({
      path: join(config.dataDir, 'dynamodb'),
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
    const dynaliteUrl = await listenOn(dynamo);
    closers.push(() => closeServer(dynamo));
    // Clients reach dynalite through the stream recorder, which journals the changes of streamed tables.
    const recorder = await startStreamRecorder({
      upstream: dynaliteUrl,
      dataDir: config.dataDir,
      account: config.account ?? '000000000000',
      region: config.region ?? 'us-east-1',
    });
    closers.push(() => recorder.close());
    const dynamodb = recorder.url;

    const kinesisServer = kinesalite({
      path: join(config.dataDir, 'kinesis'),
      createStreamMs: 0,
      deleteStreamMs: 0,
      updateStreamMs: 0,
    });
    const kinesis = await listenOn(kinesisServer);
    closers.push(() => closeServer(kinesisServer));

    allowFakeS3Credentials();
    const s3rver = new S3rver({
      address: '127.0.0.1',
      port: 0,
      directory: join(config.dataDir, 's3'),
      silent: true,
      allowMismatchedSignatures: true,
      vhostBuckets: false,
      configureBuckets: config.buckets.map((name) => ({ name })),
    });
    const s3Address = await s3rver.run();
    closers.push(async () => {
      if (s3rver.httpServer) await closeServer(s3rver.httpServer);
    });
    return { endpoints: { dynamodb, kinesis, s3: `http://127.0.0.1:${s3Address.port}` }, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
