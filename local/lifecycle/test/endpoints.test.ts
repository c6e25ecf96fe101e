// The local stage serves every real-time endpoint of the dev template: each endpoint name is answered through the
// SageMaker runtime SDK by its own model server (its own model, its own width), an unknown name is refused as SageMaker
// refuses it, and the startup output lists every endpoint. Dev's endpoints idle to zero (the template's scale-to-zero
// alarm): with the idle timers on a clock the test moves, an idle endpoint stops its model server and says so, the next
// call fails for lack of capacity as on AWS (the score route answers degraded from its baseline), and it serves again.
import { rmSync } from 'node:fs';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ScoreResponse } from '../../../lambdas/shared/contracts/api.js';
import { loadManifest } from '../../../models/shared/manifest.js';
import { call, callerFor, runId, STAGE_HOOK_TIMEOUT_MS, tempDataDir, transaction } from '../../../test/e2e/support.js';
import { type LocalStage, startLocalStage } from '../../stage.js';

let stage: LocalStage;
let dataDir: string;
const lines: string[] = [];
/** The idle timers' clock: starts at the wall clock, moves only when a test says so. */
let now = Date.now();
const clock = { now: () => now };
const MINUTE = 60_000;

beforeAll(async () => {
  dataDir = tempDataDir('endpoints');
  stage = await startLocalStage({
    dataDir,
    port: 0,
    synth: false,
    log: (line) => lines.push(line),
    lifecycle: { clock, idleCheckEveryMs: 0 },
  });
}, STAGE_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await stage?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, STAGE_HOOK_TIMEOUT_MS);

function runtime(): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({
    endpoint: stage.endpoints.sagemakerRuntime,
    region: stage.template.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

function invoke(model: string) {
  const m = stage.servedModels.find((s) => s.name === model);
  if (!m) throw new Error(`${model} is not served`);
  const width = loadManifest(m.dir).features.length;
  return runtime().send(
    new InvokeEndpointCommand({ EndpointName: m.endpointName, ContentType: 'application/json', Body: body(width) }),
  );
}

function body(width: number): string {
  const data = new Array(width).fill(0);
  return JSON.stringify({ inputs: [{ name: 'features', shape: [1, width], datatype: 'FP32', data }] });
}

describe('GIVEN the dev template with two real-time models', () => {
  it('THEN the stage serves both, the scored one first, and its output lists every endpoint', () => {
    expect(stage.servedModels.map((m) => m.name)).toEqual(['fraud-detector', 'merchant-risk']);
    for (const m of stage.servedModels) {
      expect(lines).toContain(`  endpoint ${m.endpointName} serves ${m.name} (scales to zero after 30 min idle)`);
    }
    expect(lines.join('\n')).not.toMatch(/not served locally/);
  });

  it('WHEN each endpoint name is invoked THEN its own model server answers with its own model', async () => {
    const client = runtime();
    for (const m of stage.servedModels) {
      const width = loadManifest(m.dir).features.length;
      const out = await client.send(
        new InvokeEndpointCommand({ EndpointName: m.endpointName, ContentType: 'application/json', Body: body(width) }),
      );
      const answer = JSON.parse(Buffer.from(out.Body as Uint8Array).toString('utf8')) as {
        model_name: string;
        outputs: { shape: number[]; data: number[] }[];
      };
      expect(answer.model_name).toBe(m.name);
      expect(answer.outputs[0]?.shape).toEqual([1, 1]);
      expect(answer.outputs[0]?.data[0]).toBeGreaterThanOrEqual(0);
      expect(answer.outputs[0]?.data[0]).toBeLessThanOrEqual(1);
    }
    // Each endpoint's own front counted its own call.
    for (const m of stage.servedModels) expect(stage.lifecycle.endpoints.get(m.name).proxy.served.champion).toBe(1);
  });

  it('WHEN a caller names the inference component THEN only the endpoint’s own one is accepted', async () => {
    const m = stage.servedModels[0] as (typeof stage.servedModels)[number];
    const component = stage.lifecycle.endpoints.get(m.name).inferenceComponentName;
    expect(component).toBe(`${m.endpointName}-champion`);
    const width = loadManifest(m.dir).features.length;
    const send = (name: string) =>
      runtime().send(
        new InvokeEndpointCommand({
          EndpointName: m.endpointName,
          InferenceComponentName: name,
          ContentType: 'application/json',
          Body: body(width),
        }),
      );
    await expect(send(component as string)).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    await expect(send('aims-dev-other-champion')).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(/aims-dev-other-champion not found/),
    });
  });

  it('WHEN an endpoint the template does not have is invoked THEN SageMaker’s ValidationError comes back', async () => {
    await expect(
      runtime().send(
        new InvokeEndpointCommand({ EndpointName: 'aims-dev-nothing', ContentType: 'application/json', Body: body(1) }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(/aims-dev-nothing .*not found/),
    });
  });
});

describe('GIVEN the dev endpoints idle to zero after 30 minutes (the template)', () => {
  it('WHEN merchant-risk idles that long THEN its server stops, the next call finds no capacity, and it serves again', async () => {
    const endpoint = stage.lifecycle.endpoints.get('merchant-risk');
    const idle = endpoint.idleScaler;
    if (!idle) throw new Error('merchant-risk has no idle timer: the dev template should scale it to zero');
    await invoke('merchant-risk');
    now += 29 * MINUTE;
    expect(await idle.check()).toBe(false);
    expect(endpoint.serving.running).toBe(true);

    now += 2 * MINUTE;
    expect(await idle.check()).toBe(true);
    expect(endpoint.serving.running).toBe(false);
    expect(lines).toContain('  merchant-risk: scaled to zero after 31 min idle');
    // The fraud endpoint has its own timer and traffic: it still serves.
    expect(stage.lifecycle.endpoints.get('fraud-detector').serving.running).toBe(true);

    await expect(invoke('merchant-risk')).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(/no capacity/),
    });
    expect(idle.state).toBe('scaling-out');
    await idle.serving();
    expect(idle.state).toBe('serving');
    expect(lines.join('\n')).toMatch(/merchant-risk: scaled out from zero in \d+\.\d s/);
    const out = await invoke('merchant-risk');
    expect(JSON.parse(Buffer.from(out.Body as Uint8Array).toString('utf8'))).toMatchObject({
      model_name: 'merchant-risk',
    });
  }, 60_000);

  it('WHEN the operator’s tools wake a scaled-in endpoint THEN it serves again without failing a call', async () => {
    const endpoint = stage.lifecycle.endpoints.get('merchant-risk');
    const idle = endpoint.idleScaler;
    if (!idle) throw new Error('merchant-risk has no idle timer');
    now += 31 * MINUTE;
    expect(await idle.check()).toBe(true);
    await idle.wake();
    expect(idle.state).toBe('serving');
    expect(endpoint.serving.running).toBe(true);
    expect(lines).toContain('  merchant-risk: woken by the operator: scaling out from zero');
    await expect(invoke('merchant-risk')).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  }, 60_000);

  it('WHEN the score endpoint is scaled to zero THEN /v1/score answers degraded from the baseline, then from the model', async () => {
    const endpoint = stage.lifecycle.endpoints.get('fraud-detector');
    const idle = endpoint.idleScaler;
    if (!idle) throw new Error('fraud-detector has no idle timer');
    const gateway = await callerFor(stage, 'merchant-gateway');
    const run = runId('idle');
    const score = async (i: number) => {
      const response = await call(stage, 'POST', '/v1/score', { caller: gateway, body: transaction(`${run}-${i}`) });
      expect(response.status).toBe(200);
      return ScoreResponse.parse(response.json);
    };
    expect((await score(0)).degraded).toBe(false);
    now += 31 * MINUTE;
    expect(await idle.check()).toBe(true);

    expect((await score(1)).degraded).toBe(true);
    await idle.serving();
    expect(endpoint.serving.running).toBe(true);
    // The score function's breaker saw one failure, not five: the model answers again at once.
    expect((await score(2)).degraded).toBe(false);
  }, 60_000);
});
