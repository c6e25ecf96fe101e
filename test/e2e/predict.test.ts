// End-to-end on the local stage: POST /v1/models/merchant-risk/predict with the risk-ops client's token → the model's
// policy outcome → one audit record → one PredictionMade on the bus (the outbox), idempotent per Idempotency-Key, and
// the route's own scope enforced by the real authorizer.
import { PredictResponse } from '../../lambdas/shared/contracts/api.js';
import type { MerchantDay } from '../../models/merchant-risk/src/features.js';
import {
  type Caller,
  call,
  callerFor,
  type E2eStage,
  expectErrorBody,
  runId,
  STAGE_HOOK_TIMEOUT_MS,
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
    // The model, or its rules baseline where the local stage does not serve the merchant-risk endpoint.
    expect(['merchant-risk', 'merchant-rules']).toContain(first.model.name);
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
