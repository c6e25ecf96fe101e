// Lambda entry for GET /v1/health; the assembly is in app.ts.
import { createHealthHandler, healthDepsFromEnv } from './app.js';

export const handler = createHealthHandler(healthDepsFromEnv());
