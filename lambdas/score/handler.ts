// Lambda entry for POST /v1/score: dependencies built once per cold start from the environment, for the model this
// bundle was built for (the specifier is aliased to that model's module at synth).
import model from '@aims/model-module';
import { createScoreHandler, scoreDepsFromEnv } from './app.js';

export const handler = createScoreHandler(scoreDepsFromEnv(model));
