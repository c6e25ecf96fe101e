// merchant-risk retrained on a real local stage, beside the fraud detector: its own state machine (found by metadata)
// rebuilds merchant-days from the decision log, labels them from transaction chargebacks, runs its own train.py, gates
// it against its own rules baseline, registers, approves (dev) and deploys to its own endpoint — the fraud detector's
// champion, registry and endpoint stay as they were.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadManifest } from '../../../models/shared/manifest.js';
import { type LocalStage, ROOT } from '../../stage.js';
import { servedVersion, startLifecycleStage } from './support.js';

const MODEL = 'merchant-risk';
const FEATURES = loadManifest(join(ROOT, 'models', MODEL)).features;
// The training window (30 to 8 days ago) and the week of history before it; enough merchant-days and compromises for
// a test split the gate can judge (AUC-PR over ~30 positives).
const HISTORY = { customers: 3000, days: 29, seed: 3, merchantCompromise: { rate: 0.03 } };

let merchantRiskRequests = 0;

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

  it('WHEN merchant-risk is retrained THEN a new version is registered, gated, approved and served by its endpoint only', async () => {
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

    // The fraud detector: same pointer, same registry, same model answering.
    const fraudAfter = stage.lifecycle.status();
    expect(fraudAfter.champion).toBe(fraudBefore.champion);
    expect(fraudAfter.versions).toEqual(fraudBefore.versions);
    expect(await servedVersion(stage)).toBe(fraudServed);
  }, 240_000);

  it('WHEN both endpoints took traffic and the drift check of merchant-risk runs THEN it reads its own capture and baseline', async () => {
    const fraudTraffic = await stage.lifecycle.injectDrift({ count: 60 });
    expect(fraudTraffic.failed).toBe(0);

    const result = await stage.lifecycle.runDriftCheck(MODEL);

    expect(result.ok).toBe(true);
    const report = (result as { payload: { samples: number; judged: boolean; psi: Record<string, number> } }).payload;
    // Its baseline's bins are per merchant-risk feature (a fraud baseline would be refused: other features).
    expect(Object.keys(report.psi).filter((k) => k !== 'score')).toEqual([...FEATURES]);
    // Only merchant-risk's own captured requests: none of the fraud endpoint's 60.
    expect(report.samples).toBe(merchantRiskRequests);
    // Below the manifest's minSamples (1 000 merchant-days a day): assessed, nothing judged, nothing started.
    expect(report.judged).toBe(false);
  }, 60_000);
});
