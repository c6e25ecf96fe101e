// Lambda entry for LabelReported bus events from external publishers: stores them, never republishes (its own
// bundle, so it carries no PutEvents call its role is not granted).
import { dynamoDocumentClient, s3Client } from '../shared/aws.js';
import { parseEnv } from '../shared/env.js';
import { createPowertools } from '../shared/powertools.js';
import { DynamoLabelStore, S3GroundTruthSink } from './adapters.js';
import { createEventHandler, FeedbackStoreEnv } from './app.js';

const env = parseEnv(FeedbackStoreEnv);
export const handler = createEventHandler({
  powertools: createPowertools(),
  labels: new DynamoLabelStore(dynamoDocumentClient(), env.LABELS_TABLE),
  groundTruth: new S3GroundTruthSink(s3Client(), env.GROUND_TRUTH_BUCKET),
  groundTruthPrefix: env.GROUND_TRUTH_PREFIX,
});
