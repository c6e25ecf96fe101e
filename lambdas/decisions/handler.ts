// Lambda entry for GET /v1/decisions/{id}.
import { createDecisionsHandler, decisionsDepsFromEnv } from './app.js';

export const handler = createDecisionsHandler(decisionsDepsFromEnv());
