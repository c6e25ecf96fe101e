// Powertools logger, tracer and metrics, built once per handler module, and the middy middlewares that inject them.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';

export interface Powertools {
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly metrics: Metrics;
}

/**
 * Builds the three utilities. Service name and namespace come from POWERTOOLS_SERVICE_NAME /
 * POWERTOOLS_METRICS_NAMESPACE (the ServiceFunction sets both); `serviceName` overrides for tools and tests.
 */
export function createPowertools(options: { serviceName?: string } = {}): Powertools {
  const serviceName = options.serviceName ?? process.env.POWERTOOLS_SERVICE_NAME;
  const common = serviceName ? { serviceName } : {};
  return {
    logger: new Logger(common),
    tracer: new Tracer(common),
    metrics: new Metrics(common),
  };
}

/**
 * The Powertools middlewares in the order they must wrap a handler: tracer outermost (the segment covers
 * everything), then the logger (Lambda context in every line), then metrics (flushed even on error).
 */
export function powertoolsMiddlewares(pt: Powertools): MiddlewareObj[] {
  return [
    captureLambdaHandler(pt.tracer, { captureResponse: false }) as MiddlewareObj,
    injectLambdaContext(pt.logger, { resetKeys: true }) as MiddlewareObj,
    logMetrics(pt.metrics, { captureColdStartMetric: true }) as MiddlewareObj,
  ];
}
