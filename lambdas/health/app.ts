// Assembles the GET /v1/health handler: env (service name, version) → the core inside the shared HTTP middy stack.
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { type HttpHandler, httpHandler } from '../shared/http.js';
import { createPowertools, type Powertools } from '../shared/powertools.js';
import { healthReport } from './core.js';

export const HealthEnv = CommonEnv.extend({
  /** The deployed version; the stack may set it (e.g. the asset hash). */
  SERVICE_VERSION: envString().default('0.1.0'),
});

export interface HealthDeps {
  readonly powertools: Powertools;
  readonly service: string;
  readonly version: string;
}

/** The service's name and version from the environment (cold start). */
export function healthDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): HealthDeps {
  const e = parseEnv(HealthEnv, env);
  return { powertools: createPowertools(), service: e.POWERTOOLS_SERVICE_NAME, version: e.SERVICE_VERSION };
}

export function createHealthHandler(deps: HealthDeps): HttpHandler {
  const body = healthReport(deps.service, deps.version);
  return httpHandler({ powertools: deps.powertools }, async () => body);
}
