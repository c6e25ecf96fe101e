// Shadow comparison (scheduled, and invoked by the retraining pipeline before approval): champion vs shadow answers.
// The model is the one this bundle was built for (the specifier is aliased to its module at synth).
import model from '@aims/model-module';
import { parseEnv } from '../shared/env.js';
import { handlerFromEnvironment, ShadowEnv } from './app.js';

export const handler = handlerFromEnvironment(model, parseEnv(ShadowEnv));
