// The local models stack driven by the synthesized Prod template (the shadow environment, ADR 0005), whose endpoint config has a shadow variant: the
// shadow model server serves the challenger pointer, an update that moves only the challenger replaces that process
// while the champion keeps answering, and a challenger that cannot start rolls the update back. Model servers are
// real processes over fixture models; versions are real archives in real local S3 (s3rver), as the registry lays
// them out; the pointers live in the local SSM parameter store the template creates.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PsiBins } from '../../../lambdas/drift/core.js';
import { writeTarGz } from '../../../lambdas/retraining/tar.js';
import { VERSION_LAYOUT } from '../../../lib/constructs/model-registry.js';
import { PROJECT_ROOT } from '../../../lib/constructs/service-function.js';
import { type BackendServers, startBackendServers } from '../../backends/servers.js';
import { loadLocalTemplate } from '../../template/index.js';
import type { LocalTemplate } from '../../types.js';
import { LocalModelEndpoints } from '../model-endpoints.js';
import type { LocalModelsStack } from '../models-stack.js';
import { LocalS3 } from '../s3.js';
import { LocalParameterStore } from '../ssm.js';

const ROOT = PROJECT_ROOT;
const PROD_ASSEMBLY = join(ROOT, 'cdk.out', 'assembly-Prod');
const FIXTURE_SCRIPT = join(ROOT, 'models', 'server', 'test', 'fixtures', 'make_fixture_model.py');
const MODEL = 'fraud-detector';

/** A fixture model (score = sigmoid(x·w + bias)) by the model server's own fixture script. */
function fixtureModel(dir: string, version: string, bias: number): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('/usr/bin/python3', [FIXTURE_SCRIPT, dir, '--version', version, '--bias', String(bias)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return dir;
}

/** The answer of a model server (or the proxy) to one all-zero row: who answered, by its model card's version. */
async function answer(url: string, width: number, inferenceId?: string): Promise<{ status: number; version?: string }> {
  const res = await fetch(`${url}/endpoints/aims-prod-${MODEL}/invocations`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(inferenceId ? { 'x-amzn-sagemaker-inference-id': inferenceId } : {}),
    },
    body: JSON.stringify({
      inputs: [{ name: 'features', shape: [1, width], datatype: 'FP32', data: new Array(width).fill(0) }],
    }),
  });
  const text = await res.text();
  if (!res.ok) return { status: res.status };
  return { status: res.status, version: (JSON.parse(text) as { model_version?: string }).model_version };
}

/** Whether anything still listens at the URL (a replaced model server must be gone). */
async function listening(url: string): Promise<boolean> {
  return fetch(`${url}/ping`).then(
    () => true,
    () => false,
  );
}

describe('GIVEN the local models stack on the Prod template (champion + shadow variant)', () => {
  let dir: string;
  let template: LocalTemplate;
  let backends: BackendServers;
  let s3: LocalS3;
  let ssm: LocalParameterStore;
  let endpoints: LocalModelEndpoints;
  let stack: LocalModelsStack;
  let manifestDir: string;
  let width: number;
  let challengerName: string;
  let artifacts: string;
  const prefixes: { b?: string; broken?: string } = {};

  /** A registered version's prefix, as the registry writes it: model archive, model card (named `version`), PSI
   *  baseline. */
  async function publishVersion(version: string, onnx: Buffer, cardDir: string): Promise<string> {
    const prefix = `s3://${artifacts}/models/${MODEL}/versions/${version}/`;
    await s3.put(`${prefix}${VERSION_LAYOUT.modelData}`, writeTarGz([{ path: `${MODEL}/1/model.onnx`, data: onnx }]));
    const card = { ...(JSON.parse(readFileSync(join(cardDir, 'model-card.json'), 'utf8')) as object), version };
    await s3.put(`${prefix}model-card.json`, JSON.stringify(card), 'application/json');
    // The canary's score-shift baseline: one bin holding every score (a shadow update never reads it).
    const bins = { name: 'score', edges: [], proportions: [1] };
    const psiBins = { version: 1, rows: 1, features: [{ ...bins, name: 'amount' }], prediction: bins };
    await s3.put(`${prefix}baseline/psi-bins.json`, JSON.stringify(PsiBins.parse(psiBins)), 'application/json');
    return prefix;
  }

  /** Moves the challenger pointer and updates the stack with its previous template, as the state machine does. */
  function moveChallenger(prefix: string): void {
    ssm.put(challengerName, prefix, { overwrite: true });
    endpoints.updateStack({ StackName: stack.stackName, UsePreviousTemplate: true });
  }

  beforeAll(async () => {
    if (!existsSync(join(PROD_ASSEMBLY, 'manifest.json'))) {
      throw new Error(`no synthesized Prod assembly at ${PROD_ASSEMBLY}: run \`npm run synth\` first`);
    }
    template = loadLocalTemplate({ assemblyDir: PROD_ASSEMBLY, stageName: 'Prod' });
    const pointer = (kind: string) =>
      template.ofType('AWS::SSM::Parameter').find((p) => p.ref.endsWith(`/models/${MODEL}/${kind}`))?.ref;
    const champion = pointer('champion');
    const challenger = pointer('challenger');
    if (!champion || !challenger) throw new Error('the Prod template has no champion or challenger pointer');
    challengerName = challenger;
    const artifactsBucket = template.ofType('AWS::S3::Bucket').find((b) => b.logicalId.startsWith('ArtifactsBucket'));
    if (!artifactsBucket) throw new Error('the Prod template has no artifacts bucket');
    artifacts = artifactsBucket.ref;

    dir = mkdtempSync(join(tmpdir(), 'aims-models-shadow-'));
    backends = await startBackendServers({
      dataDir: join(dir, 'backends'),
      buckets: template.ofType('AWS::S3::Bucket').map((b) => b.ref),
    });
    s3 = new LocalS3(backends.endpoints.s3, template.region);
    // The bootstrap model (both pointers start at `bootstrap`) and two challengers with a shifted bias.
    const bootstrap = fixtureModel(join(dir, 'bootstrap'), 'bootstrap-1', 0.25);
    const a = fixtureModel(join(dir, 'a'), 'challenger-a', 0.5);
    const b = fixtureModel(join(dir, 'b'), 'challenger-b', 1);
    manifestDir = bootstrap;
    width = (JSON.parse(readFileSync(join(bootstrap, 'model.json'), 'utf8')) as { features: string[] }).features.length;
    const prefixA = await publishVersion('challenger-a', readFileSync(join(a, 'model.onnx')), a);
    ssm = new LocalParameterStore(join(dir, 'data'), template);
    expect(ssm.value(champion)).toBe('bootstrap');
    // The pipeline moved the challenger before this stack was created: the shadow must start on it.
    ssm.put(challengerName, prefixA, { overwrite: true });
    endpoints = await LocalModelEndpoints.start({
      template,
      dataDir: join(dir, 'data'),
      ssm,
      s3,
      root: ROOT,
      models: [{ name: MODEL, manifestDir, bootstrapModelDir: bootstrap }],
    });
    stack = endpoints.get(MODEL);
    prefixes.b = await publishVersion('challenger-b', readFileSync(join(b, 'model.onnx')), b);
    // An archive whose model.onnx is not a model: the model server fails to load it and exits.
    prefixes.broken = await publishVersion('challenger-broken', Buffer.from('not an onnx model'), b);
  }, 180_000);

  afterAll(async () => {
    await endpoints?.close();
    s3?.close();
    await backends?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('WHEN the stack is created THEN the champion serves the champion pointer and the shadow the challenger pointer', async () => {
    expect(stack.status).toBe('CREATE_COMPLETE');
    expect(stack.deployed.version).toBe('bootstrap-1');
    expect(stack.deployed.shadow?.version).toBe('challenger-a');
    expect(stack.deployed.shadow?.modelDataUrl).toMatch(/\/versions\/challenger-a\/model\.tar\.gz$/);
    const shadow = stack.shadow;
    if (!shadow) throw new Error('the Prod models stack started no shadow model server');
    expect(await answer(shadow.url, width)).toEqual({ status: 200, version: 'challenger-a' });
    // Callers get the champion; the proxy mirrors each request to the shadow after answering.
    const before = stack.proxy.served.shadow;
    for (let i = 0; i < 5; i++)
      expect(await answer(stack.proxy.url, width)).toEqual({ status: 200, version: 'bootstrap-1' });
    await stack.proxy.shadowIdle();
    expect(stack.proxy.served.shadow - before).toBe(5);
  }, 60_000);

  it('WHEN only the challenger moves THEN the shadow process is replaced, UPDATE_COMPLETE, and the champion never stops answering', async () => {
    const champion = stack.serving.url;
    const oldShadow = stack.shadow?.url as string;
    moveChallenger(prefixes.b as string);
    expect(stack.status).toBe('UPDATE_IN_PROGRESS');
    // Callers during the update: every one answered by the champion (bounded: the update ends or 2000 requests).
    const during: { status: number; version?: string }[] = [];
    for (let i = 0; i < 2000 && stack.status === 'UPDATE_IN_PROGRESS'; i++)
      during.push(await answer(stack.proxy.url, width));
    await stack.idle();
    expect(stack.status).toBe('UPDATE_COMPLETE');
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((r) => r.status !== 200 || r.version !== 'bootstrap-1')).toEqual([]);
    // The champion's process is the same one; the shadow's is new and the old one is gone.
    expect(stack.serving.url).toBe(champion);
    expect(stack.serving.running).toBe(true);
    expect(stack.deployed.version).toBe('bootstrap-1');
    expect(stack.deployed.shadow?.version).toBe('challenger-b');
    const shadow = stack.shadow?.url as string;
    expect(shadow).not.toBe(oldShadow);
    expect(await listening(oldShadow)).toBe(false);
    expect(await answer(shadow, width)).toEqual({ status: 200, version: 'challenger-b' });
    expect(stack.deployments.at(-1)).toMatchObject({
      from: 'shadow challenger-a',
      to: 'shadow challenger-b',
      outcome: 'promoted',
    });

    // The mirrored copies now reach the new shadow: its capture (prod samples 20%) holds challenger-b's answers.
    const ids = Array.from({ length: 60 }, (_, i) => `after-b-${i}`);
    for (const id of ids)
      expect(await answer(stack.proxy.url, width, id)).toEqual({ status: 200, version: 'bootstrap-1' });
    await stack.proxy.shadowIdle();
    await stack.proxy.flushCapture();
    const captured = await shadowCapture(new Set(ids));
    expect(captured.length).toBeGreaterThan(0);
    expect(new Set(captured)).toEqual(new Set(['challenger-b']));
  }, 120_000);

  it('WHEN the challenger cannot start THEN the update rolls back and the previous shadow keeps serving', async () => {
    const shadow = stack.shadow?.url as string;
    moveChallenger(prefixes.broken as string);
    await stack.idle();
    expect(stack.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(endpoints.describeStacks(stack.stackName)[0]?.StackStatusReason).toMatch(
      // The server listens before it loads the model, then exits on the load error: the start fails either way.
      /shadow variant update failed: model server exited/,
    );
    expect(stack.deployments.at(-1)).toMatchObject({ to: 'shadow challenger-broken', outcome: 'rolled-back' });
    expect(stack.shadow?.url).toBe(shadow);
    expect(stack.deployed.shadow?.version).toBe('challenger-b');
    expect(await answer(shadow, width)).toEqual({ status: 200, version: 'challenger-b' });
    expect(await answer(stack.proxy.url, width)).toEqual({ status: 200, version: 'bootstrap-1' });
  }, 120_000);

  /** The model versions of the shadow variant's captured answers to these inference ids. */
  async function shadowCapture(ids: ReadonlySet<string>): Promise<string[]> {
    const config = template.ofType('AWS::SageMaker::EndpointConfig')[0]?.properties.DataCaptureConfig as {
      DestinationS3Uri: string;
    };
    const endpoint = String(template.ofType('AWS::SageMaker::Endpoint')[0]?.properties.EndpointName);
    const versions: string[] = [];
    for (const object of await s3.list(`${config.DestinationS3Uri}/${endpoint}/shadow/`)) {
      for (const line of (await s3.get(object.uri)).toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        const record = JSON.parse(line) as {
          captureData: { endpointOutput?: { data: string } };
          eventMetadata: { inferenceId?: string };
        };
        if (!record.eventMetadata.inferenceId || !ids.has(record.eventMetadata.inferenceId)) continue;
        const output = JSON.parse(record.captureData.endpointOutput?.data ?? '{}') as { model_version?: string };
        versions.push(String(output.model_version));
      }
    }
    return versions;
  }
});
