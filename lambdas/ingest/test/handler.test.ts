// Ingest handlers as deployed (module wiring from env, middy, error mapper) against kinesalite, plus a refusing stream.
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, EventBridgeEvent } from 'aws-lambda';
import { type LocalServer, startKinesalite } from '../../features/test/local-servers.js';
import { kinesisClient } from '../../shared/aws.js';
import { createPowertools } from '../../shared/powertools.js';
import { createHttpHandler } from '../app.js';
import type { PutOutcome, StreamRecord } from '../core.js';
import { txn } from './fixtures.js';

const STREAM = 'transactions';
let server: LocalServer;
let mod: typeof import('../handler.js');

const context = { awsRequestId: 'req-ctx', functionName: 'ingest' } as Context;
const apiEvent = (body: unknown): APIGatewayProxyEvent =>
  ({
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    headers: {},
    pathParameters: null,
    queryStringParameters: null,
    requestContext: { requestId: 'req-1', authorizer: { clientId: 'c', scopes: 'aims/ingest' } },
  }) as unknown as APIGatewayProxyEvent;
const busEvent = (detailType: string, detail: unknown) =>
  ({ 'detail-type': detailType, source: 'aims.external', detail, id: 'e-1' }) as EventBridgeEvent<string, unknown>;

async function streamIds(): Promise<string[]> {
  const client = kinesisClient(server.clientOptions);
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: STREAM }));
  const ids: string[] = [];
  for (const shard of Shards) {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({ StreamName: STREAM, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const { Records = [] } = await client.send(new GetRecordsCommand({ ShardIterator }));
    ids.push(...Records.map((r) => JSON.parse(new TextDecoder().decode(r.Data)).transactionId as string));
  }
  client.destroy();
  return ids.sort();
}

beforeAll(async () => {
  server = await startKinesalite();
  const client = kinesisClient(server.clientOptions);
  await client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
  client.destroy();
  Object.assign(process.env, {
    POWERTOOLS_SERVICE_NAME: 'ingest',
    POWERTOOLS_METRICS_NAMESPACE: 'AimsTest',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_KINESIS: server.endpoint,
    TRANSACTION_STREAM_NAME: STREAM,
  });
  mod = await import('../handler.js');
});
afterAll(async () => {
  await server.close();
});

describe('POST /v1/transactions (handler)', () => {
  it('GIVEN a valid batch WHEN posted THEN 200 {accepted, failed: []} and the transactions are on the stream', async () => {
    const res = (await mod.handler(apiEvent({ transactions: [txn(1), txn(2)] }), context)) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ accepted: 2, failed: [] });
    expect(await streamIds()).toEqual(['t-1', 't-2']);
  });

  it('GIVEN one invalid item WHEN posted THEN 400 naming it and nothing is written', async () => {
    const before = await streamIds();
    const res = (await mod.handler(
      apiEvent({ transactions: [txn(3), { ...txn(4), amount: -5 }] }),
      context,
    )) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(400);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ error: { code: 'validation_error' }, requestId: 'req-1' });
    expect(body.error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'transactions.1.amount' })]),
    );
    expect(await streamIds()).toEqual(before);
  });

  it('GIVEN an empty or oversized batch WHEN posted THEN 400', async () => {
    const empty = (await mod.handler(apiEvent({ transactions: [] }), context)) as APIGatewayProxyResult;
    const big = (await mod.handler(
      apiEvent({ transactions: Array.from({ length: 501 }, (_, n) => txn(n)) }),
      context,
    )) as APIGatewayProxyResult;
    expect([empty.statusCode, big.statusCode]).toEqual([400, 400]);
  });

  it('GIVEN a stream that keeps refusing one record WHEN posted THEN 207 with that record in failed', async () => {
    const refusing = {
      putRecords: async (records: readonly StreamRecord[]): Promise<PutOutcome[]> =>
        records.map((r) =>
          r.partitionKey === 'c-2'
            ? { ok: false, code: 'ProvisionedThroughputExceededException', message: 'Rate exceeded' }
            : { ok: true, shardId: 's', sequenceNumber: '1' },
        ),
    };
    const handler = createHttpHandler({
      powertools: createPowertools({ serviceName: 'ingest' }),
      stream: refusing,
    });
    const res = (await handler(apiEvent({ transactions: [txn(1), txn(2)] }), context)) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(207);
    expect(JSON.parse(res.body)).toEqual({
      accepted: 1,
      failed: [
        { index: 1, transactionId: 't-2', code: 'ProvisionedThroughputExceededException', message: 'Rate exceeded' },
      ],
    });
  });

  it('GIVEN a stream that is down WHEN posted THEN 503 upstream_unavailable with the one error shape', async () => {
    const down = {
      putRecords: async (): Promise<PutOutcome[]> => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { name: 'Error' });
      },
    };
    const handler = createHttpHandler({ powertools: createPowertools({ serviceName: 'ingest' }), stream: down });
    const res = (await handler(apiEvent({ transactions: [txn(1)] }), context)) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 'upstream_unavailable', message: 'the transaction stream is unavailable; retry the batch' },
      requestId: 'req-1',
    });
  });
});

describe('onTransactionSubmitted (bus target)', () => {
  it('GIVEN a TransactionSubmitted event WHEN handled THEN its transaction is on the stream', async () => {
    await mod.onTransactionSubmitted(busEvent('TransactionSubmitted', { version: 1, data: txn(77) }), context);
    expect(await streamIds()).toContain('t-77');
  });

  it('GIVEN a malformed detail or another detail type WHEN handled THEN it throws so EventBridge retries / DLQs it', async () => {
    await expect(
      mod.onTransactionSubmitted(
        busEvent('TransactionSubmitted', { version: 1, data: { transactionId: 'x' } }),
        context,
      ),
    ).rejects.toThrow(/invalid TransactionSubmitted event detail/);
    await expect(
      mod.onTransactionSubmitted(busEvent('TransactionSubmitted', { version: 2, data: txn(78) }), context),
    ).rejects.toThrow(/invalid/);
    await expect(
      mod.onTransactionSubmitted(busEvent('LabelReported', { version: 1, data: txn(79) }), context),
    ).rejects.toThrow(/expected a TransactionSubmitted event/);
    expect(await streamIds()).not.toEqual(expect.arrayContaining(['t-78']));
  });
});
