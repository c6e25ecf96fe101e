// A batch model's nightly run, the three Lambda tasks of its state machine as pure use cases over ports:
// plan (the run's day, paths and job name) → [Athena] → prepare (fold the history, features, the transform input,
// the entities' state for the real-time route) → [Batch Transform] → publish (join scores with ids, decide, write).
import { z } from 'zod';
import type { AnyModelModule, BatchSource } from '../../models/shared/module.js';
import type { AggregateStore } from '../features/core.js';
import type { ObjectStore } from '../shared/adapters/object-store.js';
import { type BatchPrediction, type PredictionsSummary, predictionKeys } from '../shared/contracts/api.js';
import { versionOfPointer } from '../shared/contracts/champion.js';
import { aggregateKey } from '../shared/contracts/features.js';
import { csvRecords } from '../shared/csv.js';

const DAY = 86_400_000;
const IsoDate = z.iso.date();

/** The batch section of a model module, or an error saying the model is not served in batch. */
export function batchOf(module: AnyModelModule): BatchSource<unknown> {
  if (!module.batch) throw new Error(`model ${module.name} has no batch section: it is not served in batch`);
  return module.batch;
}

// ---- plan
/** What starts a run: the Scheduler's time (the run scores the UTC day before it), or an explicit day (a re-run). */
export const PlanRequest = z
  .object({
    action: z.literal('plan'),
    executionName: z.string().min(1),
    /** The execution's input: `{ scheduledTime }` from the schedule, or `{ date }` for a run of a chosen day. */
    input: z
      .object({
        /** `<aws.scheduler.scheduled-time>`: the run scores the UTC day before it. */
        scheduledTime: z.iso.datetime({ offset: true }).optional(),
        /** The day to score (YYYY-MM-DD); wins over scheduledTime. */
        date: IsoDate.optional(),
      })
      .strict(),
  })
  .strict();
export type PlanRequest = z.infer<typeof PlanRequest>;

export interface RunPlan {
  readonly date: string;
  /** The model module's batch query (Athena runs it with `parameters`). */
  readonly query: string;
  /** Athena's execution parameters of the batch query: the day as a quoted SQL literal. */
  readonly parameters: readonly string[];
  readonly jobName: string;
  /** `s3://…/` of this run's files: `input/requests.jsonl`, `rows.jsonl`, `output/`. */
  readonly workPrefix: string;
  readonly inputPrefix: string;
  readonly outputPrefix: string;
}

export interface PlanSettings {
  readonly module: AnyModelModule;
  /** The bucket the run's working files go to. */
  readonly workBucket: string;
  readonly now: () => Date;
}

/** The run's day, paths and transform job name (unique per execution: SageMaker job names are). */
export function plan(request: PlanRequest, settings: PlanSettings): RunPlan {
  const { input } = request;
  const date =
    input.date ??
    new Date(Date.parse(input.scheduledTime ?? settings.now().toISOString()) - DAY).toISOString().slice(0, 10);
  const suffix = request.executionName.replace(/[^A-Za-z0-9]/g, '').slice(-8) || 'run';
  const model = settings.module.name;
  const jobName = `${model}-${date.replaceAll('-', '')}-${suffix}`.slice(0, 63);
  const workPrefix = `s3://${settings.workBucket}/batch/${model}/date=${date}/${request.executionName}/`;
  return {
    date,
    query: batchOf(settings.module).query,
    parameters: [`'${date}'`],
    jobName,
    workPrefix,
    inputPrefix: `${workPrefix}input/`,
    outputPrefix: `${workPrefix}output/`,
  };
}

// ---- prepare
const S3Prefix = z.string().regex(/^s3:\/\/[^/]+\/.*\/$/, 'expected an s3:// prefix ending in /');
export const PrepareRequest = z
  .object({
    action: z.literal('prepare'),
    resultUri: z.string().startsWith('s3://'),
    date: IsoDate,
    workPrefix: S3Prefix,
    inputPrefix: S3Prefix,
  })
  .strict();
export type PrepareRequest = z.infer<typeof PrepareRequest>;

/** The file the transform reads (one Open Inference Protocol v2 request per line) and the ids in the same order. */
export const TRANSFORM_INPUT = 'requests.jsonl';
export const RUN_ROWS = 'rows.jsonl';

/** Port: the entities' online state, folded forward with the run's requests (compare-and-swap on a version). */
export interface EntityStates {
  /** Folds `requests` into the stored state of `kind`/`key` (or the empty one) and writes it if it changed. */
  merge(kind: string, entity: AnyModelModule['entities'][string], requests: readonly unknown[]): Promise<void>;
}

export interface PrepareDeps {
  readonly module: AnyModelModule;
  readonly objects: ObjectStore;
  readonly states: EntityStates;
  /** Rows per transform request (the manifest's `serving.batch.rowsPerRequest`). */
  readonly rowsPerRequest: number;
  readonly inputName: string;
  /** Entity writes at once. @default 16 */
  readonly concurrency?: number;
}

export interface PrepareResult {
  /** Requests of the run's day (predictions to come). */
  readonly rows: number;
  /** Lines of the transform input. */
  readonly requests: number;
  /** History requests folded before the day's. */
  readonly history: number;
  /** Entity states written to the features table. */
  readonly entities: number;
}

/** One v2 inference request body for a chunk of feature vectors. */
export function inferBody(inputName: string, vectors: readonly (readonly number[])[]): string {
  const width = vectors[0]?.length ?? 0;
  return JSON.stringify({
    inputs: [{ name: inputName, shape: [vectors.length, width], datatype: 'FP32', data: vectors.flat() }],
  });
}

/**
 * The query's rows → requests, in day order; each request of the run's day is scored from its entities' state
 * folded over the days before it (the lake's history), then folded in itself. The transform input holds the day's
 * feature vectors in chunks of rowsPerRequest; the final states go to the features table, so the real-time route
 * reads each entity as of last night.
 */
export async function prepare(request: PrepareRequest, deps: PrepareDeps): Promise<PrepareResult> {
  const { module } = deps;
  const batch = batchOf(module);
  const text = (await deps.objects.get(request.resultUri)).toString('utf8');
  const requests = csvRecords(text)
    .map((row) => batch.request(row))
    .filter((r) => batch.date(r) <= request.date)
    .sort((a, b) => (batch.date(a) < batch.date(b) ? -1 : batch.date(a) > batch.date(b) ? 1 : 0));
  const entities = Object.entries(module.entities);
  const states = new Map<string, unknown>();
  const folded = new Map<string, { kind: string; entity: (typeof entities)[number][1]; requests: unknown[] }>();
  const stateOf = (kind: string, entity: (typeof entities)[number][1], r: unknown) => {
    const pk = aggregateKey(kind, entity.key(r));
    return { pk, state: states.has(pk) ? states.get(pk) : entity.empty() };
  };
  const vectors: number[][] = [];
  const rows: string[] = [];
  for (const r of requests) {
    if (batch.date(r) === request.date) {
      const before = Object.fromEntries(entities.map(([kind, entity]) => [kind, stateOf(kind, entity, r).state]));
      vectors.push(module.features.compute(r, before));
      rows.push(JSON.stringify({ id: batch.id(r), request: r }));
    }
    for (const [kind, entity] of entities) {
      const { pk, state } = stateOf(kind, entity, r);
      states.set(pk, entity.fold(state, r));
      const group = folded.get(pk) ?? { kind, entity, requests: [] };
      group.requests.push(r);
      folded.set(pk, group);
    }
  }
  const lines: string[] = [];
  for (let i = 0; i < vectors.length; i += deps.rowsPerRequest) {
    lines.push(inferBody(deps.inputName, vectors.slice(i, i + deps.rowsPerRequest)));
  }
  await deps.objects.put(`${request.inputPrefix}${TRANSFORM_INPUT}`, lines.join('\n'), 'application/jsonlines');
  await deps.objects.put(`${request.workPrefix}${RUN_ROWS}`, rows.join('\n'), 'application/jsonlines');
  // Only entities scored tonight get their state written: the others were not in tonight's population.
  const scored = new Set(
    requests
      .filter((r) => batch.date(r) === request.date)
      .flatMap((r) => entities.map(([kind, entity]) => aggregateKey(kind, entity.key(r)))),
  );
  const groups = [...folded.entries()].filter(([pk]) => scored.has(pk)).map(([, g]) => g);
  await runBounded(groups, deps.concurrency ?? 16, (g) => deps.states.merge(g.kind, g.entity, g.requests));
  return {
    rows: vectors.length,
    requests: lines.length,
    history: requests.length - vectors.length,
    entities: groups.length,
  };
}

async function runBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** JSON with object keys sorted: states compare equal whatever order the table returned their keys in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Folds requests into stored aggregates with the features service's store: read, fold, conditional write, retry. */
export class FoldingEntityStates implements EntityStates {
  constructor(
    private readonly store: AggregateStore,
    private readonly maxAttempts = 6,
  ) {}

  async merge(kind: string, entity: AnyModelModule['entities'][string], requests: readonly unknown[]): Promise<void> {
    const key = entity.key(requests[0]);
    const pk = aggregateKey(kind, key);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const stored = await this.store.get(pk);
      const before: unknown = stored ? stored.state : entity.empty();
      const after = requests.reduce((state: unknown, r) => entity.fold(state, r), before);
      // Equal, not only identical: a day older than the state's window folds to an equal copy of it.
      if (stored && (after === before || canonical(after) === canonical(before))) return;
      if ((await this.store.put(pk, kind, after, stored?.version)) === 'written') return;
    }
    throw new Error(`${pk}: lost ${this.maxAttempts} conditional writes in a row to other writers`);
  }
}

// ---- publish
export const PublishRequest = z
  .object({
    action: z.literal('publish'),
    date: IsoDate,
    workPrefix: S3Prefix,
    inputPrefix: S3Prefix,
    outputPrefix: S3Prefix,
    /** The champion pointer when the run started (its version is what scored). */
    champion: z.string().min(1),
    executionArn: z.string().min(1),
  })
  .strict();
export type PublishRequest = z.infer<typeof PublishRequest>;

export interface PublishDeps {
  readonly module: AnyModelModule;
  readonly objects: ObjectStore;
  /** The environment's thresholds of the model's policy (validated at cold start). */
  readonly thresholds: Readonly<Record<string, number>>;
  /** The version the bootstrap card records: reported while the champion pointer is `bootstrap`. */
  readonly bootstrapVersion: string;
  readonly outputName: string;
  /** Bucket the predictions go to (`predictions/<model>/date=…/`). */
  readonly predictionsBucket: string;
  readonly now: () => Date;
}

const InferResponse = z.object({
  outputs: z.array(z.object({ name: z.string(), data: z.array(z.number()) })).min(1),
});

/** Thrown when the transform's output does not line up with its input: nothing is published. */
export class TransformOutputError extends Error {
  override readonly name = 'TransformOutputError';
}

const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);

/**
 * Joins the transform's output (one v2 response per input line, in order) with the run's ids, decides each score at
 * the environment's thresholds and writes the day's predictions and their summary; returns the summary.
 */
export async function publish(request: PublishRequest, deps: PublishDeps): Promise<PredictionsSummary> {
  const { module } = deps;
  const rows = jsonLines((await deps.objects.get(`${request.workPrefix}${RUN_ROWS}`)).toString('utf8')) as {
    id: string;
    request: Record<string, unknown>;
  }[];
  const scores: number[] = [];
  if (rows.length > 0) {
    const output = (await deps.objects.get(`${request.outputPrefix}${TRANSFORM_INPUT}.out`)).toString('utf8');
    for (const [i, line] of jsonLines(output).entries()) {
      const parsed = InferResponse.safeParse(line);
      if (!parsed.success) throw new TransformOutputError(`output line ${i + 1} is not a v2 inference response`);
      const out = parsed.data.outputs.find((o) => o.name === deps.outputName) ?? parsed.data.outputs[0];
      scores.push(...(out?.data ?? []));
    }
  }
  if (scores.length !== rows.length) {
    throw new TransformOutputError(`the transform returned ${scores.length} scores for ${rows.length} rows`);
  }
  const outcomes: Record<string, number> = Object.fromEntries(module.policy.outcomes.map((o) => [o, 0]));
  const predictions: BatchPrediction[] = rows.map((row, i) => {
    const score = scores[i] as number;
    if (!(score >= 0 && score <= 1)) throw new TransformOutputError(`score ${score} of ${row.id} is not a probability`);
    const outcome = module.policy.decide(score, deps.thresholds);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    return { id: row.id, score, outcome, request: row.request };
  });
  const keys = predictionKeys(module.name, request.date);
  const location = `s3://${deps.predictionsBucket}/${keys.rows}`;
  const summary: PredictionsSummary = {
    model: module.name,
    version: versionOfPointer(request.champion, deps.bootstrapVersion),
    date: request.date,
    rows: predictions.length,
    outcomes,
    thresholds: { ...deps.thresholds },
    location,
    executionArn: request.executionArn,
    completedAt: deps.now().toISOString(),
  };
  // Rows first: a summary exists only beside complete predictions (the API answers 404 until then).
  await deps.objects.put(location, predictions.map((p) => JSON.stringify(p)).join('\n'), 'application/jsonlines');
  await deps.objects.put(
    `s3://${deps.predictionsBucket}/${keys.summary}`,
    JSON.stringify(summary, null, 2),
    'application/json',
  );
  return summary;
}
