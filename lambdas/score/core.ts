// The score use case: features → model (timeout + circuit breaker, rules fallback) → decision → explanation →
// audit record (the inference pieces live in lambdas/shared/inference.ts). Pure apart from its ports. The audit record is the one durable write: the decision's events and its
// decision-log line are derived from it by the outbox (lambdas/outbox, docs/decisions/0004-decision-outbox.md).
import { DECISIONS, type Decision } from '../../models/shared/contracts/decision.js';
import type { Transaction } from '../../models/shared/contracts/transaction.js';
import type { AnyModelModule } from '../../models/shared/module.js';
import type { DecisionStore } from '../shared/adapters/decision-store.js';
import type { DecisionRecord, ScoreResponse } from '../shared/contracts/api.js';
import { ConflictError } from '../shared/errors.js';
import {
  explainedScore,
  type FeatureReader,
  featureHash,
  type InferenceObserver,
  type InferencePorts,
  requestHash,
  round,
  validateExplanation,
} from '../shared/inference.js';

export interface ScorePorts extends InferencePorts {
  readonly features: FeatureReader;
  readonly decisions: DecisionStore;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Monotonic milliseconds for latency. @default performance.now */
  readonly clock?: () => number;
}

/** What the score route tells about failures that do not change the answer (the rules fallback). */
export type ScoreObserver = InferenceObserver;

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
  validateExplanation(module);
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
  const features = Object.fromEntries(module.features.names.map((name, i) => [name, vector[i] as number]));
  // The baseline's reasons are the human-readable part of every answer, model or not; they cost microseconds.
  const reasons = [...module.baseline.score(vector, txn).reasons];
  const scored = await explainedScore(txn, vector, ports, {
    module,
    modelName: config.modelName,
    inferenceId: txn.transactionId,
    topK,
  });

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
