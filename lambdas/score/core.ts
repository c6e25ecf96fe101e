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
  type Attribution,
  DECISIONS,
  type Decision,
  decide,
  type ModelRef,
} from '../../models/shared/contracts/decision.js';
import type { Transaction } from '../../models/shared/contracts/transaction.js';
import type { AnyModelModule } from '../../models/shared/module.js';
import type { DecisionStore } from '../shared/adapters/decision-store.js';
import type { DecisionRecord, ScoreResponse } from '../shared/contracts/api.js';
import { ConflictError } from '../shared/errors.js';

/** Port: the online state of every entity the model keys by the request (e.g. customer, merchant), by entity kind;
 *  the entity's empty state when it was never seen. */
export interface FeatureReader {
  read(request: Transaction): Promise<Record<string, unknown>>;
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
  /**
   * The model this route serves: its features, baseline scorer (the fallback and every answer's reasons), output
   * policy and explanation reference. Its outcomes must be decisions: the domain route answers in those.
   */
  readonly module: AnyModelModule;
  /** The model's name when the endpoint does not report one. */
  readonly modelName: string;
  /** The environment's thresholds for the module's policy (checked by `policy.validate`). */
  readonly thresholds: unknown;
  /** How long audit records are kept. */
  readonly decisionTtlDays: number;
  /** Attributions returned. @default 5 */
  readonly explainTopK?: number;
}

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

const isDecision = (outcome: string): outcome is Decision => (DECISIONS as readonly string[]).includes(outcome);

/**
 * Throws when the config cannot serve the route (read at cold start, so a bad deploy fails loudly): thresholds the
 * model's policy refuses, outcomes that are not decisions, an explanation reference without a finite value per feature.
 */
export function validateConfig(config: ScoreConfig): void {
  const { module } = config;
  module.policy.validate(config.thresholds);
  const foreign = module.policy.outcomes.filter((o) => !isDecision(o));
  if (foreign.length > 0) {
    throw new Error(
      `model ${module.name} decides ${foreign.join(', ')}: the score route answers in ${DECISIONS.join(', ')}`,
    );
  }
  if (!(config.decisionTtlDays > 0)) throw new Error(`decisionTtlDays must be positive, got ${config.decisionTtlDays}`);
  module.features.names.forEach((name, i) => {
    if (!Number.isFinite(module.explanation.reference[i])) {
      throw new Error(`the explanation reference of ${module.name} has no finite value for '${name}'`);
    }
  });
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
    explanation: topAttributions(config.module.features.names, original, occluded, topK),
  };
}

/** The baseline's score, explained by the same occlusion over the baseline (pure, so it costs no call). */
function scoreWithBaseline(
  txn: Transaction,
  vector: number[],
  baselineVector: number[],
  module: AnyModelModule,
  topK: number,
): Scored {
  const score = module.baseline.score(vector, txn).score;
  const occluded = occlusionRows(vector, baselineVector)
    .slice(1)
    .map((row) => module.baseline.score(row, txn).score);
  return {
    score,
    degraded: true,
    model: module.baseline.model,
    explanation: topAttributions(module.features.names, score, occluded, topK),
  };
}

/** The decision the model's policy makes of `score`; an outcome that is no decision is a broken module. */
function decisionOf(score: number, config: ScoreConfig): Decision {
  const outcome = config.module.policy.decide(score, config.thresholds);
  if (!isDecision(outcome)) throw new Error(`model ${config.module.name} decided '${outcome}', which is no decision`);
  return outcome;
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

  const { module } = config;
  const states = await ports.features.read(txn);
  const vector = module.features.compute(txn, states);
  const baselineVector = [...module.explanation.reference];
  const features = Object.fromEntries(module.features.names.map((name, i) => [name, vector[i] as number]));
  // The baseline's reasons are the human-readable part of every answer, model or not; they cost microseconds.
  const reasons = [...module.baseline.score(vector, txn).reasons];

  let scored: Scored;
  try {
    scored = await scoreWithModel(txn, vector, baselineVector, ports, config, topK);
  } catch (error) {
    ports.observer?.fallback?.(fallbackReason(error), error);
    scored = scoreWithBaseline(txn, vector, baselineVector, module, topK);
  }

  const decidedAt = now();
  const record: DecisionRecord = {
    transactionId: txn.transactionId,
    customerId: txn.customerId,
    transaction: txn,
    decision: decisionOf(scored.score, config),
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
