// The model manifest (`models/<name>/model.json`): one zod schema for every model, and a loader with clear errors.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';

const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

/** A SageMaker instance type such as `ml.g5.xlarge`. */
const InstanceType = z
  .string()
  .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, { message: "expected a SageMaker instance type like 'ml.g5.xlarge'" });

const perEnvironment = <T extends z.ZodType>(value: T) =>
  z.object({ dev: value, staging: value, prod: value }).strict();

const Capacity = z
  .object({ min: z.number().int().min(0), max: z.number().int().min(1) })
  .strict()
  .refine((c) => c.min <= c.max, { message: 'expected min <= max' });

const FeatureThreshold = z
  .object({
    /** Population stability index above which this feature counts as drifted (overrides the default). */
    psiThreshold: z.number().positive().optional(),
    /** Fraction of missing values above which the feature is flagged. */
    maxMissingFraction: z.number().min(0).max(1).optional(),
  })
  .strict();

/** When a challenger in the shadow variant counts as agreeing with the champion (the shadow comparison's verdict). */
export const SHADOW_DEFAULTS = { minPairs: 200, minAgreement: 0.97, maxScorePsi: 0.25, maxMeanAbsDiff: 0.1 } as const;
const ShadowThresholds = z
  .object({
    /** Paired requests (same inference id in both variants) below which nothing is judged: the verdict fails. */
    minPairs: z.number().int().min(1).default(SHADOW_DEFAULTS.minPairs),
    /** Share of pairs whose decision (approve / review / decline at the policy thresholds) is the same. */
    minAgreement: z.number().min(0).max(1).default(SHADOW_DEFAULTS.minAgreement),
    /** PSI of the shadow's score distribution vs the champion's, above which they differ. */
    maxScorePsi: z.number().positive().default(SHADOW_DEFAULTS.maxScorePsi),
    /** Mean |shadow score − champion score| above which they differ. */
    maxMeanAbsDiff: z.number().positive().max(1).default(SHADOW_DEFAULTS.maxMeanAbsDiff),
  })
  .strict();

/** How a model's predictions are served: an endpoint answering requests, or a scheduled run over a population. */
export const SERVING_MODES = ['realtime', 'batch'] as const;
export type ServingMode = (typeof SERVING_MODES)[number];

const BatchServing = z
  .object({
    /** When the batch transform runs: an EventBridge Scheduler expression in UTC, e.g. `cron(30 0 * * ? *)`. */
    schedule: z.string().regex(/^(cron|rate)\(.+\)$/, { message: "expected 'cron(…)' or 'rate(…)'" }),
    /** What one run scores, for people reading the manifest (e.g. every merchant active the day before). */
    population: z.string().min(1),
    instanceType: perEnvironment(InstanceType),
    /** Rows per request to the model within a transform (the transform's MaxPayload follows from it). */
    rowsPerRequest: z.number().int().min(1).max(65_536),
  })
  .strict();

export const ModelManifest = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, { message: "expected a kebab-case name like 'fraud-detector'" })
      .max(40),
    description: z.string().min(1),
    /** Feature names in model-input order. */
    features: z
      .array(z.string().regex(/^[a-z][a-z0-9_]*$/, { message: 'expected a snake_case feature name' }))
      .min(1)
      .superRefine((names, ctx) => {
        const seen = new Set<string>();
        names.forEach((name, i) => {
          if (seen.has(name)) {
            ctx.addIssue({ code: 'custom', message: `expected unique feature names, '${name}' repeats`, path: [i] });
          }
          seen.add(name);
        });
      }),
    label: z.string().min(1),
    serving: z
      .object({
        container: z.literal('triton'),
        inputName: z.literal('features'),
        outputName: z.literal('score'),
        instanceType: perEnvironment(InstanceType),
        capacity: perEnvironment(Capacity),
        capturePercent: perEnvironment(z.number().int().min(0).max(100)),
        maxBatchSize: z.number().int().min(1).max(65_536),
        maxQueueDelayMicroseconds: z.number().int().min(0).max(10_000_000),
        timeoutMs: z.number().int().min(1).max(60_000),
        /** How predictions are served: `realtime` (an endpoint) and/or `batch` (a scheduled transform). @default ['realtime'] */
        modes: z
          .array(z.enum(SERVING_MODES))
          .min(1)
          .refine((modes) => new Set(modes).size === modes.length, { message: 'expected each mode at most once' })
          .default(['realtime']),
        /** The scheduled batch transform (required with the `batch` mode). */
        batch: BatchServing.optional(),
      })
      .strict()
      .superRefine((s, ctx) => {
        if (s.modes.includes('batch') && !s.batch) {
          ctx.addIssue({ code: 'custom', path: ['batch'], message: "expected a 'batch' block with the batch mode" });
        }
        if (!s.modes.includes('batch') && s.batch) {
          ctx.addIssue({
            code: 'custom',
            path: ['batch'],
            message: "expected the 'batch' mode in 'modes' beside a batch block",
          });
        }
      }),
    monitoring: z
      .object({
        schedule: z.enum(['hourly', 'daily']),
        psiThreshold: z.number().positive(),
        driftWindowMinutes: z.number().int().min(1),
        minSamples: z.number().int().min(1),
        featureThresholds: z.record(z.string(), FeatureThreshold).optional(),
        /** Thresholds of the shadow comparison (environments with a shadow variant). @default SHADOW_DEFAULTS */
        shadow: ShadowThresholds.default({ ...SHADOW_DEFAULTS }),
      })
      .strict(),
    training: z
      .object({
        instanceType: InstanceType,
        hyperparameters: z.record(z.string(), z.union([z.string(), z.number()])),
        qualityGate: z
          .object({
            minAucPr: z.number().min(0).max(1),
            minRecallLiftVsRules: z.number().positive(),
            maxRegressionVsChampion: z.number().min(0).max(1),
          })
          .strict(),
      })
      .strict(),
  })
  .strict()
  .superRefine((m, ctx) => {
    // Per-feature thresholds must name real features, or a typo silently disables a check.
    for (const name of Object.keys(m.monitoring.featureThresholds ?? {})) {
      if (!m.features.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a feature listed in 'features', got '${name}'`,
          path: ['monitoring', 'featureThresholds', name],
        });
      }
    }
  });

export type ModelManifest = z.infer<typeof ModelManifest>;
export type ManifestEnvironment = (typeof ENVIRONMENTS)[number];

/** Raised when a manifest is missing, is not JSON, or does not match the schema. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid model manifest ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const formatPath = (path: readonly PropertyKey[]): string =>
  path.length === 0
    ? '(root)'
    : path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');

/** Validates an already-parsed manifest; `file` only labels the error. */
export function parseManifest(raw: unknown, file = 'model.json'): ModelManifest {
  const result = ModelManifest.safeParse(raw);
  if (!result.success) {
    throw new ManifestError(
      file,
      result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`),
    );
  }
  return result.data;
}

/** Reads and validates `<modelDir>/model.json`. */
export function loadManifest(modelDir: string): ModelManifest {
  const file = join(modelDir, 'model.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ManifestError(file, [`cannot read file: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseManifest(raw, file);
}

/** The folder whose `model.json` describes a model artifact folder: the folder itself, or its parent. */
export function findManifestDir(modelDir: string): string | undefined {
  return [resolve(modelDir), dirname(resolve(modelDir))].find((dir) => existsSync(join(dir, 'model.json')));
}
