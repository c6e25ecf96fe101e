// What every route that serves one model (POST /v1/score, POST /v1/models/<name>/predict) reads from its environment
// and builds from it once per cold start: the features reader over the model's entities, the endpoint adapter, the
// resilience policy around it, and an observer that logs and counts baseline fallbacks.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import type { AnyModelModule } from '../../models/shared/module.js';
import { DynamoFeatureReader } from './adapters/feature-reader.js';
import { SageMakerModelEndpoint } from './adapters/model-endpoint.js';
import { dynamoDocumentClient, sageMakerRuntimeClient } from './aws.js';
import { CommonEnv, envInt, envNumber, envNumberRecord, envString, parseEnv } from './env.js';
import { createModelPolicy, type InferenceObserver, type InferencePorts } from './inference.js';
import { createPowertools, type Powertools } from './powertools.js';

export const ModelRouteEnv = CommonEnv.extend({
  FEATURES_TABLE: envString(),
  DECISIONS_TABLE: envString(),
  MODEL_ENDPOINT_NAME: envString(),
  /** The inference component to invoke, when the endpoint is built from one (idle-to-zero endpoints, ADR 0005). */
  MODEL_INFERENCE_COMPONENT: envString().optional(),
  MODEL_NAME: envString(),
  MODEL_TIMEOUT_MS: envInt(1),
  /** The model policy's thresholds as JSON (the environments table's `thresholds`). */
  MODEL_THRESHOLDS: envNumberRecord(),
  /** Days an audit record (decision or prediction) is kept: the decisions table's TTL. */
  DECISION_TTL_DAYS: envNumber(),
});
export type ModelRouteEnv = z.infer<typeof ModelRouteEnv>;

/** The adapters and settings a model route assembles its ports from. */
export interface ModelRoute extends InferencePorts {
  readonly env: ModelRouteEnv;
  readonly powertools: Powertools;
  /** The traced DynamoDB client (the audit store uses it too). */
  readonly doc: DynamoDBDocumentClient;
  readonly features: DynamoFeatureReader;
  readonly observer: InferenceObserver;
}

/** Parses the environment and builds the model route's shared adapters for `module` (cold start). */
export function modelRouteFromEnv(
  module: AnyModelModule,
  env: Readonly<Record<string, string | undefined>>,
  fallbackMessage: string,
): ModelRoute {
  const e = parseEnv(ModelRouteEnv, env);
  const powertools = createPowertools();
  const { tracer, logger, metrics } = powertools;
  const doc = dynamoDocumentClient();
  tracer.captureAWSv3Client(doc);
  const modelPolicy = createModelPolicy({ timeoutMs: e.MODEL_TIMEOUT_MS });
  modelPolicy.breaker.onStateChange((state) => logger.warn('model circuit breaker changed state', { state }));
  // A default dimension survives every flush (addDimension would be cleared after the first invocation's publish),
  // so the degraded-answer alarms see every answer per model.
  metrics.setDefaultDimensions({ model: e.MODEL_NAME });
  return {
    env: e,
    powertools,
    doc,
    features: new DynamoFeatureReader(doc, e.FEATURES_TABLE, module.entities),
    model: new SageMakerModelEndpoint({
      client: tracer.captureAWSv3Client(sageMakerRuntimeClient({ requestTimeoutMs: e.MODEL_TIMEOUT_MS * 2 })),
      endpointName: e.MODEL_ENDPOINT_NAME,
      ...(e.MODEL_INFERENCE_COMPONENT ? { inferenceComponentName: e.MODEL_INFERENCE_COMPONENT } : {}),
      modelName: e.MODEL_NAME,
    }),
    modelPolicy: modelPolicy.policy,
    observer: fallbackObserver(powertools, fallbackMessage),
  };
}

/** Logs and counts (`ModelFallback`) what the core reports without failing the request. */
export function fallbackObserver({ logger, metrics }: Powertools, message: string): InferenceObserver {
  return {
    fallback: (reason, error) => {
      logger.warn(message, { reason, error: error as Error });
      metrics.addMetric('ModelFallback', 'Count', 1);
    },
  };
}
