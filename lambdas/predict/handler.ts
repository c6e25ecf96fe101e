// Lambda entry for POST /v1/models/<name>/predict: one function per real-time model, its module bundled through the
// `@aims/model-module` alias; dependencies built once per cold start from the environment.
import model from '@aims/model-module';
import { createPredictHandler, predictDepsFromEnv } from './app.js';

export const handler = createPredictHandler(predictDepsFromEnv(model));
