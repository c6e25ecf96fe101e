// Shadow comparison (scheduled, and invoked by the retraining pipeline before approval): champion vs shadow answers.
import { parseEnv } from '../shared/env.js';
import { handlerFromEnvironment, ShadowEnv } from './app.js';

export const handler = handlerFromEnvironment(parseEnv(ShadowEnv));
