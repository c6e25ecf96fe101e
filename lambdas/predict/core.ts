// The predict use case, generic over a model module: request → entity states → features → model (timeout + circuit
// breaker, baseline fallback) → the model's own output policy → explanation by occlusion → audit record. Pure apart
// from its ports. The audit record is the one durable write: its PredictionMade event is derived from it by the
// outbox (lambdas/outbox), as a decision's events are.
import type { AnyModelModule } from '../../models/shared/module.js';
import { type PredictionRecord, type PredictResponse, predictionAuditId } from '../shared/contracts/api.js';
import { ConflictError } from '../shared/errors.js';
import {
  explainedScore,
  type FeatureReader,
  featureHash,
  type InferencePorts,
  requestHash,
  round,
  validateExplanation,
} from '../shared/inference.js';

/** Port: the audit records of predictions (in the decisions table, keyed by audit id). */
export interface PredictionStore {
  /** Writes the record unless one exists under its audit id; returns the existing one instead of overwriting. */
  putIfAbsent(record: PredictionRecord): Promise<{ created: true } | { created: false; existing: PredictionRecord }>;
}

export interface PredictPorts extends InferencePorts {
  readonly features: FeatureReader;
  readonly predictions: PredictionStore;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Monotonic milliseconds for latency. @default performance.now */
  readonly clock?: () => number;
}

export interface PredictConfig {
  /** The model this route serves: request schema, entities, features, baseline, output policy, explanation. */
  readonly module: AnyModelModule;
  /** The model's name when the endpoint does not report one (the manifest's name). */
  readonly modelName: string;
  /** The environment's thresholds for the module's policy (checked by `policy.validate`). */
  readonly thresholds: unknown;
  /** How long audit records are kept. */
  readonly auditTtlDays: number;
  /** Attributions returned. @default 5 */
  readonly explainTopK?: number;
}

/** Throws when the config cannot serve the route (read at cold start, so a bad deploy fails loudly). */
export function validatePredictConfig(config: PredictConfig): void {
  const { module } = config;
  if (module.name !== config.modelName) {
    throw new Error(`the bundled module is ${module.name} but the route serves ${config.modelName}`);
  }
  module.policy.validate(config.thresholds);
  if (!(config.auditTtlDays > 0)) throw new Error(`auditTtlDays must be positive, got ${config.auditTtlDays}`);
  validateExplanation(module);
}

const toResponse = ({ auditId, prediction, degraded, reasons, explanation, model, latencyMs }: PredictionRecord) => ({
  auditId,
  prediction,
  degraded,
  reasons,
  explanation,
  model,
  latencyMs,
});

/**
 * Predicts for one request already validated by `module.request`. Idempotent per idempotency key: when an audit
 * record exists under the key, the same request gets the stored prediction back; another request is a ConflictError.
 */
export async function predict(
  request: Record<string, unknown>,
  idempotencyKey: string,
  ports: PredictPorts,
  config: PredictConfig,
): Promise<PredictResponse> {
  const clock = ports.clock ?? (() => performance.now());
  const now = ports.now ?? (() => new Date());
  const started = clock();
  const { module } = config;
  const auditId = predictionAuditId(config.modelName, idempotencyKey);
  const hash = requestHash(request);

  const states = await ports.features.read(request);
  const vector = module.features.compute(request, states);
  const reasons = [...module.baseline.score(vector, request).reasons];
  const scored = await explainedScore(request, vector, ports, {
    module,
    modelName: config.modelName,
    inferenceId: auditId,
    topK: config.explainTopK ?? 5,
  });

  const predictedAt = now();
  const record: PredictionRecord = {
    transactionId: auditId,
    kind: 'prediction',
    auditId,
    modelName: config.modelName,
    idempotencyKey,
    request,
    prediction: { score: scored.score, outcome: module.policy.decide(scored.score, config.thresholds) },
    degraded: scored.degraded,
    reasons,
    explanation: scored.explanation,
    model: scored.model,
    features: Object.fromEntries(module.features.names.map((name, i) => [name, vector[i] as number])),
    featureHash: featureHash(vector),
    requestHash: hash,
    latencyMs: round(clock() - started, 2),
    predictedAt: predictedAt.toISOString(),
    expiresAt: Math.floor(predictedAt.getTime() / 1000) + Math.round(config.auditTtlDays * 86_400),
  };

  const put = await ports.predictions.putIfAbsent(record);
  if (!put.created) {
    if (put.existing.requestHash !== hash) {
      throw new ConflictError(`idempotency key ${idempotencyKey} was already used with a different body`);
    }
    return toResponse(put.existing);
  }
  return toResponse(record);
}
