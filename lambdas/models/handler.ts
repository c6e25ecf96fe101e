// Lambda entry for the models API (/v1/models…, admin scope).
import { createModelsHandler, modelsDepsFromEnv } from './app.js';

export const handler = createModelsHandler(modelsDepsFromEnv());
