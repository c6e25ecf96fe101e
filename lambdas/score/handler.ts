// Lambda entry for POST /v1/score: dependencies built once per cold start from the environment.
import { createScoreHandler, scoreDepsFromEnv } from './app.js';

export const handler = createScoreHandler(scoreDepsFromEnv());
