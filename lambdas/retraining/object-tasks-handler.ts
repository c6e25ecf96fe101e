// Lambda entries of the retraining tasks that work on S3 objects only: PrepareDataset and Evaluate. Each model has its
// own bundle of them: the specifier is aliased, at synth, to the module of the model the workflow retrains.
import model from '@aims/model-module';
import { createEvaluateHandler, createPrepareDatasetHandler, objectTaskDepsFromEnv } from './app.js';

const deps = objectTaskDepsFromEnv(model);
export const prepareDatasetHandler = createPrepareDatasetHandler(deps);
export const evaluateHandler = createEvaluateHandler(deps);
