// Lambda entries of the retraining tasks that work on S3 objects only: PrepareDataset and Evaluate. Each model has its
// own bundle of them: the specifier is aliased, at synth, to the module of the model the workflow retrains.
import model from '@aims/model-module';
import { s3Client } from '../shared/aws.js';
import { createPowertools } from '../shared/powertools.js';
import { createEvaluateHandler, createPrepareDatasetHandler, S3ObjectStore } from './tasks.js';

const deps = { powertools: createPowertools(), store: new S3ObjectStore(s3Client()), module: model };
export const prepareDatasetHandler = createPrepareDatasetHandler(deps);
export const evaluateHandler = createEvaluateHandler(deps);
