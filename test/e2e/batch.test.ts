// A batch model's nightly run on the local stage, from the template's ASL: the lake's decision log (simulated) →
// Athena on DuckDB → prepare (real bundle) → Batch Transform through a local model server → publish → PredictionsReady
// on the bus, the merchants' state in the features table, and the day's predictions through the API.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type DriftAssessment,
  DriftHistory,
  PredictionsPage,
  predictionKeys,
} from '../../lambdas/shared/contracts/api.js';
import { BATCH_TASKS } from '../../lib/constructs/batch-inference.js';
import { PROJECT_ROOT } from '../../lib/constructs/service-function.js';
import type { ExecutionRecord } from '../../local/lifecycle/index.js';
import { loadManifest } from '../../models/shared/manifest.js';
import {
  type Caller,
  call,
  callerFor,
  type E2eStage,
  expectErrorBody,
  PATHS,
  refOf,
  type SdkClients,
  STAGE_HOOK_TIMEOUT_MS,
  sdkClients,
  startE2eStage,
} from './support.js';

const MODEL = 'merchant-risk';
const DAY = 86_400_000;
/** The newest day of the seeded lake: yesterday (UTC). */
const DATE = new Date(Date.now() - DAY).toISOString().slice(0, 10);

describe('GIVEN a local stage whose lake holds ten days of decisions', () => {
  let e2e: E2eStage;
  let clients: SdkClients;
  let reader: Required<Caller>;
  let run: ExecutionRecord;
  let seconds: number;

  beforeAll(async () => {
    e2e = await startE2eStage('batch');
    clients = sdkClients(e2e.stage);
    reader = await callerFor(e2e.stage, 'operator');
    await e2e.stage.lifecycle.seedLake({ customers: 300, days: 10, endDaysAgo: 1 });
    const t0 = performance.now();
    const started = e2e.stage.lifecycle.startBatchRun(MODEL, { date: DATE });
    run = await e2e.stage.lifecycle.waitForExecution(started.executionArn);
    seconds = (performance.now() - t0) / 1000;
    await e2e.stage.settle();
  }, STAGE_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    clients?.destroy();
    await e2e?.close();
  });

  it('WHEN the nightly run of merchant-risk runs for yesterday THEN every task of its ASL runs locally and it succeeds', () => {
    expect({ status: run.status, cause: run.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    expect(run.states).toEqual([...BATCH_TASKS.slice(0, 4), 'AnyRows?', ...BATCH_TASKS.slice(4), 'PredictionsWritten']);
    const arn = run.stateMachineArn;
    expect(e2e.stage.lifecycle.stepFunctions.unhandledTasks(arn)).toEqual([]);
    process.stdout.write(`batch run of ${MODEL} for ${DATE}: ${seconds.toFixed(1)} s end to end\n`);
  });

  it('THEN PredictionsReady is on the bus with the rows, outcome counts and location', () => {
    const events = e2e.stage.services.eventBridge
      .archive()
      .filter((a) => a.event['detail-type'] === 'PredictionsReady')
      .map((a) => (a.event.detail as { data: Record<string, unknown> }).data);
    expect(events).toHaveLength(1);
    const [ready] = events as [
      {
        model: string;
        date: string;
        rows: number;
        outcomes: Record<string, number>;
        version: string;
        location: string;
      },
    ];
    // The champion is the bootstrap model: the run names it by its card's version, as its predictions do.
    const card = JSON.parse(readFileSync(join(PROJECT_ROOT, 'models', MODEL, 'bootstrap', 'model-card.json'), 'utf8'));
    expect(ready).toMatchObject({ model: MODEL, date: DATE, version: card.version });
    expect(ready.rows).toBeGreaterThan(20);
    expect(Object.values(ready.outcomes).reduce((a, b) => a + b, 0)).toBe(ready.rows);
    expect(ready.location).toBe(`s3://${refOf(e2e.stage, PATHS.lakeBucket)}/${predictionKeys(MODEL, DATE).rows}`);
  });

  it('THEN GET /v1/models/merchant-risk/predictions?date= pages through the day with its summary', async () => {
    const first = await call(e2e.stage, 'GET', `/v1/models/${MODEL}/predictions?date=${DATE}&limit=10`, {
      caller: reader,
    });
    expect(first.status).toBe(200);
    const page = PredictionsPage.parse(first.json);
    expect(page.predictions).toHaveLength(10);
    expect(page.summary.rows).toBeGreaterThan(10);
    expect(page.nextToken).toBeDefined();
    const second = PredictionsPage.parse(
      (
        await call(
          e2e.stage,
          'GET',
          `/v1/models/${MODEL}/predictions?date=${DATE}&limit=10&nextToken=${page.nextToken}`,
          {
            caller: reader,
          },
        )
      ).json,
    );
    expect(second.predictions[0]?.id).not.toBe(page.predictions[0]?.id);
    for (const p of page.predictions) {
      expect(p.id).toBe(`${(p.request as { merchantId: string }).merchantId}/${DATE}`);
      expect(['clear', 'watch', 'block-review']).toContain(p.outcome);
    }
  });

  it('THEN a night that has not run is a 404 saying so', async () => {
    const response = await call(e2e.stage, 'GET', `/v1/models/${MODEL}/predictions?date=2020-01-01`, {
      caller: reader,
    });
    expect(expectErrorBody(response, 404, 'not_found').error.message).toMatch(/has not completed/);
  });

  it("THEN merchant-risk's drift check reads the night's batch capture: every scored merchant, at its own thresholds", async () => {
    const ready = e2e.stage.services.eventBridge
      .archive()
      .map((a) => a.event)
      .find((e) => e['detail-type'] === 'PredictionsReady')?.detail as { data: { rows: number } } | undefined;
    const check = await e2e.stage.lifecycle.runDriftCheck(MODEL);
    if (!check.ok) throw new Error(`the drift check failed: ${check.errorType}: ${check.errorMessage}`);
    // Nothing was asked of the real-time route here: every sample is a merchant the transform scored last night.
    expect((check.payload as { samples: number }).samples).toBe(ready?.data.rows);

    const response = await call(e2e.stage, 'GET', `/v1/models/${MODEL}/drift?limit=5`, { caller: reader });
    expect(response.status).toBe(200);
    const history = DriftHistory.parse(response.json);
    expect(history.assessments).toHaveLength(1);
    const [latest] = history.assessments as [DriftAssessment];
    const { monitoring, features: manifestFeatures } = loadManifest(join(PROJECT_ROOT, 'models', MODEL));
    expect(latest).toMatchObject({
      model: MODEL,
      samples: ready?.data.rows,
      minSamples: monitoring.minSamples,
      judged: (ready?.data.rows ?? 0) >= monitoring.minSamples,
      threshold: monitoring.psiThreshold,
    });
    const thresholds = Object.fromEntries(latest.features.map((f) => [f.name, f.threshold]));
    for (const [feature, own] of Object.entries(monitoring.featureThresholds ?? {})) {
      expect(thresholds[feature]).toBe(own.psiThreshold);
    }
    expect(latest.features.map((f) => f.name)).toEqual(manifestFeatures);
    // The history is bounded per call.
    const tooMany = await call(e2e.stage, 'GET', `/v1/models/${MODEL}/drift?limit=101`, { caller: reader });
    expectErrorBody(tooMany, 400, 'validation_error');
  });

  it("THEN each scored merchant's last week is in the features table for the real-time route", async () => {
    const page = PredictionsPage.parse(
      (await call(e2e.stage, 'GET', `/v1/models/${MODEL}/predictions?date=${DATE}&limit=1`, { caller: reader })).json,
    );
    const merchant = (page.predictions[0]?.request as { merchantId?: string } | undefined)?.merchantId;
    expect(merchant).toBeDefined();
    const { Item } = await clients.doc.send(
      new GetCommand({ TableName: refOf(e2e.stage, PATHS.featuresTable), Key: { pk: `merchantHistory#${merchant}` } }),
    );
    const days = (Item?.state as { days?: { date: string }[] } | undefined)?.days ?? [];
    expect(days.at(-1)?.date).toBe(DATE);
    expect(days.length).toBeLessThanOrEqual(7);
  });
});
