// The score use case: features → model (timeout + circuit breaker, rules fallback) → decision → explanation →
// audit record. Pure apart from its ports. The audit record is the one durable write: the decision's events and its
// decision-log line are derived from it by the outbox (lambdas/outbox, docs/decisions/0004-decision-outbox.md).
import { createHash } from 'node:crypto';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  type IPolicy,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import {
  type CustomerState,
  computeFeatures,
  FEATURE_NAMES,
  type FeatureName,
  featureRecord,
  type MerchantState,
} from '../../models/fraud-detector/src/features.js';
import { rulesScore } from '../../models/fraud-detector/src/rules.js';
import { type Attribution, decide, type ModelRef } from '../../models/shared/contracts/decision.js';
import type { Transaction } from '../../models/shared/contracts/transaction.js';
import type { DecisionStore } from '../shared/adapters/decision-store.js';
import type { DecisionRecord, ScoreResponse } from '../shared/contracts/api.js';
import { ConflictError } from '../shared/errors.js';

/** Port: the online feature state of the transaction's customer and merchant (empty state when unseen). */
export interface FeatureReader {
  read(customerId: string, merchantId: string): Promise<{ customer: CustomerState; merchant: MerchantState }>;
}

/** Port: the model endpoint. One call scores every row; `signal` aborts it when the timeout fires. */
export interface ModelEndpoint {
  invoke(
    rows: readonly (readonly number[])[],
    options: { inferenceId: string; signal: AbortSignal },
  ): Promise<{ scores: number[]; model: ModelRef }>;
}

export interface ScorePorts {
  readonly features: FeatureReader;
  readonly model: ModelEndpoint;
  /** Built once per process with `createModelPolicy`: the breaker's state must outlive one invocation. */
  readonly modelPolicy: IPolicy;
  readonly decisions: DecisionStore;
  /** Told about failures that do not change the answer (the rules fallback), for logs and metrics. */
  readonly observer?: ScoreObserver;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Monotonic milliseconds for latency. @default performance.now */
  readonly clock?: () => number;
}

export interface ScoreObserver {
  fallback?(reason: FallbackReason, error: unknown): void;
}

export type FallbackReason = 'timeout' | 'circuit_open' | 'error';

export interface ScoreConfig {
  /** The model's name when the endpoint does not report one. */
  readonly modelName: string;
  readonly reviewThreshold: number;
  readonly declineThreshold: number;
  /** How long audit records are kept. */
  readonly decisionTtlDays: number;
  /** The reference value of each feature for occlusion (see baseline.ts). */
  readonly baseline: Readonly<Record<FeatureName, number>>;
  /** Attributions returned. @default 5 */
  readonly explainTopK?: number;
}

/** How the fallback scorer is named in responses and the audit record. */
export const RULES_MODEL: ModelRef = { name: 'rules', version: '1' };

export interface ModelPolicyOptions {
  readonly timeoutMs: number;
  /** Consecutive failures that open the circuit. @default 5 */
  readonly breakAfter?: number;
  /** How long the circuit stays open before one trial call (half-open). @default 10_000 */
  readonly halfOpenAfterMs?: number;
}

/**
 * The resilience policy around the model call: a circuit breaker outside an aggressive timeout, so a timed-out call
 * counts as a failure and an open circuit fails fast without waiting.
 */
export function createModelPolicy(options: ModelPolicyOptions) {
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: options.halfOpenAfterMs ?? 10_000,
    breaker: new ConsecutiveBreaker(options.breakAfter ?? 5),
  });
  const policy = wrap(breaker, timeout(options.timeoutMs, TimeoutStrategy.Aggressive));
  return { policy, breaker, isOpen: () => breaker.state === CircuitState.Open };
}

/** The shared decision policy (the shadow comparison applies it too). */
export { decide };

/** Throws when thresholds are not 0 ≤ review ≤ decline ≤ 1 (read at cold start, so a bad deploy fails loudly). */
export function validateConfig(config: ScoreConfig): void {
  const { reviewThreshold: r, declineThreshold: d } = config;
  if (!(r >= 0 && r <= d && d <= 1)) {
    throw new Error(`thresholds must satisfy 0 <= REVIEW_THRESHOLD <= DECLINE_THRESHOLD <= 1, got ${r} and ${d}`);
  }
  if (!(config.decisionTtlDays > 0)) throw new Error(`decisionTtlDays must be positive, got ${config.decisionTtlDays}`);
  for (const name of FEATURE_NAMES) {
    if (!Number.isFinite(config.baseline[name])) throw new Error(`baseline has no finite value for '${name}'`);
  }
}

/**
 * The model's rows for occlusion: row 0 is the transaction, row i+1 has feature i replaced by its baseline.
 * One batched call scores them all.
 */
export function occlusionRows(vector: readonly number[], baseline: readonly number[]): number[][] {
  const rows: number[][] = [[...vector]];
  vector.forEach((_, i) => {
    const row = [...vector];
    row[i] = baseline[i] as number;
    rows.push(row);
  });
  return rows;
}

/**
 * Attributions from occlusion scores: contribution of feature i = score(x) − score(x with i at baseline).
 * Features equal to their baseline (contribution exactly 0) are left out; ties keep feature order.
 */
export function topAttributions(
  names: readonly string[],
  original: number,
  occluded: readonly number[],
  k: number,
): Attribution[] {
  return (
    names
      // Rounded before ranking so float noise (0.5 − 0.8 vs 0.5 − 0.2) cannot break a tie.
      .map((feature, i) => ({ feature, contribution: round(original - (occluded[i] as number)), i }))
      .filter((a) => a.contribution !== 0 && Number.isFinite(a.contribution))
      .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.i - b.i)
      .slice(0, k)
      .map(({ feature, contribution }) => ({ feature, contribution }))
  );
}

/** sha256 of the vector as little-endian Float32: what the model was sent, independent of JSON formatting. */
export function featureHash(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => {
    bytes.writeFloatLE(v, i * 4);
  });
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of the request with keys sorted, so key order or whitespace never makes a retry look different. */
export function requestHash(txn: Transaction): string {
  return createHash('sha256').update(canonicalJson(txn)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const round = (x: number, digits = 6) => Number(x.toFixed(digits));

function fallbackReason(error: unknown): FallbackReason {
  if (error instanceof BrokenCircuitError) return 'circuit_open';
  if (error instanceof TaskCancelledError) return 'timeout';
  return 'error';
}

interface Scored {
  score: number;
  degraded: boolean;
  model: ModelRef;
  explanation: Attribution[];
}

async function scoreWithModel(
  txn: Transaction,
  vector: number[],
  baselineVector: number[],
  ports: ScorePorts,
  config: ScoreConfig,
  topK: number,
): Promise<Scored> {
  const rows = occlusionRows(vector, baselineVector);
  const out = await ports.modelPolicy.execute(({ signal }) =>
    ports.model.invoke(rows, { inferenceId: txn.transactionId, signal }),
  );
  if (out.scores.length !== rows.length) {
    throw new Error(`model returned ${out.scores.length} scores for ${rows.length} rows`);
  }
  const [original, ...occluded] = out.scores as [number, ...number[]];
  return {
    score: original,
    degraded: false,
    model: { name: out.model.name || config.modelName, version: out.model.version },
    explanation: topAttributions(FEATURE_NAMES, original, occluded, topK),
  };
}

/** The rules' score, explained by the same occlusion over the rules (pure, so it costs no call). */
function scoreWithRules(txn: Transaction, vector: number[], baselineVector: number[], topK: number): Scored {
  const score = rulesScore(featureRecord(vector), txn).score;
  const occluded = occlusionRows(vector, baselineVector)
    .slice(1)
    .map((row) => rulesScore(featureRecord(row), txn).score);
  return {
    score,
    degraded: true,
    model: RULES_MODEL,
    explanation: topAttributions(FEATURE_NAMES, score, occluded, topK),
  };
}

const toResponse = (r: DecisionRecord): ScoreResponse => ({
  transactionId: r.transactionId,
  decision: r.decision,
  score: r.score,
  degraded: r.degraded,
  reasons: r.reasons,
  explanation: r.explanation,
  model: r.model,
  latencyMs: r.latencyMs,
});

/**
 * Scores one transaction. Idempotent per transactionId: when an audit record exists, the same request gets the
 * stored decision back; a different request under the same id is a ConflictError. Nothing is emitted here: the
 * written audit record is the commit point, and the outbox derives the events and the log line from it.
 */
export async function scoreTransaction(
  txn: Transaction,
  ports: ScorePorts,
  config: ScoreConfig,
): Promise<ScoreResponse> {
  const clock = ports.clock ?? (() => performance.now());
  const now = ports.now ?? (() => new Date());
  const started = clock();
  const topK = config.explainTopK ?? 5;
  const hash = requestHash(txn);

  const state = await ports.features.read(txn.customerId, txn.merchantId);
  const vector = computeFeatures(txn, state.customer, state.merchant);
  const baselineVector = FEATURE_NAMES.map((name) => config.baseline[name]);
  const features = featureRecord(vector);
  // The rules' reasons are the human-readable part of every answer, model or not; they cost microseconds.
  const reasons = rulesScore(features, txn).reasons;

  let scored: Scored;
  try {
    scored = await scoreWithModel(txn, vector, baselineVector, ports, config, topK);
  } catch (error) {
    ports.observer?.fallback?.(fallbackReason(error), error);
    scored = scoreWithRules(txn, vector, baselineVector, topK);
  }

  const decidedAt = now();
  const record: DecisionRecord = {
    transactionId: txn.transactionId,
    customerId: txn.customerId,
    transaction: txn,
    decision: decide(scored.score, config.reviewThreshold, config.declineThreshold),
    score: scored.score,
    degraded: scored.degraded,
    reasons,
    explanation: scored.explanation,
    model: scored.model,
    features,
    featureHash: featureHash(vector),
    requestHash: hash,
    latencyMs: round(clock() - started, 2),
    decidedAt: decidedAt.toISOString(),
    expiresAt: Math.floor(decidedAt.getTime() / 1000) + Math.round(config.decisionTtlDays * 86_400),
  };

  const put = await ports.decisions.putIfAbsent(record);
  if (!put.created) {
    if (put.existing.requestHash !== hash) {
      throw new ConflictError(`transaction ${txn.transactionId} was already scored with a different body`);
    }
    return toResponse(put.existing);
  }
  return toResponse(record);
}
