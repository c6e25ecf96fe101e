// Assembles the predict handler of one real-time model: env → adapters → the core inside the shared HTTP middy stack.
// The body is validated by the model's own request schema, the idempotency key read from its header.
import type { AnyModelModule } from '../../models/shared/module.js';
import { IDEMPOTENCY_KEY_HEADER, PredictHeaders } from '../shared/contracts/api.js';
import { ValidationError, zodDetails } from '../shared/errors.js';
import { type HttpHandler, httpHandler } from '../shared/http.js';
import { modelRouteFromEnv } from '../shared/model-route.js';
import type { Powertools } from '../shared/powertools.js';
import { DynamoPredictionStore } from './adapters.js';
import { type PredictConfig, type PredictPorts, predict, validatePredictConfig } from './core.js';

export interface PredictDeps {
  readonly powertools: Powertools;
  readonly ports: PredictPorts;
  readonly config: PredictConfig;
}

/**
 * Everything the handler needs for `module` (the model the route serves), from the environment (cold start): the
 * variables of every model route (lambdas/shared/model-route.ts), DECISION_TTL_DAYS keeping predictions as decisions.
 */
export function predictDepsFromEnv(
  module: AnyModelModule,
  env: Readonly<Record<string, string | undefined>> = process.env,
): PredictDeps {
  const route = modelRouteFromEnv(module, env, 'model unavailable, baseline fallback');
  const { env: e, powertools } = route;
  const config: PredictConfig = {
    module,
    modelName: e.MODEL_NAME,
    thresholds: e.MODEL_THRESHOLDS,
    auditTtlDays: e.DECISION_TTL_DAYS,
  };
  validatePredictConfig(config);
  return {
    powertools,
    config,
    ports: {
      features: route.features,
      model: route.model,
      modelPolicy: route.modelPolicy,
      predictions: new DynamoPredictionStore(route.doc, e.DECISIONS_TABLE),
      observer: route.observer,
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
