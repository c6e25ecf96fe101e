// Assembles the GET /v1/health handler: no dependencies, so it answers even when the data plane is down.
import type { HealthResponse } from '../shared/contracts/api.js';
import { type HttpHandler, httpHandler } from '../shared/http.js';
import type { Powertools } from '../shared/powertools.js';

export interface HealthDeps {
  readonly powertools: Powertools;
  readonly service: string;
  readonly version: string;
}

export function createHealthHandler(deps: HealthDeps): HttpHandler {
  const body: HealthResponse = { status: 'ok', service: deps.service, version: deps.version };
  return httpHandler({ powertools: deps.powertools }, async () => body);
}
