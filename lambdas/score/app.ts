// Assembles the score handler: env → adapters → the core inside the shared HTTP middy stack. The core is idempotent
// per transactionId through the audit record's conditional write (docs/decisions/0002-score-idempotency.md); its
// events and decision-log line leave through the outbox (docs/decisions/0004-decision-outbox.md).
import type { AnyModelModule } from '../../models/shared/module.js';
import { ScoreRequest } from '../shared/contracts/api.js';
import { type HttpHandler, httpHandler } from '../shared/http.js';
import { fallbackObserver, ModelRouteEnv, modelRouteFromEnv } from '../shared/model-route.js';
import type { Powertools } from '../shared/powertools.js';
import { DynamoDecisionStore } from './adapters.js';
import { type ScoreConfig, type ScorePorts, scoreTransaction, validateConfig } from './core.js';

/** The score route's environment: every model route's (lambdas/shared/model-route.ts). */
export const ScoreEnv = ModelRouteEnv;
export type ScoreEnv = ModelRouteEnv;

export interface ScoreDeps {
  readonly powertools: Powertools;
  readonly ports: ScorePorts;
  readonly config: ScoreConfig;
}

/** Everything the handler needs for `module` (the model the route serves), from the environment (cold start). */
export function scoreDepsFromEnv(
  module: AnyModelModule,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ScoreDeps {
  const route = modelRouteFromEnv(module, env, 'model unavailable, rules fallback');
  const { env: e, powertools } = route;
  const config: ScoreConfig = {
    module,
    modelName: e.MODEL_NAME,
    thresholds: e.MODEL_THRESHOLDS,
    decisionTtlDays: e.DECISION_TTL_DAYS,
  };
  validateConfig(config);
  const ports: ScorePorts = {
    features: route.features,
    model: route.model,
    modelPolicy: route.modelPolicy,
    decisions: new DynamoDecisionStore(route.doc, e.DECISIONS_TABLE),
    observer: route.observer,
  };
  return { powertools, ports, config };
}

/** Logs and counts what the core reports without failing the request. */
export const scoreObserver = (powertools: Powertools): NonNullable<ScorePorts['observer']> =>
  fallbackObserver(powertools, 'model unavailable, rules fallback');

/** The POST /v1/score handler over the given dependencies (tests pass fakes). */
export function createScoreHandler(deps: ScoreDeps): HttpHandler {
  return httpHandler({ powertools: deps.powertools, body: ScoreRequest }, async ({ body }) => {
    const started = performance.now();
    const response = await scoreTransaction(body, deps.ports, deps.config);
    deps.powertools.metrics.addMetric(`Decision_${response.decision}`, 'Count', 1);
    deps.powertools.metrics.addMetric('ScoreLatency', 'Milliseconds', performance.now() - started);
    return response;
  });
}
