// The stream drift check: PSI per feature (and of the score) over a window of captured requests vs the training
// baseline's quantile bins, and the ModelDriftDetected event when any feature passes its threshold (runDriftCheck runs
// it over its ports); and the same event from a Model Monitor drift alarm.
import { z } from 'zod';
import { binOf, PSI_EPSILON } from '../shared/capture.js';
import type { DriftAssessment } from '../shared/contracts/api.js';
import type { ModelDriftDetectedData } from '../shared/contracts/events.js';

/** The baseline train.py writes to baseline/psi-bins.json. Bins are (-inf,e0], (e0,e1], ..., (e_last, +inf). */
export const PsiBins = z.object({
  version: z.literal(1),
  rows: z.number().int().min(1),
  features: z
    .array(z.object({ name: z.string().min(1), edges: z.array(z.number()), proportions: z.array(z.number().min(0)) }))
    .min(1),
  prediction: z.object({
    name: z.string().min(1),
    edges: z.array(z.number()),
    proportions: z.array(z.number().min(0)),
  }),
});
export type PsiBins = z.infer<typeof PsiBins>;
type Binning = PsiBins['prediction'];

/** Population stability index of `values` against a baseline binning: Σ (a − e) · ln(a / e). */
export function psi(binning: Binning, values: readonly number[]): number {
  if (binning.proportions.length !== binning.edges.length + 1) {
    throw new Error(
      `baseline '${binning.name}' has ${binning.edges.length} edges but ${binning.proportions.length} proportions`,
    );
  }
  if (values.length === 0) return 0;
  const counts = new Array<number>(binning.proportions.length).fill(0);
  for (const v of values) counts[binOf(binning.edges, v)] = (counts[binOf(binning.edges, v)] as number) + 1;
  let total = 0;
  binning.proportions.forEach((expectedRaw, i) => {
    const expected = Math.max(expectedRaw, PSI_EPSILON);
    const actual = Math.max((counts[i] as number) / values.length, PSI_EPSILON);
    total += (actual - expected) * Math.log(actual / expected);
  });
  return total;
}

/** A window of model inputs (rows in feature order) and the scores served for them. */
export interface DriftWindow {
  readonly rows: readonly (readonly number[])[];
  readonly scores: readonly number[];
  readonly start: Date;
  readonly end: Date;
}

/** Two windows of the same model read as one (real-time and batch traffic): rows and scores of both, the wider span. */
export function mergeWindows(a: DriftWindow, b: DriftWindow): DriftWindow {
  return {
    rows: [...a.rows, ...b.rows],
    scores: [...a.scores, ...b.scores],
    start: new Date(Math.min(a.start.getTime(), b.start.getTime())),
    end: new Date(Math.max(a.end.getTime(), b.end.getTime())),
  };
}

export interface DriftThresholds {
  readonly default: number;
  readonly features: Readonly<Record<string, number>>;
}

export interface DriftReport {
  readonly samples: number;
  /** PSI per feature name, plus `score`. */
  readonly psi: Readonly<Record<string, number>>;
  readonly scorePsi: number;
  readonly maxFeaturePsi: number;
  readonly drifted: ModelDriftDetectedData['features'];
  /** false when the window held fewer than minSamples rows: nothing is judged. */
  readonly judged: boolean;
}

export function assessDrift(options: {
  readonly baseline: PsiBins;
  readonly featureNames: readonly string[];
  readonly window: DriftWindow;
  readonly thresholds: DriftThresholds;
  readonly minSamples: number;
}): DriftReport {
  const { baseline, featureNames, window, thresholds } = options;
  const baselineNames = baseline.features.map((f) => f.name);
  if (JSON.stringify(baselineNames) !== JSON.stringify(featureNames)) {
    throw new Error(
      `baseline features (${baselineNames.length}) differ from the model's (${featureNames.length}): the champion's psi-bins.json belongs to another feature list`,
    );
  }
  const samples = window.rows.length;
  const values: Record<string, number> = {};
  baseline.features.forEach((binning, j) => {
    values[binning.name] = psi(
      binning,
      window.rows.map((r) => r[j] as number),
    );
  });
  const scorePsi = psi(baseline.prediction, window.scores);
  values.score = scorePsi;
  const maxFeaturePsi = Math.max(0, ...featureNames.map((n) => values[n] as number));
  const judged = samples >= options.minSamples;
  const drifted = judged
    ? featureNames
        .map((name) => ({
          name,
          psi: values[name] as number,
          threshold: thresholds.features[name] ?? thresholds.default,
        }))
        .filter((f) => f.psi > f.threshold)
        .sort((a, b) => b.psi - a.psi)
    : [];
  return { samples, psi: values, scorePsi, maxFeaturePsi, drifted, judged };
}

/** The event to publish, or undefined when nothing drifted. */
export function driftEvent(
  model: string,
  window: DriftWindow,
  report: DriftReport,
): ModelDriftDetectedData | undefined {
  if (report.drifted.length === 0) return undefined;
  return {
    model,
    detector: 'stream',
    features: report.drifted.map((f) => ({ name: f.name, psi: f.psi, threshold: f.threshold })),
    samples: report.samples,
    windowStart: window.start.toISOString(),
    windowEnd: window.end.toISOString(),
  };
}

/** The assessment the models API serves at GET /v1/models/{name}/drift (the drift check's latest run). */
export function driftAssessment(options: {
  readonly model: string;
  readonly window: DriftWindow;
  readonly report: DriftReport;
  readonly thresholds: DriftThresholds;
  readonly minSamples: number;
  readonly baseline: string;
  readonly assessedAt: Date;
}): DriftAssessment {
  const { report, thresholds } = options;
  const drifted = new Set(report.drifted.map((f) => f.name));
  const finite = (n: number) => (Number.isFinite(n) ? n : Number.MAX_VALUE);
  return {
    model: options.model,
    assessedAt: options.assessedAt.toISOString(),
    windowStart: options.window.start.toISOString(),
    windowEnd: options.window.end.toISOString(),
    samples: report.samples,
    minSamples: options.minSamples,
    judged: report.judged,
    drifted: drifted.size > 0,
    threshold: thresholds.default,
    scorePsi: finite(report.scorePsi),
    maxFeaturePsi: finite(report.maxFeaturePsi),
    baseline: options.baseline,
    features: Object.entries(report.psi)
      .filter(([name]) => name !== 'score')
      .map(([name, psi]) => ({
        name,
        psi: finite(psi),
        threshold: thresholds.features[name] ?? thresholds.default,
        drifted: drifted.has(name),
      })),
  };
}

/** The drift check's ports: where the baseline, the window and the stored assessment come from and go. */
export interface DriftCheckPorts {
  /** The champion's baseline and where it was read from. */
  readonly baseline: () => Promise<{ baseline: PsiBins; source: string }>;
  /** The captured window ending at `now`. */
  readonly window: (now: Date) => Promise<DriftWindow>;
  /** Publishes ModelDriftDetected. */
  readonly publishDrift: (data: ModelDriftDetectedData) => Promise<void>;
  /** Stores the latest assessment (read by GET /v1/models/{name}/drift) unless an overlapping run stored a later one. */
  readonly saveAssessment: (assessment: DriftAssessment) => Promise<'written' | 'kept-later'>;
  /** Told of each assessment before anything is published (metrics, logs). */
  readonly assessed?: (report: DriftReport, baselineSource: string) => void;
}

export interface DriftCheckConfig {
  readonly model: string;
  readonly featureNames: readonly string[];
  readonly thresholds: DriftThresholds;
  readonly minSamples: number;
}

/**
 * One run of the drift check at `now`: the captured window vs the champion's baseline, ModelDriftDetected when a
 * feature passes its threshold, then the assessment stored for the models API.
 */
export async function runDriftCheck(
  now: Date,
  ports: DriftCheckPorts,
  config: DriftCheckConfig,
): Promise<{ report: DriftReport; stored: 'written' | 'kept-later' }> {
  const [{ baseline, source }, window] = await Promise.all([ports.baseline(), ports.window(now)]);
  const report = assessDrift({
    baseline,
    featureNames: config.featureNames,
    window,
    thresholds: config.thresholds,
    minSamples: config.minSamples,
  });
  ports.assessed?.(report, source);
  const data = driftEvent(config.model, window, report);
  if (data) await ports.publishDrift(data);
  const stored = await ports.saveAssessment(
    driftAssessment({
      model: config.model,
      window,
      report,
      thresholds: config.thresholds,
      minSamples: config.minSamples,
      baseline: source,
      assessedAt: now,
    }),
  );
  return { report, stored };
}

// ---- The Model Monitor drift alarm (CloudWatch Alarm State Change) → the ModelDriftDetected data it stands for

const METRIC_PREFIX = 'feature_baseline_drift_';

export const AlarmStateChange = z.object({
  alarmName: z.string(),
  state: z.object({ value: z.string(), timestamp: z.string() }),
  configuration: z.object({
    metrics: z
      .array(
        z.object({ metricStat: z.object({ metric: z.object({ name: z.string() }), period: z.number() }).optional() }),
      )
      .min(1),
  }),
});

/** The drift event for one alarm entering ALARM; undefined for other states or non-drift metrics. */
export function driftFromAlarm(model: string, threshold: number, detail: unknown): ModelDriftDetectedData | undefined {
  const alarm = AlarmStateChange.parse(detail);
  if (alarm.state.value !== 'ALARM') return undefined;
  const stat = alarm.configuration.metrics[0]?.metricStat;
  if (!stat?.metric.name.startsWith(METRIC_PREFIX)) return undefined;
  const end = new Date(alarm.state.timestamp);
  if (Number.isNaN(end.getTime()))
    throw new Error(`alarm ${alarm.alarmName}: bad state timestamp '${alarm.state.timestamp}'`);
  return {
    model,
    detector: 'monitor',
    features: [{ name: stat.metric.name.slice(METRIC_PREFIX.length), threshold }],
    samples: 0,
    windowStart: new Date(end.getTime() - stat.period * 1000).toISOString(),
    windowEnd: end.toISOString(),
  };
}

const CaptureLine = z.object({
  captureData: z.object({
    endpointInput: z.object({ data: z.string(), encoding: z.string() }),
    endpointOutput: z.object({ data: z.string(), encoding: z.string() }).optional(),
  }),
  eventMetadata: z.object({ inferenceTime: z.string() }).optional(),
});
const V2Tensor = z.object({ shape: z.array(z.number().int()), data: z.array(z.number()) });

function decode(payload: { data: string; encoding: string }): unknown {
  const text = payload.encoding === 'BASE64' ? Buffer.from(payload.data, 'base64').toString('utf8') : payload.data;
  return JSON.parse(text);
}

/**
 * Which rows of a captured request are traffic: a real-time request's row 0 (the scorer appends its occlusion rows
 * after it), or every row of a batch transform's request (each row is one entity of the population).
 */
export type CapturedRows = 'first' | 'all';

/**
 * The scored rows and their scores from SageMaker data-capture JSON lines of v2 requests. Lines that are not v2
 * (health checks, other content types) are counted as skipped rather than failing the whole window.
 */
export function parseCapture(
  text: string,
  width: number,
  take: CapturedRows = 'first',
): { rows: number[][]; scores: number[]; skipped: number } {
  const rows: number[][] = [];
  const scores: number[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = CaptureLine.parse(JSON.parse(line));
      const input = V2Tensor.parse((decode(record.captureData.endpointInput) as { inputs: unknown[] }).inputs[0]);
      const [n, w] = input.shape;
      if (w !== width || n === undefined || input.data.length !== n * width) {
        skipped++;
        continue;
      }
      const out = record.captureData.endpointOutput
        ? V2Tensor.parse((decode(record.captureData.endpointOutput) as { outputs: unknown[] }).outputs[0])
        : undefined;
      // Row 0 is the scored transaction; the scorer appends its occlusion rows (one feature at its baseline
      // each) after it in the same request, and those are not traffic: counting them would skew every feature.
      if (n < 1) {
        skipped++;
        continue;
      }
      const taken = take === 'all' ? n : 1;
      for (let i = 0; i < taken; i++) rows.push(input.data.slice(i * width, (i + 1) * width));
      if (out && out.data.length === n) scores.push(...out.data.slice(0, taken));
    } catch {
      skipped++;
    }
  }
  return { rows, scores, skipped };
}
