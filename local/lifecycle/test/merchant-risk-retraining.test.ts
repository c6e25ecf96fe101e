// merchant-risk retrained on a real local stage, beside the fraud detector: its own state machine (found by metadata)
// rebuilds merchant-days from the decision log, labels them from transaction chargebacks and the merchant labels
// reported through POST /v1/models/merchant-risk/labels, runs its own train.py, gates it against its own rules baseline
// and against the champion's nightly predictions of the same held-out days, registers, approves (dev) and deploys to
// its own endpoint — the fraud detector's champion, registry and endpoint stay as they were.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { s3Client } from '../../../lambdas/shared/aws.js';
import { loadManifest } from '../../../models/shared/manifest.js';
import { localCredentials, mintToken } from '../../api/index.js';
import { type LocalStage, ROOT } from '../../stage.js';
import { servedVersion, startLifecycleStage } from './support.js';

const MODEL = 'merchant-risk';
const FEATURES = loadManifest(join(ROOT, 'models', MODEL)).features;
// The training window (30 to 8 days ago) and the week of history before it; enough merchant-days and compromises for
// a test split the gate can judge (AUC-PR over ~30 positives).
const HISTORY = { customers: 3000, days: 29, seed: 3, merchantCompromise: { rate: 0.03 } };

let merchantRiskRequests = 0;
const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString().slice(0, 10);
// The two newest days of the training window (it ends 8 days ago), inside the holdout the gate judges both models on:
// each nightly run costs ≈ 20–37 s here (it rebuilds the lake's tables), so the champion scores part of the holdout.
const HOLDOUT_DAYS = [9, 8].map(daysAgo);

/** A route of the local API as one of the configured clients calls it. */
async function call(stage: LocalStage, client: string, path: string, body?: unknown): Promise<Response> {
  const key = localCredentials(stage.dataDir).clients.find((c) => c.name === client)?.apiKey;
  if (!key) throw new Error(`the local stage has no ${client} client with an API key`);
  const token = await mintToken(stage.dataDir, { client });
  return fetch(`${stage.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'x-api-key': key, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** A JSON object of the local S3 by its s3:// URI. */
async function readJson<T>(stage: LocalStage, uri: string): Promise<T> {
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri) ?? [];
  const s3 = s3Client({
    endpoint: stage.services.endpoints.s3,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse((await out.Body?.transformToString()) ?? '') as T;
  } finally {
    s3.destroy();
  }
}

/** The version merchant-risk's endpoint serves, through the SageMaker runtime the predict function calls. */
async function merchantRiskVersion(stage: LocalStage): Promise<string> {
  merchantRiskRequests++;
  const stack = stage.lifecycle.endpoints.get(MODEL);
  await stack.idleScaler?.wake();
  const width = FEATURES.length;
  const res = await fetch(`${stage.lifecycle.endpointUrl}/endpoints/${stack.endpointName}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'features', shape: [1, width], datatype: 'FP32', data: new Array(width).fill(0) }],
    }),
  });
  if (!res.ok) throw new Error(`${MODEL}'s endpoint answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { model_version: string }).model_version;
}

describe('GIVEN a local stage whose lake holds weeks of decisions with compromised merchants and chargebacks', () => {
  let stage: LocalStage;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aims-merchant-retrain-'));
    stage = await startLifecycleStage(dir);
    await stage.lifecycle.seedLake(HISTORY);
  }, 120_000);

  afterAll(async () => {
    await stage?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('WHEN the champion scored the holdout nightly, merchant labels were reported and merchant-risk is retrained THEN a new version is registered, gated against both, approved and served by its endpoint only', async () => {
    // The nightly runs of the holdout days, as the Scheduler would have started them with the bootstrap champion.
    const started = Date.now();
    // Both at once: the nights are independent runs (their own date, transform job and capture), and together they
    // cost little more than one.
    const nights = await Promise.all(
      HOLDOUT_DAYS.map(async (date) => {
        const run = await stage.lifecycle.waitForExecution(stage.lifecycle.startBatchRun(MODEL, { date }).executionArn);
        return { date, status: run.status, cause: run.cause };
      }),
    );
    expect(nights).toEqual(HOLDOUT_DAYS.map((date) => ({ date, status: 'SUCCEEDED', cause: undefined })));
    console.info(`${HOLDOUT_DAYS.length} nightly runs of ${MODEL} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Merchant labels reported for three merchant-days of the holdout (about the day after each), by the
    // chargeback feed: one compromise nobody charged back, two cleared ones.
    const page = await call(stage, 'operator', `/v1/models/${MODEL}/predictions?date=${HOLDOUT_DAYS[0]}&limit=3`);
    const scored = ((await page.json()) as { predictions: { id: string }[] }).predictions.map((p) => p.id);
    expect(scored).toHaveLength(3);
    const reports = scored.map((id, i) => {
      const [merchantId = '', day = ''] = id.split('/');
      const next = new Date(Date.parse(`${day}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
      return { merchantId, date: next, compromised: i === 0, reportedAt: new Date().toISOString() };
    });
    for (const report of reports) {
      const res = await call(stage, 'chargeback-feed', `/v1/models/${MODEL}/labels`, report);
      expect({ status: res.status, body: await res.json() }).toMatchObject({
        status: 200,
        body: { model: MODEL, entityId: report.merchantId, day: report.date, outcome: report.compromised },
      });
    }
    // A transaction label is not a merchant label: the route validates the module's own schema.
    const wrong = await call(stage, 'chargeback-feed', `/v1/models/${MODEL}/labels`, {
      transactionId: 't-1',
      isFraud: true,
      reportedAt: new Date().toISOString(),
    });
    expect(wrong.status).toBe(400);

    const fraudBefore = stage.lifecycle.status();
    const fraudServed = await servedVersion(stage);
    const before = stage.lifecycle.status(MODEL);
    const bootstrap = await merchantRiskVersion(stage);

    const run = stage.lifecycle.startRetraining('api', MODEL);
    const done = await stage.lifecycle.waitForExecution(run.executionArn);

    // On failure the diff shows the failing state and its cause.
    expect({ status: done.status, error: done.error, cause: done.cause, last: done.states.at(-1) }).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
      cause: undefined,
      last: expect.any(String),
    });
    expect(done.states).toEqual(expect.arrayContaining(['BuildDataset', 'PrepareDataset', 'Train', 'Evaluate']));
    const after = stage.lifecycle.status(MODEL);
    expect(after.versions).toHaveLength(before.versions.length + 1);
    expect(after.versions.at(-1)?.approval).toBe('Approved');
    expect(after.champion).toMatch(/\/models\/merchant-risk\/versions\/merchant-risk-.+\/$/);
    const deployed = stage.services.eventBridge
      .archive()
      .filter((a) => a.event.source === 'aims.retraining' && a.event['detail-type'] === 'ModelDeployed')
      .map((a) => (a.event.detail as { data: { model: string; version: string } }).data);
    expect(deployed.map((d) => d.model)).toEqual([MODEL]);
    const served = await merchantRiskVersion(stage);
    expect(served).toBe(deployed[0]?.version);
    expect(served).not.toBe(bootstrap);

    // The gate compared the challenger with the champion's nightly scores of the holdout, within the manifest's
    // tolerance; the dataset used the reported merchant labels where they were, the derived ones elsewhere.
    const evaluation = await readJson<{
      champion: { rows: number; aucPr: number } | null;
      challenger: { aucPr: number };
      gate: { checks: { name: string; passed: boolean; detail: string }[] };
      datasetPrefix: string;
    }>(stage, `${after.champion}evaluation.json`);
    console.info(`merchant-risk gate: ${evaluation.gate.checks.map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
    expect(evaluation.champion?.rows).toBeGreaterThan(100);
    expect(evaluation.gate.checks.find((c) => c.name === 'notWorseThanChampion')).toMatchObject({
      passed: true,
      detail: expect.stringMatching(/^challenger AUC-PR .+ vs champion .+ on \d+ rows/),
    });
    const dataset = await readJson<{ labelSources: Record<string, number> }>(
      stage,
      `${evaluation.datasetPrefix}dataset.json`,
    );
    expect(dataset.labelSources.reported).toBe(reports.length);
    expect(dataset.labelSources.derived).toBeGreaterThan(1000);

    // The fraud detector: same pointer, same registry, same model answering.
    const fraudAfter = stage.lifecycle.status();
    expect(fraudAfter.champion).toBe(fraudBefore.champion);
    expect(fraudAfter.versions).toEqual(fraudBefore.versions);
    expect(await servedVersion(stage)).toBe(fraudServed);
  }, 240_000);

  it('WHEN both endpoints took traffic and the drift check of merchant-risk runs THEN it reads its own capture (the predict route and the nightly runs) and baseline', async () => {
    const fraudTraffic = await stage.lifecycle.injectDrift({ count: 60 });
    expect(fraudTraffic.failed).toBe(0);
    // The rows the two nightly runs scored: their batch capture is part of the model's window.
    let nightlyRows = 0;
    for (const date of HOLDOUT_DAYS) {
      const res = await call(stage, 'operator', `/v1/models/${MODEL}/predictions?date=${date}&limit=1`);
      nightlyRows += ((await res.json()) as { summary: { rows: number } }).summary.rows;
    }

    const result = await stage.lifecycle.runDriftCheck(MODEL);

    expect(result.ok).toBe(true);
    const report = (result as { payload: { samples: number; judged: boolean; psi: Record<string, number> } }).payload;
    // Its baseline's bins are per merchant-risk feature (a fraud baseline would be refused: other features).
    expect(Object.keys(report.psi).filter((k) => k !== 'score')).toEqual([...FEATURES]);
    // Only merchant-risk's own captured requests and nightly rows: none of the fraud endpoint's 60.
    expect(report.samples).toBe(merchantRiskRequests + nightlyRows);
    // The nights' population reaches the manifest's minSamples (1 000 merchant-days): the check judges.
    expect(nightlyRows).toBeGreaterThanOrEqual(1000);
    expect(report.judged).toBe(true);
  }, 60_000);
});
