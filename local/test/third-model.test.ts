// A third model, only in this test: a tiny model folder (manifest, module, bootstrap ONNX) beside fraud-detector and
// merchant-risk, one more line in a copy of the Dev environments table, a Dev stage synthesized from them with the
// app's own AimsStage, and the local stage serving it from that assembly — its endpoint answers InvokeEndpoint with
// the fixture's known math — with no change to platform code: the folder and the table line are the whole change.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { API_CLIENTS } from '../../lib/config/api-clients.js';
import type { EnvironmentConfig } from '../../lib/config/environment-config.js';
import { environments } from '../../lib/config/environments.js';
import { checkModelModules, loadModels, modelEndpointName } from '../../lib/config/models.js';
import { PROJECT_ROOT } from '../../lib/constructs/service-function.js';
import { AimsStage } from '../../lib/stages/aims-stage.js';
import { CDK_CONTEXT } from '../../test/support/app.js';
import { type LocalStage, startLocalStage } from '../stage.js';

const TINY = 'tiny-risk';
const FEATURES = ['txn_count', 'amount_mean'];
const FIXTURE_SCRIPT = join(PROJECT_ROOT, 'models', 'server', 'test', 'fixtures', 'make_fixture_model.py');
/** Inside the project (bundles cannot reach a model folder outside it) and git-ignored; removed after. */
const WORK = join(PROJECT_ROOT, 'test', '.tmp', `third-model-${process.pid}`);
const MODELS = join(WORK, 'models');
/** Synthesizing bundles every function of the stage (≈ a minute here); starting it takes seconds more. */
const SETUP_MS = 600_000;

/** The tiny model's module: one entity (the account), two features, a fixed baseline and a one-threshold policy. */
const MODULE_SOURCE = `// The third model of local/test/third-model.test.ts: an account's transaction count and mean amount.
import * as z from 'zod';

const Request = z.object({ accountId: z.string().min(1), amount: z.number().nonnegative() });
type Request = z.infer<typeof Request>;
interface Account { readonly count: number; readonly total: number; readonly seen: readonly string[] }
const names = ${JSON.stringify(FEATURES)};
const features = (account: Account) => [account.count, account.count === 0 ? 0 : account.total / account.count];

export default {
  name: ${JSON.stringify(TINY)},
  request: Request,
  entities: {
    account: {
      key: (r: Request) => r.accountId,
      empty: (): Account => ({ count: 0, total: 0, seen: [] }),
      fold: (a: Account, r: Request): Account => ({ count: a.count + 1, total: a.total + r.amount, seen: a.seen }),
    },
  },
  features: { names, compute: (_r: Request, s: { account: Account }) => features(s.account) },
  baseline: { model: { name: 'tiny-rules', version: '1' }, score: () => ({ score: 0.5, reasons: [] }) },
  policy: {
    outcomes: ['ok', 'alert'],
    validate: (t: { alert: number }) => {
      if (!(t.alert > 0 && t.alert < 1)) throw new Error(\`alert must be in (0, 1), got \${t.alert}\`);
    },
    decide: (score: number, t: { alert: number }) => (score >= t.alert ? 'alert' : 'ok'),
  },
  explanation: { reference: [1, 50] },
  training: { script: 'train.py', rows: () => [] },
  gate: {
    readMetrics: () => ({}),
    check: () => ({ passed: false, problems: ['the tiny model is never retrained'], lift: null }),
  },
};
`;

let stage: LocalStage | undefined;
const lines: string[] = [];

/** `models/` of the test: the two real model folders and the tiny one, written here. */
function writeModelsRoot(): void {
  const dir = join(MODELS, TINY);
  mkdirSync(join(dir, 'src'), { recursive: true });
  // The real models are copied (discovery lists folders, not links) without their trained artifacts and tests; the
  // contracts they import stay where they are, through a link.
  for (const real of ['fraud-detector', 'merchant-risk']) {
    const from = join(PROJECT_ROOT, 'models', real);
    cpSync(from, join(MODELS, real), {
      recursive: true,
      filter: (path) => !/^\/(artifacts|test|__pycache__)(\/|$)/.test(path.slice(from.length)),
    });
  }
  symlinkSync(join(PROJECT_ROOT, 'models', 'shared'), join(MODELS, 'shared'));
  const bootstrap = join(dir, 'bootstrap');
  execFileSync(
    '/usr/bin/python3',
    [FIXTURE_SCRIPT, bootstrap, '--name', TINY, '--version', 'bootstrap-1', '--features', FEATURES.join(',')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // The fixture writes the manifest beside the model; a model folder keeps it at its top.
  renameSync(join(bootstrap, 'model.json'), join(dir, 'model.json'));
  mkdirSync(join(bootstrap, 'baseline'), { recursive: true });
  const bins = { name: 'score', edges: [0.5], proportions: [0.5, 0.5] };
  const psiBins = { version: 1, rows: 2, features: FEATURES.map((name) => ({ ...bins, name })), prediction: bins };
  writeFileSync(join(bootstrap, 'baseline', 'psi-bins.json'), JSON.stringify(psiBins));
  const statistics = { version: 0, dataset: { item_count: 2 }, features: [] };
  writeFileSync(join(bootstrap, 'baseline', 'statistics.json'), JSON.stringify(statistics));
  writeFileSync(join(bootstrap, 'baseline', 'constraints.json'), JSON.stringify({ version: 0, features: [] }));
  writeFileSync(join(dir, 'src', 'module.ts'), MODULE_SOURCE);
  writeFileSync(join(dir, 'train.py'), 'raise SystemExit("the tiny test model is never retrained")\n');
}

beforeAll(async () => {
  writeModelsRoot();
  const models = await loadModels(MODELS);
  // A copy of the Dev table with one more line: the whole configuration of the third model.
  const config: EnvironmentConfig = {
    ...environments.Dev,
    models: {
      ...environments.Dev.models,
      [TINY]: { thresholds: { alert: 0.5 }, modelTimeoutMs: 200, provisionedConcurrency: false },
    },
  };
  await checkModelModules(models, { Dev: config.models });
  const outdir = join(WORK, 'cdk.out');
  // Asset metadata names each function's bundle folder: what the local stage runs (as `cdk synth` writes it).
  const app = new App({ outdir, context: { ...CDK_CONTEXT, 'aws:cdk:enable-asset-metadata': true } });
  new AimsStage(app, 'Dev', { config, models, clients: API_CLIENTS });
  app.synth();
  stage = await startLocalStage({
    assemblyDir: outdir,
    synth: false,
    modelsDir: MODELS,
    dataDir: join(WORK, 'data'),
    port: 0,
    log: (line) => lines.push(line),
  });
}, SETUP_MS);

afterAll(async () => {
  await stage?.close();
  rmSync(WORK, { recursive: true, force: true });
}, SETUP_MS);

describe('GIVEN a third model folder and one line in a copy of the environments table', () => {
  it('THEN the synthesized stage serves it locally beside the other two, found by its metadata', () => {
    const served = stage?.servedModels ?? [];
    expect(served.map((m) => m.name).sort()).toEqual(['fraud-detector', 'merchant-risk', TINY]);
    expect(served.find((m) => m.name === TINY)?.dir).toBe(join(MODELS, TINY));
    expect(lines.join('\n')).toContain(`endpoint ${modelEndpointName('Dev', TINY)} serves ${TINY}`);
  });

  it('WHEN its endpoint is invoked THEN its own model server answers with the fixture model’s math', async () => {
    const s = stage as LocalStage;
    const client = new SageMakerRuntimeClient({
      endpoint: s.endpoints.sagemakerRuntime,
      region: s.template.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const x = [3, 40];
    const out = await client.send(
      new InvokeEndpointCommand({
        EndpointName: modelEndpointName('Dev', TINY),
        ContentType: 'application/json',
        Body: JSON.stringify({ inputs: [{ name: 'features', shape: [1, 2], datatype: 'FP32', data: x }] }),
      }),
    );
    const answer = JSON.parse(Buffer.from(out.Body as Uint8Array).toString('utf8')) as {
      model_name: string;
      model_version: string;
      outputs: { data: number[] }[];
    };
    const card = JSON.parse(readFileSync(join(MODELS, TINY, 'bootstrap', 'model-card.json'), 'utf8')) as {
      math: { weights: number[]; bias: number };
    };
    const logit = card.math.bias + x.reduce((sum, v, i) => sum + v * (card.math.weights[i] as number), 0);
    expect(answer).toMatchObject({ model_name: TINY, model_version: 'bootstrap-1' });
    expect(answer.outputs[0]?.data[0]).toBeCloseTo(1 / (1 + Math.exp(-logit)), 5);
  });
});
