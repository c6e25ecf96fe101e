// The model-module contract: what a model folder (`models/<name>/`) gives the platform behind one typed interface —
// request schema, entity state, features, baseline scorer, output policy, explanation, training and quality gate —
// and the check that its manifest (model.json) describes the very same model.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as z from 'zod';
import type { ModelRef } from './contracts/decision.js';
import type { EntityLabel } from './contracts/entity-label.js';
import type { ModelManifest } from './manifest.js';

/** Where a model folder keeps its module; its default export implements `ModelModule`. */
export const MODULE_ENTRY = join('src', 'module.ts');

/** One entity's online state: how a request folds into it (the stream), and the empty state of one never seen. */
export interface EntityState<Request, State> {
  /** The entity's id in a request (e.g. the customer id); stores key the state by entity kind and this id. */
  key(request: Request): string;
  /** The state of an entity never seen. */
  empty(): State;
  /** The state after `request`: pure, tolerant to arrival order, and the same object if `request` was folded before. */
  fold(state: State, request: Request): State;
}

/** A baseline score with its reasons (human-readable, most important first; empty when nothing stood out). */
export interface BaselineScore {
  readonly score: number;
  readonly reasons: readonly string[];
}

/** One row of a training set: the features known at decision time and the label that arrived later. */
export interface TrainingRow {
  /** Event time, ISO 8601; training sets are split by it, never shuffled. */
  readonly eventTime: string;
  readonly features: readonly number[];
  readonly label: 0 | 1;
  /** The request's id (`batch.id`), for models trained from the lake's requests (`training.lakeQuery`). */
  readonly id?: string;
}

/** The quality gate's answer: `problems` says why it failed. */
export interface QualityVerdict {
  readonly passed: boolean;
  readonly problems: readonly string[];
  /** The model's recall over the baseline's at the gate's alert rate; null when the baseline was not measured. */
  readonly lift: number | null;
}

/**
 * How a model is served in batch (manifest `serving.modes` has 'batch'): the lake query of one run and how its rows
 * become requests. A run is for one UTC day; it scores the requests of that day and folds the others (the history the
 * features look back on) into each entity's state first, oldest first.
 */
export interface BatchSource<Request> {
  /**
   * The query over the lake's tables (Athena's Presto dialect, which the local stage runs on DuckDB): the requests
   * of the population of the day given as the one execution parameter `?` (a quoted 'YYYY-MM-DD'), and of the days
   * before it that the features need. Athena returns every value as text.
   */
  readonly query: string;
  /** One result row (column → text, as Athena's CSV has it) as a request; throws on a row that is not one. */
  request(row: Readonly<Record<string, string>>): Request;
  /** The UTC day (YYYY-MM-DD) a request is about. */
  date(request: Request): string;
  /** The id of its prediction (unique within a run, e.g. `<merchant>/<date>`). */
  id(request: Request): string;
}

/**
 * The labels a model learns from, reported per entity and day (a merchant compromised on a day, say) rather than per
 * request: its own schema at the edge (`POST /v1/models/<name>/labels`), the platform's `EntityLabel` in the lake,
 * which the model's training query reads.
 */
export interface EntityLabels<Label> {
  /** What a reporter sends: validated at the edge, rendered into the OpenAPI document. */
  readonly schema: z.ZodType<Label>;
  /** What the label is about (e.g. 'merchant'), for the route's documentation. */
  readonly entity: string;
  /** What `outcome: true` means, for the route's documentation (e.g. 'compromised'). */
  readonly outcome: string;
  /** The label as the platform stores it: entity key, day, outcome, when reported and by whom. */
  toEntityLabel(label: Label): EntityLabel;
}

/**
 * A model as the platform sees it. `Request` is what a caller sends, `States` the online state per entity kind (the
 * feature store keeps one per kind and key), `Outcome` the policy's vocabulary, `Thresholds` what an environment
 * sets for the policy, `Label` what a reporter of its entity-level labels sends.
 */
export interface ModelModule<
  Request,
  States extends object,
  Outcome extends string,
  Thresholds,
  Metrics,
  Label = never,
> {
  /** The manifest's `name`. */
  readonly name: string;
  /** What one prediction request holds: validated at the edge, rendered into the OpenAPI document. */
  readonly request: z.ZodType<Request>;
  /** The entities whose state the features read, by kind (the kind names the state in the feature store). */
  readonly entities: { readonly [K in keyof States]: EntityState<Request, States[K]> };
  readonly features: {
    /** Names in model-input order: the manifest's `features` must be exactly this list. */
    readonly names: readonly string[];
    /** The model input for `request` from each entity's state as it was before `request` (serving and training). */
    compute(request: Request, states: States): number[];
  };
  /** The transparent scorer the model must beat (quality gate) and that answers when the model cannot. */
  readonly baseline: {
    readonly model: ModelRef;
    /** Scores from the feature vector (in `features.names` order) and the request. */
    score(features: readonly number[], request: Request): BaselineScore;
  };
  /** The output policy: what a score means at an environment's thresholds. */
  readonly policy: {
    readonly outcomes: readonly Outcome[];
    /** Throws when an environment's thresholds make no sense (read at cold start, so a bad deploy fails loudly). */
    validate(thresholds: Thresholds): void;
    decide(score: number, thresholds: Thresholds): Outcome;
  };
  /** Explanations by occlusion: each feature is replaced by its value in `reference`, an unremarkable request. */
  readonly explanation: {
    /** One value per feature, in `features.names` order. */
    readonly reference: readonly number[];
  };
  readonly training: {
    /** The training script, relative to the model folder: a SageMaker script-mode job and `npm run train` run it. */
    readonly script: string;
    /** Training rows from requests replayed in time order, with the labels by request id (a request without one
     *  only builds the entities' state). */
    rows(requests: readonly Request[], labels: ReadonlyMap<string, boolean>): TrainingRow[];
    /**
     * The retraining set's lake query for a model whose features are rebuilt from requests (not read from what its
     * decisions logged): the requests of the window (columns as `batch.request` reads them) with a 0/1 `label`
     * column, empty for requests that only build state; the dataset step replays them through `rows` (each row's
     * `id` set). Needs `batch`.
     * @default - the decision log's logged features, labelled by the ground truth per decision
     */
    lakeQuery?(window: { readonly lookbackDays: number; readonly maturityDays: number }): string;
  };
  /** Entity-level labels reported through the platform. @default - labels come only from the request-level feedback */
  readonly labels?: EntityLabels<Label>;
  /** How a run over a population reads the lake (models served in batch). @default - realtime only */
  readonly batch?: BatchSource<Request>;
  /** The manifest's quality gate over the metrics.json the training script writes. */
  readonly gate: {
    /** Reads metrics.json and says what is missing rather than failing later on `undefined`. */
    readMetrics(file: string): Metrics;
    check(metrics: Metrics, gate: ModelManifest['training']['qualityGate']): QualityVerdict;
  };
}

/** Any model module, as platform code that resolves models from manifests holds it. */
// biome-ignore lint/suspicious/noExplicitAny: the platform handles every model through the same untyped seam.
export type AnyModelModule = ModelModule<any, any, string, any, any, any>;

/** The manifest and the module describe different models; loading or synthesizing them together is refused. */
export class ModelMismatchError extends Error {
  override readonly name = 'ModelMismatchError';
  constructor(
    readonly modelDir: string,
    readonly problems: readonly string[],
  ) {
    super(`model ${modelDir}: model.json and ${MODULE_ENTRY} disagree:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Where two feature lists part ways (missing, unexpected, moved); empty when they are equal. */
export function describeFeatureMismatch(expected: readonly string[], actual: readonly string[]): string[] {
  const problems: string[] = [];
  const missing = expected.filter((f) => !actual.includes(f));
  const extra = actual.filter((f) => !expected.includes(f));
  if (missing.length > 0) problems.push(`missing from the model: ${missing.join(', ')}`);
  if (extra.length > 0) problems.push(`not in the manifest: ${extra.join(', ')}`);
  if (problems.length === 0) {
    const moved = expected.flatMap((f, i) =>
      actual[i] === f ? [] : [`${f} (manifest #${i}, model #${actual.indexOf(f)})`],
    );
    if (moved.length > 0) problems.push(`in a different order: ${moved.join(', ')}`);
    else if (expected.length !== actual.length) problems.push('repeated features');
  }
  return problems;
}

/** What is wrong between a manifest and a module (empty when they describe the same model). */
export function moduleProblems(manifest: ModelManifest, module: AnyModelModule, modelDir: string): string[] {
  const problems: string[] = [];
  if (module.name !== manifest.name) {
    problems.push(`the manifest names '${manifest.name}' but the module names '${module.name}'`);
  }
  problems.push(...describeFeatureMismatch(manifest.features, module.features.names).map((p) => `features ${p}`));
  if (module.explanation.reference.length !== module.features.names.length) {
    problems.push(
      `the explanation reference has ${module.explanation.reference.length} values for ${module.features.names.length} features`,
    );
  }
  if (manifest.serving?.modes?.includes('batch') && !module.batch) {
    problems.push("the manifest serves it in batch but the module has no 'batch' section (query, request, date, id)");
  }
  if (!existsSync(join(modelDir, module.training.script))) {
    problems.push(`the training script ${module.training.script} is not in the model folder`);
  }
  return problems;
}

/** Throws ModelMismatchError unless `module` implements the model `manifest` declares. */
export function checkModule(manifest: ModelManifest, module: AnyModelModule, modelDir: string): void {
  const problems = moduleProblems(manifest, module, modelDir);
  if (problems.length > 0) throw new ModelMismatchError(modelDir, problems);
}

const isModule = (value: unknown): value is AnyModelModule => {
  const m = value as Partial<AnyModelModule> | null | undefined;
  return (
    typeof m?.name === 'string' &&
    Array.isArray(m.features?.names) &&
    typeof m.features?.compute === 'function' &&
    Array.isArray(m.explanation?.reference) &&
    typeof m.training?.script === 'string'
  );
};

/** True when `modelDir` has a module (a serving container holds only the artifacts, not the source). */
export const hasModule = (modelDir: string): boolean => existsSync(join(modelDir, MODULE_ENTRY));

/**
 * Imports `<modelDir>/src/module.ts` and checks it against the manifest: how platform code gets a model's module
 * without importing the model's folder by name. Needs a TypeScript-aware loader (tsx, jest), as the CDK app has.
 */
export async function loadModule(modelDir: string, manifest: ModelManifest): Promise<AnyModelModule> {
  const file = join(modelDir, MODULE_ENTRY);
  if (!existsSync(file)) throw new ModelMismatchError(modelDir, [`no ${MODULE_ENTRY}: every model folder needs one`]);
  const exported = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default;
  if (!isModule(exported)) {
    throw new ModelMismatchError(modelDir, [
      `${MODULE_ENTRY} has no default export implementing ModelModule (name, features, explanation, training)`,
    ]);
  }
  checkModule(manifest, exported, modelDir);
  return exported;
}
