// End-to-end stream on the local stage: ingest → Kinesis → features, a poison record → DLQ, the bus → the stream.
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { IngestResponse } from '../../lambdas/shared/contracts/api.js';
import type { CustomerState, MerchantState } from '../../models/fraud-detector/src/features.js';
import type { Transaction } from '../../models/shared/contracts/transaction.js';
import { eventually } from '../support/eventually.js';
import {
  type Caller,
  call,
  callerFor,
  type E2eStage,
  PATHS,
  refOf,
  ruleTargetsFor,
  runId,
  type SdkClients,
  STAGE_HOOK_TIMEOUT_MS,
  sdkClients,
  startE2eStage,
  transaction,
} from './support.js';

const TEST_TIMEOUT_MS = 90_000;

let e2e: E2eStage;
let aws: SdkClients;
let gateway: Required<Caller>;
const run = runId('stream');

beforeAll(async () => {
  e2e = await startE2eStage('stream');
  aws = sdkClients(e2e.stage);
  gateway = await callerFor(e2e.stage, 'merchant-gateway');
}, STAGE_HOOK_TIMEOUT_MS);

afterAll(async () => {
  aws?.destroy();
  await e2e?.close();
}, STAGE_HOOK_TIMEOUT_MS);

interface FeatureItem<S> {
  readonly pk: string;
  readonly kind: string;
  readonly state: S;
  readonly version: number;
}

async function aggregate<S>(pk: string): Promise<FeatureItem<S> | undefined> {
  const { Item } = await aws.doc.send(
    new GetCommand({ TableName: refOf(e2e.stage, PATHS.featuresTable), Key: { pk }, ConsistentRead: true }),
  );
  return Item as FeatureItem<S> | undefined;
}

const customer = (id: string) => aggregate<CustomerState>(`customer#${id}`);
const merchant = (id: string) => aggregate<MerchantState>(`merchant#${id}`);
/** Transactions a merchant aggregate has counted (its 5-minute buckets cover the last 24 h). */
const merchantCount = (state: MerchantState): number => state.fine.reduce((sum, bucket) => sum + bucket[1], 0);

/** Minutes ago, so every transaction is inside all the feature windows. */
const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString();

describe('GIVEN the merchant gateway submits a batch of transactions', () => {
  const customers = [`${run}-c1`, `${run}-c2`, `${run}-c3`];
  const merchants = [`${run}-m1`, `${run}-m2`];
  const batch: Transaction[] = Array.from({ length: 24 }, (_, i) =>
    transaction(`${run}-b-${i}`, {
      customerId: customers[i % 3] as string,
      merchantId: merchants[i % 2] as string,
      amount: 10 + i,
      timestamp: minutesAgo(60 - i),
    }),
  );

  it(
    'WHEN the stream has been consumed THEN every customer and merchant aggregate counts exactly its transactions',
    async () => {
      const response = await call(e2e.stage, 'POST', '/v1/transactions', {
        caller: gateway,
        body: { transactions: batch },
      });
      expect(response.status).toBe(200);
      expect(IngestResponse.parse(response.json)).toEqual({ accepted: batch.length, failed: [] });
      await e2e.stage.mappings.drain();

      for (const id of customers) {
        const item = await customer(id);
        const expected = batch.filter((t) => t.customerId === id);
        expect(item?.kind).toBe('customer');
        expect(item?.state.count).toBe(expected.length);
        expect(item?.state.events.map((e) => e.id).sort()).toEqual(expected.map((t) => t.transactionId).sort());
      }
      for (const id of merchants) {
        const item = await merchant(id);
        expect(item?.kind).toBe('merchant');
        expect(merchantCount(item?.state as MerchantState)).toBe(batch.filter((t) => t.merchantId === id).length);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'WHEN the same batch is submitted again THEN nothing is counted twice',
    async () => {
      const before = await customer(customers[0] as string);
      const response = await call(e2e.stage, 'POST', '/v1/transactions', {
        caller: gateway,
        body: { transactions: batch },
      });
      expect(response.status).toBe(200);
      await e2e.stage.mappings.drain();
      const after = await customer(customers[0] as string);
      expect(after?.state.count).toBe(before?.state.count);
      // A replay is recognised and not even rewritten: the optimistic-concurrency version did not move.
      expect(after?.version).toBe(before?.version);
      expect(merchantCount((await merchant(merchants[0] as string))?.state as MerchantState)).toBe(batch.length / 2);
    },
    TEST_TIMEOUT_MS,
  );
});

interface OnFailureRecord {
  readonly requestContext: { readonly condition: string; readonly functionArn: string };
  readonly KinesisBatchInfo: {
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

describe('GIVEN a Kinesis batch with a poison record in the middle and a duplicate', () => {
  const customerId = `${run}-poisoned`;
  const valid = Array.from({ length: 6 }, (_, i) =>
    transaction(`${run}-p-${i}`, { customerId, merchantId: `${run}-pm`, timestamp: minutesAgo(30 - i) }),
  );
  const entries = [
    ...valid.slice(0, 3).map((t) => ({ Data: Buffer.from(JSON.stringify(t)), PartitionKey: customerId })),
    { Data: Buffer.from('{"transactionId": "broken", this is not JSON'), PartitionKey: customerId },
    ...valid.slice(3).map((t) => ({ Data: Buffer.from(JSON.stringify(t)), PartitionKey: customerId })),
    // The same transaction again, as a producer retry would put it.
    { Data: Buffer.from(JSON.stringify(valid[1])), PartitionKey: customerId },
  ];
  let poisonSequence: bigint;

  beforeAll(async () => {
    const out = await aws.kinesis.send(
      new PutRecordsCommand({ StreamName: refOf(e2e.stage, PATHS.stream), Records: entries }),
    );
    expect(out.FailedRecordCount ?? 0).toBe(0);
    poisonSequence = BigInt(out.Records?.[3]?.SequenceNumber ?? '-1');
    await e2e.stage.mappings.drain();
  }, TEST_TIMEOUT_MS);

  it('WHEN the mapping gives up on it THEN the features DLQ holds its on-failure record', async () => {
    const dlq = e2e.stage.services
      .queueMessages(refOf(e2e.stage, PATHS.featuresDlq))
      .map((m) => JSON.parse(m.Body) as OnFailureRecord);
    const covering = dlq.filter(
      (r) =>
        BigInt(r.KinesisBatchInfo.startSequenceNumber) <= poisonSequence &&
        poisonSequence <= BigInt(r.KinesisBatchInfo.endSequenceNumber),
    );
    expect(covering).toHaveLength(1);
    expect(covering[0]?.requestContext.condition).toBe('RetryAttemptsExhausted');
    expect(covering[0]?.requestContext.functionArn).toContain('FeaturesFunction');
    // Partial batch responses checkpoint past the records that landed: the record sent on holds the poison first.
    expect(BigInt(covering[0]?.KinesisBatchInfo.startSequenceNumber ?? '0')).toBe(poisonSequence);
  });

  it('WHEN the rest of the batch is applied THEN each valid transaction counts once despite retries and the duplicate', async () => {
    const item = await customer(customerId);
    expect(item?.state.count).toBe(valid.length);
    expect(item?.state.events.map((e) => e.id).sort()).toEqual(valid.map((t) => t.transactionId).sort());
    expect(merchantCount((await merchant(`${run}-pm`))?.state as MerchantState)).toBe(valid.length);
  });
});

describe('GIVEN an external publisher puts TransactionSubmitted on the bus', () => {
  const txn = transaction(`${run}-bus`, { customerId: `${run}-bus-c`, merchantId: `${run}-bus-m` });

  it(
    'WHEN the rule delivers it THEN it reaches the stream and the features',
    async () => {
      const put = await aws.events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: refOf(e2e.stage, PATHS.bus),
              Source: 'partner.pos-terminals',
              DetailType: 'TransactionSubmitted',
              Detail: JSON.stringify({ version: 1, data: txn }),
            },
          ],
        }),
      );
      expect(put.FailedEntryCount ?? 0).toBe(0);
      await e2e.stage.services.settle();
      const delivered = e2e.stage.services
        .deliveries()
        .filter((d) => d.eventId === put.Entries?.[0]?.EventId && d.status === 'delivered');
      const targets = ruleTargetsFor(e2e.stage, 'TransactionSubmitted');
      expect(targets).toHaveLength(1);
      expect(delivered.map((d) => d.targetArn)).toEqual(targets);
      const item = await eventually('the bus transaction in the features table', async () => {
        await e2e.stage.mappings.drain();
        return customer(txn.customerId);
      });
      expect(item.state.count).toBe(1);
      expect(item.state.events[0]?.id).toBe(txn.transactionId);
    },
    TEST_TIMEOUT_MS,
  );
});
