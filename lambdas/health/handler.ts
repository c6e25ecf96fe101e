// Lambda entry for GET /v1/health.
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { createPowertools } from '../shared/powertools.js';
import { createHealthHandler } from './app.js';

const env = parseEnv(
  CommonEnv.extend({
    /** The deployed version; the stack may set it (e.g. the asset hash). */
    SERVICE_VERSION: envString().default('0.1.0'),
  }),
);

export const handler = createHealthHandler({
  powertools: createPowertools(),
  service: env.POWERTOOLS_SERVICE_NAME,
  version: env.SERVICE_VERSION,
});
