// The retraining tasks' use cases behind the state machine's Lambda states: prepareDataset (Athena CSV → train.py
// channels) and evaluate (gate + Triton package + version files), over the ObjectStore port; coordinate (lock,
// debounce, approval token) is in coordination.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { AnyModelModule, QualityVerdict } from '../../models/shared/module.js';
import type { ObjectStore } from '../shared/adapters/object-store.js';
import { buildTrainingSet } from './dataset.js';
import { applyGate, championScores, type ScoreMetrics, scoreMetrics } from './evaluation.js';
import { readTarGz } from './tar.js';
import { buildTritonArchive } from './triton-archive.js';

/** Port: the object store the tasks read and write (S3, or s3rver locally). */
export type { ObjectStore };

const S3Prefix = z.string().regex(/^s3:\/\/[^/]+\/.*\/$/, 'expected an s3:// prefix ending in /');

export const PrepareDatasetRequest = z.object({
  resultUri: z.string().startsWith('s3://'),
  outputPrefix: S3Prefix,
  features: z.array(z.string().min(1)).min(1),
  label: z.string().min(1),
  minRows: z.number().int().min(1),
  minPositives: z.number().int().min(1),
});

export async function prepareDataset(
  input: z.infer<typeof PrepareDatasetRequest>,
  store: ObjectStore,
  module: AnyModelModule,
) {
  const csv = (await store.get(input.resultUri)).toString('utf8');
  const result = buildTrainingSet(csv, input, input, module);
  for (const [name, body] of Object.entries(result.files)) {
    await store.put(`${input.outputPrefix}${name}`, body, name.endsWith('.json') ? 'application/json' : 'text/csv');
  }
  return {
    trainUri: input.outputPrefix,
    rows: result.rows,
    positives: result.positives,
    ...(result.labelSources ? { labelSources: result.labelSources } : {}),
  };
}

export const EvaluateRequest = z.object({
  modelName: z.string().min(1),
  version: z.string().min(1),
  /** The training job's output (SageMaker's model.tar.gz of SM_MODEL_DIR). */
  trainingArtifactUri: z.string().startsWith('s3://'),
  /** The dataset prefix (test.csv with champion_score). */
  datasetPrefix: S3Prefix,
  /** Where this version's files go: the champion pointer's future value. */
  versionPrefix: S3Prefix,
  features: z.array(z.string().min(1)).min(1),
  label: z.string().min(1),
  gate: z.object({
    minAucPr: z.number(),
    minRecallLiftVsRules: z.number(),
    maxRegressionVsChampion: z.number(),
  }),
  triton: z.object({
    template: z.string().min(1),
    maxBatchSize: z.number().int().min(1),
    maxQueueDelayMicroseconds: z.number().int().min(0),
    instanceType: z.string().min(1),
  }),
});

/** What the platform reads of metrics.json itself: the challenger's AUC-PR (the champion comparison) and the record. */
const Metrics = z.object({
  model: z.object({ aucPr: z.number().nullable() }).passthrough(),
  rules: z.object({}).passthrough().nullable().optional(),
});

/** The module's gate over metrics.json; metrics it cannot read are a failed verdict that says what is missing. */
function modelVerdict(
  module: AnyModelModule,
  metrics: Buffer,
  gate: z.infer<typeof EvaluateRequest>['gate'],
): QualityVerdict {
  // The module reads metrics.json as train.py leaves it, from a file.
  const dir = mkdtempSync(join(tmpdir(), 'aims-metrics-'));
  try {
    const file = join(dir, 'metrics.json');
    writeFileSync(file, metrics);
    return module.gate.check(module.gate.readMetrics(file), gate);
  } catch (error) {
    return { passed: false, problems: [(error as Error).message], lift: null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function evaluate(input: z.infer<typeof EvaluateRequest>, store: ObjectStore, module: AnyModelModule) {
  const files = new Map(readTarGz(await store.get(input.trainingArtifactUri)).map((e) => [e.path, e.data]));
  const need = (name: string) => {
    const data = files.get(name);
    if (!data)
      throw new Error(
        `training output ${input.trainingArtifactUri} lacks ${name} (has ${[...files.keys()].join(', ')})`,
      );
    return data;
  };
  const metrics = Metrics.parse(JSON.parse(need('metrics.json').toString('utf8')));
  const test = (await store.get(`${input.datasetPrefix}test.csv`)).toString('utf8');
  const champ = championScores(test, input.label);
  const champion: ScoreMetrics | null = champ.labels.length > 0 ? scoreMetrics(champ.labels, champ.scores) : null;
  const gate = applyGate({
    model: modelVerdict(module, need('metrics.json'), input.gate),
    challengerAucPr: metrics.model.aucPr,
    champion,
    maxRegressionVsChampion: input.gate.maxRegressionVsChampion,
  });
  const evaluation = {
    model: input.modelName,
    version: input.version,
    challenger: metrics.model,
    rules: metrics.rules ?? null,
    champion,
    gate,
    trainingArtifactUri: input.trainingArtifactUri,
    datasetPrefix: input.datasetPrefix,
  };
  await store.put(`${input.versionPrefix}evaluation.json`, JSON.stringify(evaluation, null, 2), 'application/json');
  if (!gate.passed) {
    return {
      passed: false,
      version: input.version,
      versionPrefix: input.versionPrefix,
      reasons: gate.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`),
    };
  }
  // Only a version that passed gets the files the endpoint and the monitor read.
  const card: unknown = JSON.parse(need('model-card.json').toString('utf8'));
  const { archive } = buildTritonArchive({
    modelName: input.modelName,
    onnx: need('model.onnx'),
    card,
    template: input.triton.template,
    maxBatchSize: input.triton.maxBatchSize,
    maxQueueDelayMicroseconds: input.triton.maxQueueDelayMicroseconds,
    instanceType: input.triton.instanceType,
    expectedFeatures: input.features,
  });
  await store.put(`${input.versionPrefix}model.tar.gz`, archive, 'application/gzip');
  for (const name of [
    'metrics.json',
    'model-card.json',
    'baseline/statistics.json',
    'baseline/constraints.json',
    'baseline/psi-bins.json',
  ]) {
    await store.put(`${input.versionPrefix}${name}`, need(name), 'application/json');
  }
  return {
    passed: true,
    version: input.version,
    versionPrefix: input.versionPrefix,
    modelDataUri: `${input.versionPrefix}model.tar.gz`,
    metricsUri: `${input.versionPrefix}metrics.json`,
    statisticsUri: `${input.versionPrefix}baseline/statistics.json`,
    constraintsUri: `${input.versionPrefix}baseline/constraints.json`,
    reasons: [] as string[],
  };
}
