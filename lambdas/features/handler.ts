// Lambda entry of the features stream consumer, for the model this bundle was built for (the specifier is aliased to
// its module at synth); the assembly is in app.ts.
import model from '@aims/model-module';
import { createHandler, featuresDepsFromEnv } from './app.js';

export const handler = createHandler(featuresDepsFromEnv(model));
