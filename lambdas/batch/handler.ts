// Lambda entry of a batch model's run tasks (plan, prepare, publish), for the model this bundle was built for (the
// specifier is aliased to that model's module at synth).
import model from '@aims/model-module';
import { batchDepsFromEnv, createBatchHandler } from './app.js';

export const handler = createBatchHandler(batchDepsFromEnv(model));
