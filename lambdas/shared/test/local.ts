// Test support: dynalite in-process, the tables with the contract's key schemas, a tiny HTTP server for AWS
// JSON-protocol services that have no local emulator here (SageMaker Runtime, Firehose, EventBridge), and the real
// model server on a model's committed bootstrap.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type LocalModelEndpoint, startLocalModelEndpoint } from '../../../local/model-endpoint.js';
import type { ClientOptions } from '../aws.js';
import { DECISIONS_BY_DAY } from '../contracts/decisions-table.js';

interface Listening {
  listen(port: number, host: string, cb: (err?: Error) => void): void;
  address(): AddressInfo | string | null;
  close(cb: (err?: Error) => void): void;
}

// dynalite ships CommonJS without type declarations.
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { createTableMs: number }) => Listening;

export interface LocalServer {
  readonly endpoint: string;
  readonly clientOptions: ClientOptions;
  close(): Promise<void>;
}

export const localClientOptions = (endpoint: string): ClientOptions => ({
  endpoint,
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

export async function startDynalite(): Promise<LocalServer> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    clientOptions: localClientOptions(endpoint),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const stringKey = (name: string) => ({
  AttributeDefinitions: [{ AttributeName: name, AttributeType: 'S' as const }],
  KeySchema: [{ AttributeName: name, KeyType: 'HASH' as const }],
  BillingMode: 'PAY_PER_REQUEST' as const,
});

/** The tables of the services contract (key schemas and the decisions GSI), under the given names. */
export const TABLES = {
  features: (TableName: string): CreateTableCommandInput => ({ TableName, ...stringKey('pk') }),
  decisions: (TableName: string): CreateTableCommandInput => ({
    TableName,
    AttributeDefinitions: [
      { AttributeName: 'transactionId', AttributeType: 'S' },
      { AttributeName: 'customerId', AttributeType: 'S' },
      { AttributeName: 'decidedAt', AttributeType: 'S' },
      { AttributeName: 'dayBucket', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'transactionId', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'byCustomer',
        KeySchema: [
          { AttributeName: 'customerId', KeyType: 'HASH' },
          { AttributeName: 'decidedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'byDay',
        KeySchema: [
          { AttributeName: 'dayBucket', KeyType: 'HASH' },
          { AttributeName: 'decidedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...DECISIONS_BY_DAY.projected] },
      },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  }),
  idempotency: (TableName: string): CreateTableCommandInput => ({ TableName, ...stringKey('id') }),
};

export async function createTable(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  await client.send(new CreateTableCommand(input));
}

export interface JsonRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** An HTTP server on 127.0.0.1 that answers each request with `respond` (status, JSON body) and records it. */
export async function startJsonServer(
  respond: (
    request: JsonRequest,
  ) =>
    | Promise<{ status: number; body: unknown; delayMs?: number }>
    | { status: number; body: unknown; delayMs?: number },
): Promise<LocalServer & { requests: JsonRequest[] }> {
  const requests: JsonRequest[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(request);
    const out = await respond(request);
    if (out.delayMs) await new Promise((r) => setTimeout(r, out.delayMs).unref());
    if (res.destroyed) return;
    res.writeHead(out.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    requests,
    clientOptions: localClientOptions(endpoint),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const REPOSITORY_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The local model server (its own process) serving `models/<model>/bootstrap`, logging into `logDir`. */
export function startBootstrapEndpoint(model: string, logDir: string): Promise<LocalModelEndpoint> {
  return startLocalModelEndpoint({
    root: REPOSITORY_ROOT,
    modelDir: join(REPOSITORY_ROOT, 'models', model, 'bootstrap'),
    manifestDir: join(REPOSITORY_ROOT, 'models', model),
    logFile: join(logDir, `${model}-server.log`),
  });
}
