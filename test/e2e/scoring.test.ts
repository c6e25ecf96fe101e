// End-to-end scoring on the local stage: token → score → audit → events → alerts → decision log, and idempotency.
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DecisionRecord, ScoreResponse } from '../../lambdas/shared/contracts/api.js';
import { featureHash } from '../../lambdas/shared/inference.js';
import { FEATURE_NAMES } from '../../models/fraud-detector/src/features.js';
import type { Transaction } from '../../models/shared/contracts/transaction.js';
import {
  type Caller,
  call,
  callerFor,
  credentialsOf,
  type E2eStage,
  expectErrorBody,
  fetchToken,
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

let e2e: E2eStage;
let aws: SdkClients;
let gateway: Required<Caller>;
let analyst: Required<Caller>;
const run = runId('score');

beforeAll(async () => {
  e2e = await startE2eStage('scoring');
  aws = sdkClients(e2e.stage);
  gateway = await callerFor(e2e.stage, 'merchant-gateway');
  analyst = await callerFor(e2e.stage, 'analyst-console');
}, STAGE_HOOK_TIMEOUT_MS);

afterAll(async () => {
  aws?.destroy();
  await e2e?.close();
}, STAGE_HOOK_TIMEOUT_MS);

const transactionIdOf = (detail: unknown): string | undefined =>
  (detail as { data?: { transactionId?: string } } | undefined)?.data?.transactionId;

/** Events on the bus (the archive keeps every accepted one) of a detail type for one transaction. */
const busEvents = (detailType: string, id: string) =>
  e2e.stage.services
    .archive()
    .filter((a) => a.event['detail-type'] === detailType && transactionIdOf(a.event.detail) === id);

const deliveriesFor = (id: string) =>
  e2e.stage.services.deliveries().filter((d) => transactionIdOf((d.input as { detail?: unknown }).detail) === id);

const alertsFor = (id: string) =>
  e2e.stage.services
    .topicMessages(refOf(e2e.stage, PATHS.alertsTopic))
    .filter((m) => (JSON.parse(m.Message) as { transactionId?: string }).transactionId === id);

/** Every decision-log line Firehose delivered to the lake, read back through S3 and gunzipped. */
async function decisionLogLines(): Promise<Record<string, unknown>[]> {
  const lake = refOf(e2e.stage, PATHS.lakeBucket);
  const lines: Record<string, unknown>[] = [];
  for (const object of e2e.stage.services.firehoseObjects().filter((o) => o.bucket === lake)) {
    const got = await aws.s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }));
    const bytes = Buffer.from(
      await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    for (const line of gunzipSync(bytes).toString('utf8').split('\n')) {
      if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  }
  return lines;
}

describe('GIVEN an ordinary transaction scored by the merchant gateway', () => {
  const txn = transaction(`${run}-ok`);
  let scored: ScoreResponse;

  beforeAll(async () => {
    const response = await call(e2e.stage, 'POST', '/v1/score', { caller: gateway, body: txn });
    expect(response.status).toBe(200);
    scored = ScoreResponse.parse(response.json);
  });

  it('WHEN the token comes from the token endpoint THEN the score answers with a model decision', () => {
    expect(scored.transactionId).toBe(txn.transactionId);
    expect(['approve', 'review', 'decline']).toContain(scored.decision);
    expect(scored.degraded).toBe(false);
    expect(scored.model.name).toBe('fraud-detector');
    expect(scored.model.version).not.toBe('');
    expect(scored.explanation.length).toBeGreaterThan(0);
  });

  it('WHEN the analyst console reads the decision THEN the audit record explains and pins what the model saw', async () => {
    const response = await call(e2e.stage, 'GET', `/v1/decisions/${txn.transactionId}`, { caller: analyst });
    expect(response.status).toBe(200);
    const record = DecisionRecord.parse(response.json);
    expect(record.transaction).toEqual(txn);
    expect(record.decision).toBe(scored.decision);
    expect(record.score).toBe(scored.score);
    expect(record.model).toEqual(scored.model);
    expect(record.explanation).toEqual(scored.explanation);
    expect(Object.keys(record.features).sort()).toEqual([...FEATURE_NAMES].sort());
    // The hash is of the Float32 vector in model order: recomputing it from the stored features must agree.
    expect(record.featureHash).toBe(featureHash(FEATURE_NAMES.map((name) => record.features[name] as number)));
  });

  it('WHEN the bus is settled THEN exactly one TransactionScored with the decision was published', async () => {
    await e2e.stage.settle();
    const events = busEvents('TransactionScored', txn.transactionId);
    expect(events).toHaveLength(1);
    expect(events[0]?.event.source).toBe('aims.score');
    expect(events[0]?.event.detail).toMatchObject({
      version: 1,
      data: { decision: scored.decision, score: scored.score },
    });
    // Each rule that matches the decision's events delivered to its target, once.
    const expected = [
      ...ruleTargetsFor(e2e.stage, 'TransactionScored'),
      ...(scored.decision === 'approve' ? [] : ruleTargetsFor(e2e.stage, 'FraudSuspected')),
    ];
    const deliveries = deliveriesFor(txn.transactionId);
    expect(deliveries.map((d) => d.targetArn).sort()).toEqual(expected.sort());
    for (const d of deliveries) expect(d.status).toBe('delivered');
  });

  it('WHEN Firehose flushes THEN the decision log in the lake holds the audit record once, gzipped', async () => {
    await e2e.stage.settle();
    const lines = (await decisionLogLines()).filter((l) => l.transactionId === txn.transactionId);
    expect(lines).toHaveLength(1);
    const audit = DecisionRecord.parse(
      (await call(e2e.stage, 'GET', `/v1/decisions/${txn.transactionId}`, { caller: analyst })).json,
    );
    const { requestHash: _r, expiresAt: _e, ...expected } = audit;
    expect(lines[0]).toEqual(expected);
    const lake = refOf(e2e.stage, PATHS.lakeBucket);
    const keys = e2e.stage.services
      .firehoseObjects()
      .filter((o) => o.bucket === lake)
      .map((o) => o.key);
    for (const key of keys) expect(key).toMatch(/^decisions\/dt=\d{4}-\d{2}-\d{2}\//);
  });
});

describe('GIVEN a card-testing burst followed by a charge from another continent', () => {
  const customerId = `${run}-victim`;
  const burstStart = Date.now() - 30 * 60_000;
  const burst: Transaction[] = Array.from({ length: 5 }, (_, i) =>
    transaction(`${run}-probe-${i}`, {
      customerId,
      merchantId: `${run}-shop`,
      merchantCategory: 'digital_goods',
      amount: 1 + i * 0.25,
      channel: 'online',
      deviceId: `${run}-dev-${i}`,
      timestamp: new Date(burstStart + i * 5 * 60_000).toISOString(),
    }),
  );
  const suspicious = transaction(`${run}-sus`, {
    customerId,
    merchantId: `${run}-shop`,
    merchantCategory: 'digital_goods',
    amount: 2.5,
    channel: 'online',
    country: 'US',
    deviceId: `${run}-dev-new`,
    timestamp: new Date().toISOString(),
  });
  let first: ScoreResponse;

  beforeAll(async () => {
    const ingest = await call(e2e.stage, 'POST', '/v1/transactions', {
      caller: gateway,
      body: { transactions: burst },
    });
    expect(ingest.status).toBe(200);
    await e2e.stage.mappings.drain();
    const response = await call(e2e.stage, 'POST', '/v1/score', { caller: gateway, body: suspicious });
    expect(response.status).toBe(200);
    first = ScoreResponse.parse(response.json);
    await e2e.stage.settle();
  });

  it('WHEN it is scored THEN the model flags it and says why', () => {
    if (first.decision === 'approve') {
      throw new Error(`expected review or decline, got approve at score ${first.score}: ${first.reasons.join('; ')}`);
    }
    expect(first.degraded).toBe(false);
    expect(first.reasons.join(' ')).toMatch(/card testing/);
    expect(first.reasons.join(' ')).toMatch(/impossible travel/);
  });

  it('WHEN the bus delivers THEN FraudSuspected reached the alerts function and the alerts topic', async () => {
    const suspected = busEvents('FraudSuspected', suspicious.transactionId);
    expect(suspected).toHaveLength(1);
    const deliveries = deliveriesFor(suspicious.transactionId);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ status: 'delivered' });
    expect([deliveries[0]?.targetArn]).toEqual(ruleTargetsFor(e2e.stage, 'FraudSuspected'));
    expect(deliveries[0]?.targetArn).toContain('AlertsFunction');
    const alerts = alertsFor(suspicious.transactionId);
    expect(alerts).toHaveLength(1);
    const body = JSON.parse(alerts[0]?.Message ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({ decision: first.decision, score: first.score, customerId });
    expect(alerts[0]?.MessageAttributes.decision?.StringValue).toBe(first.decision);
  });

  it('WHEN the same request is retried (keys in another order) THEN the same decision returns and nothing is emitted twice', async () => {
    const reordered = Object.fromEntries(Object.entries(suspicious).reverse());
    const retries = await Promise.all([
      call(e2e.stage, 'POST', '/v1/score', { caller: gateway, body: suspicious }),
      call(e2e.stage, 'POST', '/v1/score', { caller: gateway, body: reordered }),
    ]);
    for (const retry of retries) {
      expect(retry.status).toBe(200);
      expect(retry.json).toEqual(first);
    }
    await e2e.stage.settle();
    expect(busEvents('TransactionScored', suspicious.transactionId)).toHaveLength(1);
    expect(busEvents('FraudSuspected', suspicious.transactionId)).toHaveLength(1);
    expect(deliveriesFor(suspicious.transactionId)).toHaveLength(1);
    expect(alertsFor(suspicious.transactionId)).toHaveLength(1);
    expect((await decisionLogLines()).filter((l) => l.transactionId === suspicious.transactionId)).toHaveLength(1);
  });

  it('WHEN the same id comes with another body THEN 409 conflict in the error JSON, and the audit record stands', async () => {
    const response = await call(e2e.stage, 'POST', '/v1/score', {
      caller: gateway,
      body: { ...suspicious, amount: 999.99 },
    });
    expectErrorBody(response, 409, 'conflict');
    const audit = DecisionRecord.parse(
      (await call(e2e.stage, 'GET', `/v1/decisions/${suspicious.transactionId}`, { caller: analyst })).json,
    );
    expect(audit.transaction.amount).toBe(suspicious.amount);
    expect(audit.decision).toBe(first.decision);
    await e2e.stage.settle();
    expect(busEvents('TransactionScored', suspicious.transactionId)).toHaveLength(1);
  });
});

describe('GIVEN the token endpoint', () => {
  it('WHEN a client asks for a scope it does not hold THEN it is refused, and a narrower scope is granted', async () => {
    const creds = credentialsOf(e2e.stage, 'merchant-gateway');
    await expect(fetchToken(creds, ['aims/read'])).rejects.toThrow(/400.*invalid_scope/);
    const narrow = await fetchToken(creds, ['aims/ingest']);
    const response = await call(e2e.stage, 'POST', '/v1/score', {
      caller: { token: narrow, apiKey: creds.apiKey },
      body: transaction(`${run}-narrow`),
    });
    expectErrorBody(response, 403, 'forbidden');
    await expect(fetchToken({ ...creds, clientSecret: 'wrong' })).rejects.toThrow(/401.*invalid_client/);
  });
});
