// End-to-end on the local stage: POST /v1/models/merchant-risk/predict with the risk-ops client's token → the model
// served by merchant-risk's own local endpoint → the model's policy outcome → one audit record → one PredictionMade on
// the bus (the outbox), idempotent per Idempotency-Key, the route's own scope enforced by the real authorizer, and the
// merchant's history as the nightly batch folded it.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { PredictionRecord, PredictionsPage, PredictResponse } from '../../lambdas/shared/contracts/api.js';
import type { MerchantDay } from '../../models/merchant-risk/src/features.js';
import {
  type Caller,
  call,
  callerFor,
  type E2eStage,
  expectErrorBody,
  PATHS,
  refOf,
  runId,
  STAGE_HOOK_TIMEOUT_MS,
  sdkClients,
  startE2eStage,
} from './support.js';

let e2e: E2eStage;
let riskOps: Required<Caller>;
let gateway: Required<Caller>;
const run = runId('predict');
const PATH = '/v1/models/merchant-risk/predict';

beforeAll(async () => {
  e2e = await startE2eStage('predict');
  riskOps = await callerFor(e2e.stage, 'risk-ops');
  gateway = await callerFor(e2e.stage, 'merchant-gateway');
}, STAGE_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await e2e?.close();
}, STAGE_HOOK_TIMEOUT_MS);

const merchantDay = (over: Partial<MerchantDay> = {}): MerchantDay => ({
  merchantId: `${run}-m`,
  date: '2026-11-30',
  count: 14,
  amountSum: 450,
  amountMax: 90,
  smallCount: 8,
  distinctCustomers: 12,
  newCustomers: 9,
  nightCount: 6,
  crossBorderCount: 0,
  onlineCount: 0,
  ...over,
});

const predictionEvents = (auditId: string) =>
  e2e.stage.services
    .archive()
    .filter(
      (a) =>
        a.event['detail-type'] === 'PredictionMade' &&
        (a.event.detail as { data?: { auditId?: string } }).data?.auditId === auditId,
    );

describe('GIVEN the risk-ops client and a merchant-day', () => {
  const key = `${run}-k1`;
  let first: PredictResponse;

  beforeAll(async () => {
    const response = await call(e2e.stage, 'POST', PATH, {
      caller: riskOps,
      body: merchantDay(),
      headers: { 'Idempotency-Key': key },
    });
    if (response.status !== 200) throw new Error(`predict answered ${response.status}: ${response.text}`);
    first = PredictResponse.parse(response.json);
  });

  it('WHEN predicted THEN the answer is in merchant-risk’s own vocabulary, explained, under its audit id', () => {
    expect(first.auditId).toBe(`prediction#merchant-risk#${key}`);
    expect(['clear', 'watch', 'block-review']).toContain(first.prediction.outcome);
    expect(first.explanation.length).toBeGreaterThan(0);
  });

  it('THEN the model itself answered, not its rules baseline: the version merchant-risk’s local endpoint serves', () => {
    const served = e2e.stage.lifecycle.status('merchant-risk').serving.version;
    expect({ degraded: first.degraded, model: first.model }).toEqual({
      degraded: false,
      model: { name: 'merchant-risk', version: served },
    });
  });

  it('WHEN retried with the same key THEN the same answer; another body under it is a 409', async () => {
    const again = await call(e2e.stage, 'POST', PATH, {
      caller: riskOps,
      body: merchantDay(),
      headers: { 'Idempotency-Key': key },
    });
    expect(again.status).toBe(200);
    expect(PredictResponse.parse(again.json)).toEqual(first);
    const other = await call(e2e.stage, 'POST', PATH, {
      caller: riskOps,
      body: merchantDay({ count: 15 }),
      headers: { 'Idempotency-Key': key },
    });
    expectErrorBody(other, 409, 'conflict');
  });

  it('WHEN the bus is settled THEN the outbox relayed exactly one PredictionMade from aims.predict', async () => {
    await e2e.stage.settle();
    const events = predictionEvents(first.auditId);
    expect(events).toHaveLength(1);
    expect(events[0]?.event.source).toBe('aims.predict');
    expect(events[0]?.event.detail).toMatchObject({
      version: 1,
      data: { modelName: 'merchant-risk', outcome: first.prediction.outcome, score: first.prediction.score },
    });
  });
});

describe('GIVEN requests the route refuses', () => {
  it('WHEN the token lacks predict.merchant-risk THEN 403 forbidden', async () => {
    const response = await call(e2e.stage, 'POST', PATH, {
      caller: gateway,
      body: merchantDay(),
      headers: { 'Idempotency-Key': `${run}-k2` },
    });
    expectErrorBody(response, 403, 'forbidden');
  });

  it('WHEN the Idempotency-Key header is missing or the body breaks the model’s schema THEN 400 validation_error', async () => {
    expectErrorBody(
      await call(e2e.stage, 'POST', PATH, { caller: riskOps, body: merchantDay() }),
      400,
      'validation_error',
    );
    const invalid = await call(e2e.stage, 'POST', PATH, {
      caller: riskOps,
      body: { ...merchantDay(), nightCount: 99, extra: true },
      headers: { 'Idempotency-Key': `${run}-k3` },
    });
    expectErrorBody(invalid, 400, 'validation_error');
  });
});

describe('GIVEN a nightly batch run of merchant-risk over the lake', () => {
  const DAY = 86_400_000;
  const yesterday = new Date(Date.now() - DAY).toISOString().slice(0, 10);
  const today = new Date().toISOString().slice(0, 10);
  let scored: MerchantDay;

  beforeAll(async () => {
    const { lifecycle } = e2e.stage;
    await lifecycle.seedLake({ customers: 300, days: 10, endDaysAgo: 1 });
    const run = await lifecycle.waitForExecution(
      lifecycle.startBatchRun('merchant-risk', { date: yesterday }).executionArn,
    );
    if (run.status !== 'SUCCEEDED') throw new Error(`the batch run ended ${run.status}: ${run.cause ?? ''}`);
    await e2e.stage.settle();
    const operator = await callerFor(e2e.stage, 'operator');
    const page = PredictionsPage.parse(
      (
        await call(e2e.stage, 'GET', `/v1/models/merchant-risk/predictions?date=${yesterday}&limit=1`, {
          caller: operator,
        })
      ).json,
    );
    scored = page.predictions[0]?.request as MerchantDay;
    if (!scored) throw new Error('the batch run predicted no merchant');
  }, STAGE_HOOK_TIMEOUT_MS);

  /** Predicts `day` and returns the audit record's features (what the model was given). */
  const featuresOf = async (day: MerchantDay, key: string): Promise<Record<string, number>> => {
    const response = await call(e2e.stage, 'POST', PATH, {
      caller: riskOps,
      body: day,
      headers: { 'Idempotency-Key': key },
    });
    if (response.status !== 200) throw new Error(`predict answered ${response.status}: ${response.text}`);
    const { auditId } = PredictResponse.parse(response.json);
    const clients = sdkClients(e2e.stage);
    try {
      const { Item } = await clients.doc.send(
        new GetCommand({ TableName: refOf(e2e.stage, PATHS.decisionsTable), Key: { transactionId: auditId } }),
      );
      return PredictionRecord.parse(Item).features;
    } finally {
      clients.destroy();
    }
  };

  it('WHEN a scored merchant’s next day is predicted THEN the route reads the week the batch folded, unlike a new merchant’s', async () => {
    // The same day's activity again today: against the folded history it is no change from yesterday.
    const nextDay = { ...scored, date: today };
    const known = await featuresOf(nextDay, `${run}-k4`);
    const unknown = await featuresOf({ ...nextDay, merchantId: `${run}-new` }, `${run}-k5`);
    expect(known.log_count_vs_prev_day).toBeCloseTo(0, 9);
    expect(known.active_days_share).toBeGreaterThan(0);
    expect(unknown.log_count_vs_prev_day).toBeCloseTo(Math.log1p(scored.count), 9);
    expect(unknown.active_days_share).toBe(0);
  });
});
