// Lambda entry of the shadow comparison (scheduled, and invoked by the retraining pipeline before approval): champion
// vs shadow answers. The model is the one this bundle was built for (the specifier is aliased to its module at synth);
// the assembly is in app.ts.
import model from '@aims/model-module';
import { handlerFromEnvironment } from './app.js';

export const handler = handlerFromEnvironment(model);
