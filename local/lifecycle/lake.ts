// Local history and traffic for the lifecycle: labelled decisions in the lake as the score service (via Firehose) and
// the feedback service (ground truth) would have written them days ago, and drifted live traffic sent to the endpoint
// as the score service sends it (one InvokeEndpoint per transaction, InferenceId = transaction id).
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { groundTruthLine } from '../../lambdas/feedback/core.js';
import { buildRows } from '../../models/fraud-detector/src/dataset.js';
import { FEATURE_NAMES } from '../../models/fraud-detector/src/features.js';
import { type DriftOptions, simulate } from '../../models/shared/simulator/simulate.js';
import type { LocalTemplate } from '../types.js';
import type { LocalS3 } from './s3.js';

const DAY = 86_400_000;

/**
 * The history and traffic here are the fraud simulator's transactions and features: a served model whose manifest
 * lists other features cannot be fed from them, and is refused rather than sent rows it cannot read.
 */
export function assertSimulatorFeeds(model: { readonly name: string; readonly features: readonly string[] }): void {
  if (model.features.join(',') !== FEATURE_NAMES.join(',')) {
    throw new Error(
      `${model.name} does not read the transaction simulator's features (${FEATURE_NAMES.length} fraud features): ` +
        'the local lake seeding and drift traffic only feed models that do',
    );
  }
}
const pad = (n: number) => String(n).padStart(2, '0');

export interface SeedLakeOptions {
  /** Days of history. @default 20 */
  readonly days?: number;
  /** The newest day is this many days ago (the dataset query reads 30 to 7 days back). @default 8 */
  readonly endDaysAgo?: number;
  /** Simulated customers (≈ 2.2 transactions each per day). @default 400 */
  readonly customers?: number;
  /** @default 7 */
  readonly seed?: number;
  /** Drift knobs of the simulator for this history. @default none */
  readonly drift?: DriftOptions;
  /** Give the labels to random transactions: a lake from which nothing can be learned (gate tests). @default false */
  readonly shuffleLabels?: boolean;
  /** Fraud share of transactions. @default 0.01 */
  readonly fraudRate?: number;
  /** Merchants compromised (the simulator's knob: probes, then a burst of stolen cards), per physical merchant and
   *  day; their labelled transactions are what merchant-day labels are derived from. @default none */
  readonly merchantCompromise?: { readonly rate: number };
}

export interface SeedLakeResult {
  readonly decisions: number;
  readonly labels: number;
  readonly frauds: number;
  readonly from: string;
  readonly to: string;
}

/** The table's storage.location.template with its partition filled in (`s3://…/decisions/dt=${dt}/` → dt). */
function tableLocation(template: LocalTemplate, name: string, partition: string): string {
  const table = template
    .ofType('AWS::Glue::Table')
    .find((t) => (t.properties.TableInput as { Name?: string })?.Name === name);
  const input = table?.properties.TableInput as { Parameters?: Record<string, string> } | undefined;
  const location = input?.Parameters?.['storage.location.template'];
  if (!location) throw new Error(`the template has no Glue table '${name}' with a storage.location.template`);
  return location.replace(/\$\{[^}]+\}/, partition);
}

/** Scores rows with a model server directly (history is not live traffic: it must not reach data capture). */
export async function scoreRows(modelUrl: string, rows: readonly (readonly number[])[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < rows.length; i += 256) {
    const batch = rows.slice(i, i + 256);
    const response = await fetch(`${modelUrl}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'features', shape: [batch.length, FEATURE_NAMES.length], datatype: 'FP32', data: batch.flat() },
        ],
      }),
    });
    if (!response.ok) throw new Error(`the model server answered ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { outputs: { data: number[] }[] };
    out.push(...(body.outputs[0]?.data ?? []));
  }
  return out;
}

export async function seedLake(
  deps: { template: LocalTemplate; s3: LocalS3; championUrl: string; modelName: string; modelVersion: string },
  options: SeedLakeOptions = {},
): Promise<SeedLakeResult> {
  const days = options.days ?? 20;
  const endDaysAgo = options.endDaysAgo ?? 8;
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const start = new Date(today - (endDaysAgo + days - 1) * DAY).toISOString().slice(0, 10);
  const sim = simulate({
    seed: options.seed ?? 7,
    days,
    customers: options.customers ?? 400,
    start,
    fraudRate: options.fraudRate ?? 0.01,
    ...(options.drift ? { drift: options.drift } : {}),
    ...(options.merchantCompromise ? { merchantCompromise: options.merchantCompromise } : {}),
  });
  const truth = new Map(sim.truth.map((t) => [t.transactionId, t.isFraud]));
  const rows = buildRows(sim.transactions, truth, { warmupDays: 1 });
  const scores = await scoreRows(
    deps.championUrl,
    rows.map((r) => r.features),
  );
  const byId = new Map(sim.transactions.map((t) => [t.transactionId, t]));
  const partitions = new Map<string, string[]>();
  rows.forEach((row, i) => {
    const score = scores[i] ?? 0;
    const record = {
      transactionId: row.transactionId,
      customerId: byId.get(row.transactionId)?.customerId,
      transaction: byId.get(row.transactionId),
      decision: score >= 0.9 ? 'decline' : score >= 0.5 ? 'review' : 'approve',
      score,
      degraded: false,
      reasons: [],
      explanation: [],
      model: { name: deps.modelName, version: deps.modelVersion },
      features: Object.fromEntries(FEATURE_NAMES.map((n, j) => [n, row.features[j] as number])),
      latencyMs: 0,
      decidedAt: row.eventTime,
    };
    const dt = row.eventTime.slice(0, 10);
    const list = partitions.get(dt) ?? [];
    list.push(JSON.stringify(record));
    partitions.set(dt, list);
  });
  for (const [dt, lines] of partitions) {
    const prefix = tableLocation(deps.template, 'decisions', dt);
    await deps.s3.put(`${prefix}seed-${randomUUID()}.gz`, gzipSync(`${lines.join('\n')}\n`), 'application/gzip');
  }
  // Ground truth: the labels the simulator's chargebacks report, in the hour they were reported.
  const emitted = new Set(rows.map((r) => r.transactionId));
  let labels = sim.labels.filter((l) => emitted.has(l.transactionId));
  if (options.shuffleLabels) {
    const ids = [...emitted];
    let state = options.seed ?? 7;
    labels = labels.map((l) => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return { ...l, transactionId: ids[state % ids.length] as string };
    });
  }
  const hours = new Map<string, string[]>();
  for (const label of labels) {
    // Chargebacks reported after "now" have not arrived yet.
    const at = Math.min(Date.parse(label.reportedAt), Date.now() - 3_600_000);
    const d = new Date(at);
    const hour = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}`;
    const list = hours.get(hour) ?? [];
    list.push(groundTruthLine(label));
    hours.set(hour, list);
  }
  for (const [hour, lines] of hours) {
    await deps.s3.put(
      `${tableLocation(deps.template, 'ground_truth', hour)}${randomUUID()}.jsonl`,
      `${lines.join('\n')}\n`,
    );
  }
  return {
    decisions: rows.length,
    labels: labels.length,
    frauds: labels.filter((l) => l.isFraud).length,
    from: rows[0]?.eventTime ?? start,
    to: rows[rows.length - 1]?.eventTime ?? start,
  };
}

export interface DriftTrafficOptions {
  /** Transactions to send. @default 600 (the drift check judges a window from 500 samples) */
  readonly count?: number;
  /** The simulator's drift knobs. @default { amountShift: 3, newMerchantShare: 0.6 } */
  readonly drift?: DriftOptions;
  /** @default 11 */
  readonly seed?: number;
}

/** Sends simulated, drifted transactions to the endpoint as the score service would (one row, InferenceId). */
export async function sendDriftedTraffic(
  deps: { endpointUrl: string; endpointName: string },
  options: DriftTrafficOptions = {},
): Promise<{ sent: number; failed: number }> {
  const count = options.count ?? 600;
  const drift = options.drift ?? { amountShift: 3, newMerchantShare: 0.6 };
  const customers = Math.max(50, Math.ceil(count / 4));
  const sim = simulate({ seed: options.seed ?? 11, days: 3, customers, drift: { fromDay: 0, ...drift } });
  const truth = new Map(sim.truth.map((t) => [t.transactionId, t.isFraud]));
  const rows = buildRows(sim.transactions, truth, { warmupDays: 1 }).slice(-count);
  let failed = 0;
  for (const row of rows) {
    const response = await fetch(`${deps.endpointUrl}/endpoints/${deps.endpointName}/invocations`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'x-amzn-sagemaker-inference-id': row.transactionId,
      },
      body: JSON.stringify({
        inputs: [{ name: 'features', shape: [1, row.features.length], datatype: 'FP32', data: row.features }],
      }),
    }).catch(() => undefined);
    if (!response?.ok) failed++;
    await response?.arrayBuffer();
  }
  return { sent: rows.length, failed };
}
