// Lambda entry for POST /v1/feedback: stores the label, writes ground truth and announces LabelReported.
import { EventBridgePublisher } from '../shared/adapters/event-publisher.js';
import { dynamoDocumentClient, eventBridgeClient, s3Client } from '../shared/aws.js';
import { parseEnv } from '../shared/env.js';
import { createPowertools } from '../shared/powertools.js';
import { DynamoLabelStore, S3GroundTruthSink } from './adapters.js';
import { createHttpHandler, FeedbackEnv } from './app.js';

export { createEventHandler, createHttpHandler, FeedbackEnv } from './app.js';

// Cold start: environment and clients once per execution environment.
const env = parseEnv(FeedbackEnv);
export const handler = createHttpHandler({
  powertools: createPowertools(),
  labels: new DynamoLabelStore(dynamoDocumentClient(), env.LABELS_TABLE),
  groundTruth: new S3GroundTruthSink(s3Client(), env.GROUND_TRUTH_BUCKET),
  events: new EventBridgePublisher({ client: eventBridgeClient(), eventBusName: env.EVENT_BUS_NAME }),
  groundTruthPrefix: env.GROUND_TRUTH_PREFIX,
});
