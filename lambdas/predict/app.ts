// Assembles the predict handler of one real-time model: env → adapters → the core inside the shared HTTP middy stack.
// The body is validated by the model's own request schema, the idempotency key read from its header.
import type { z } from 'zod';
import type { AnyModelModule } from '../../models/shared/module.js';
import { dynamoDocumentClient, sageMakerRuntimeClient } from '../shared/aws.js';
import { IDEMPOTENCY_KEY_HEADER, PredictHeaders } from '../shared/contracts/api.js';
import { CommonEnv, envInt, envNumber, envNumberRecord, envString, parseEnv } from '../shared/env.js';
import { ValidationError, zodDetails } from '../shared/errors.js';
import { type HttpHandler, httpHandler } from '../shared/http.js';
import { createModelPolicy, type InferenceObserver } from '../shared/inference.js';
import { createPowertools, type Powertools } from '../shared/powertools.js';
import { DynamoFeatureReader, DynamoPredictionStore, SageMakerModelEndpoint } from './adapters.js';
import { type PredictConfig, type PredictPorts, predict, validatePredictConfig } from './core.js';

export const PredictEnv = CommonEnv.extend({
  FEATURES_TABLE: envString(),
  DECISIONS_TABLE: envString(),
  MODEL_ENDPOINT_NAME: envString(),
  MODEL_NAME: envString(),
  MODEL_TIMEOUT_MS: envInt(1),
  /** The model policy's thresholds as JSON (the environments table's `thresholds`). */
  MODEL_THRESHOLDS: envNumberRecord(),
  /** Days a prediction's audit record is kept (the decisions table's TTL, as for decisions). */
  DECISION_TTL_DAYS: envNumber(),
});
export type PredictEnv = z.infer<typeof PredictEnv>;

export interface PredictDeps {
  readonly powertools: Powertools;
  readonly ports: PredictPorts;
  readonly config: PredictConfig;
}

/** Everything the handler needs for `module` (the model the route serves), from the environment (cold start). */
export function predictDepsFromEnv(
  module: AnyModelModule,
  env: Readonly<Record<string, string | undefined>> = process.env,
): PredictDeps {
  const e = parseEnv(PredictEnv, env);
  const powertools = createPowertools();
  const { tracer, logger, metrics } = powertools;
  const doc = dynamoDocumentClient();
  tracer.captureAWSv3Client(doc);
  const config: PredictConfig = {
    module,
    modelName: e.MODEL_NAME,
    thresholds: e.MODEL_THRESHOLDS,
    auditTtlDays: e.DECISION_TTL_DAYS,
  };
  validatePredictConfig(config);
  const modelPolicy = createModelPolicy({ timeoutMs: e.MODEL_TIMEOUT_MS });
  modelPolicy.breaker.onStateChange((state) => logger.warn('model circuit breaker changed state', { state }));
  // A default dimension survives every flush, so the degraded-prediction alarm sees every prediction per model.
  metrics.setDefaultDimensions({ model: e.MODEL_NAME });
  return {
    powertools,
    config,
    ports: {
      features: new DynamoFeatureReader(doc, e.FEATURES_TABLE, module.entities),
      model: new SageMakerModelEndpoint({
        client: tracer.captureAWSv3Client(sageMakerRuntimeClient({ requestTimeoutMs: e.MODEL_TIMEOUT_MS * 2 })),
        endpointName: e.MODEL_ENDPOINT_NAME,
        modelName: e.MODEL_NAME,
      }),
      modelPolicy: modelPolicy.policy,
      predictions: new DynamoPredictionStore(doc, e.DECISIONS_TABLE),
      observer: predictObserver(powertools),
    },
  };
}

/** Logs and counts the baseline fallbacks without failing the request. */
export function predictObserver({ logger, metrics }: Powertools): InferenceObserver {
  return {
    fallback: (reason, error) => {
      logger.warn('model unavailable, baseline fallback', { reason, error: error as Error });
      metrics.addMetric('ModelFallback', 'Count', 1);
    },
  };
}

/** The idempotency key from the request headers (any case); a ValidationError when it is missing or malformed. */
export function idempotencyKeyOf(headers: Readonly<Record<string, string | undefined>> | null): string {
  const lower = Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const parsed = PredictHeaders.safeParse(lower);
  if (!parsed.success) {
    throw new ValidationError(`the ${IDEMPOTENCY_KEY_HEADER} header is required`, zodDetails(parsed.error));
  }
  return parsed.data[IDEMPOTENCY_KEY_HEADER];
}

/** The POST /v1/models/<name>/predict handler over the given dependencies (tests pass in-memory ports). */
export function createPredictHandler(deps: PredictDeps): HttpHandler {
  const { metrics } = deps.powertools;
  return httpHandler({ powertools: deps.powertools, body: deps.config.module.request }, async ({ body, event }) => {
    const started = performance.now();
    const response = await predict(
      body as Record<string, unknown>,
      idempotencyKeyOf(event.headers),
      deps.ports,
      deps.config,
    );
    metrics.addMetric('Predictions', 'Count', 1);
    metrics.addMetric(`Prediction_${response.prediction.outcome}`, 'Count', 1);
    metrics.addMetric('PredictLatency', 'Milliseconds', performance.now() - started);
    return response;
  });
}
