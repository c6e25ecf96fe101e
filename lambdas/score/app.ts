// Assembles the score handler: env → adapters → the core inside the shared HTTP middy stack. The core is idempotent
// per transactionId through the audit record's conditional write (docs/decisions/0002-score-idempotency.md); its
// events and decision-log line leave through the outbox (docs/decisions/0004-decision-outbox.md).
import type { z } from 'zod';
import type { AnyModelModule } from '../../models/shared/module.js';
import { dynamoDocumentClient, sageMakerRuntimeClient } from '../shared/aws.js';
import { ScoreRequest } from '../shared/contracts/api.js';
import { CommonEnv, envInt, envNumber, envNumberRecord, envString, parseEnv } from '../shared/env.js';
import { type HttpHandler, httpHandler } from '../shared/http.js';
import { createPowertools, type Powertools } from '../shared/powertools.js';
import { DynamoDecisionStore, DynamoFeatureReader, SageMakerModelEndpoint } from './adapters.js';
import { createModelPolicy, type ScoreConfig, type ScorePorts, scoreTransaction, validateConfig } from './core.js';

export const ScoreEnv = CommonEnv.extend({
  FEATURES_TABLE: envString(),
  DECISIONS_TABLE: envString(),
  MODEL_ENDPOINT_NAME: envString(),
  MODEL_NAME: envString(),
  MODEL_TIMEOUT_MS: envInt(1),
  /** The model policy's thresholds as JSON (the environments table's `thresholds`). */
  MODEL_THRESHOLDS: envNumberRecord(),
  DECISION_TTL_DAYS: envNumber(),
});
export type ScoreEnv = z.infer<typeof ScoreEnv>;

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
  const e = parseEnv(ScoreEnv, env);
  const powertools = createPowertools();
  const { tracer, logger, metrics } = powertools;
  const doc = dynamoDocumentClient();
  tracer.captureAWSv3Client(doc);
  const config: ScoreConfig = {
    module,
    modelName: e.MODEL_NAME,
    thresholds: e.MODEL_THRESHOLDS,
    decisionTtlDays: e.DECISION_TTL_DAYS,
  };
  validateConfig(config);
  const modelPolicy = createModelPolicy({ timeoutMs: e.MODEL_TIMEOUT_MS });
  modelPolicy.breaker.onStateChange((state) => logger.warn('model circuit breaker changed state', { state }));
  const ports: ScorePorts = {
    features: new DynamoFeatureReader(doc, e.FEATURES_TABLE, module.entities),
    model: new SageMakerModelEndpoint({
      client: tracer.captureAWSv3Client(sageMakerRuntimeClient({ requestTimeoutMs: e.MODEL_TIMEOUT_MS * 2 })),
      endpointName: e.MODEL_ENDPOINT_NAME,
      modelName: e.MODEL_NAME,
    }),
    modelPolicy: modelPolicy.policy,
    decisions: new DynamoDecisionStore(doc, e.DECISIONS_TABLE),
    observer: scoreObserver(powertools),
  };
  // A default dimension survives every flush (addDimension would be cleared after the first invocation's publish),
  // so the degraded-decision alarm sees every decision per model.
  metrics.setDefaultDimensions({ model: e.MODEL_NAME });
  return { powertools, ports, config };
}

/** Logs and counts what the core reports without failing the request. */
export function scoreObserver({ logger, metrics }: Powertools): NonNullable<ScorePorts['observer']> {
  return {
    fallback: (reason, error) => {
      logger.warn('model unavailable, rules fallback', { reason, error: error as Error });
      metrics.addMetric('ModelFallback', 'Count', 1);
    },
  };
}

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
