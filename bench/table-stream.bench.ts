// What the local DynamoDB stream costs a write: PutItem on bare dynalite, through the stream recorder to a table
// without a stream (pass-through), and to a streamed table (intent, two reads, record, fdatasync) — one caller and 16
// concurrent callers, rounds alternating so the machine's noise falls on all three alike. Both servers run in their
// own process, as in the local stage (the recorder in the backends process), so the callers do not share their CPU.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { startLocalBackends } from '../local/backends/index.js';
import { freePort } from '../local/net.js';
import { type Figure, info, median, NODE, printTable, round, writeResult } from './support/figures.js';

const require = createRequire(import.meta.url);

const ROUNDS = 5;
const SEQUENTIAL = 200;
const CONCURRENT = 16;
const CONCURRENT_WRITES = 400;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

/** A decision-sized item (≈ 1 KB). */
const item = (id: string) => ({
  pk: { S: id },
  decision: { S: 'review' },
  score: { N: '0.4312' },
  explanation: { S: 'x'.repeat(900) },
});

async function main(): Promise<void> {
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'aims-bench-stream-'));
  const port = await freePort();
  const bareProcess: ChildProcess = spawn(
    NODE,
    [
      require.resolve('dynalite/cli.js'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--path',
      join(dataDir, 'bare'),
      '--createTableMs',
      '0',
    ],
    { stdio: 'ignore' },
  );
  const bare = `http://127.0.0.1:${port}`;
  const backends = await startLocalBackends({ dataDir: join(dataDir, 'stage'), buckets: [], region: 'eu-west-1' });
  const clientOf = (endpoint: string) => new DynamoDBClient({ endpoint, region: 'eu-west-1', credentials });
  const viaRecorder = clientOf(backends.endpoints.dynamodb);
  const bareClient = clientOf(bare);
  for (const [client, name, stream] of [
    [bareClient, 'plain', false],
    [viaRecorder, 'plain', false],
    [viaRecorder, 'streamed', true],
  ] as const) {
    // The bare server may still be starting: a bounded wait for its first answer.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (error) {
        if (attempt >= 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await client.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } } : {}),
      }),
    );
    await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 1 }, { TableName: name });
  }
  const paths = {
    bare: { client: bareClient, table: 'plain' },
    passThrough: { client: viaRecorder, table: 'plain' },
    streamed: { client: viaRecorder, table: 'streamed' },
  };
  const latencies: Record<keyof typeof paths, number[]> = { bare: [], passThrough: [], streamed: [] };
  const throughput: Record<keyof typeof paths, number[]> = { bare: [], passThrough: [], streamed: [] };
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, { client, table }] of Object.entries(paths) as [keyof typeof paths, (typeof paths)['bare']][]) {
      for (let i = 0; i < SEQUENTIAL; i++) {
        const t0 = performance.now();
        await client.send(new PutItemCommand({ TableName: table, Item: item(`s-${n++}`) }));
        if (round > 0 || i >= 20) latencies[name].push(performance.now() - t0);
      }
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENT }, async () => {
          while (next < CONCURRENT_WRITES) {
            next++;
            await client.send(new PutItemCommand({ TableName: table, Item: item(`c-${n++}`) }));
          }
        }),
      );
      throughput[name].push(CONCURRENT_WRITES / ((performance.now() - t0) / 1000));
    }
  }
  const figures: Figure[] = [];
  for (const name of Object.keys(paths) as (keyof typeof paths)[]) {
    figures.push(
      info(`PutItem ${name}, one caller, p50`, percentile(latencies[name], 50), 'ms'),
      info(`PutItem ${name}, one caller, p99`, percentile(latencies[name], 99), 'ms'),
      info(`PutItem ${name}, ${CONCURRENT} callers`, median(throughput[name]), 'writes/s'),
    );
  }
  const overhead = percentile(latencies.streamed, 50) - percentile(latencies.bare, 50);
  figures.push(info('stream recording overhead per write (p50, streamed − bare)', overhead, 'ms'));
  writeResult('table-stream', started, figures, {
    method: `${ROUNDS} rounds alternating bare dynalite (its own process), the recorder (in the backends process) to a table without a stream, and to a NEW_IMAGE table: ${SEQUENTIAL} sequential PutItems of ≈1 KB (latency) then ${CONCURRENT_WRITES} over ${CONCURRENT} callers (throughput, median of rounds).`,
    ratios: {
      p50: round(percentile(latencies.streamed, 50) / percentile(latencies.bare, 50), 2),
      throughput: round(median(throughput.streamed) / median(throughput.bare), 2),
    },
  });
  printTable(figures);
  for (const p of Object.values(paths)) p.client.destroy();
  await backends.close();
  bareProcess.kill();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
