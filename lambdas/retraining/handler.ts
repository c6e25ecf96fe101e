// Lambda entry of the retraining lock task: lock, drift debounce and approval token (DynamoDB only).
// Each task has its own entry so each bundle holds only the AWS calls its role is granted.
import { dynamoDocumentClient } from '../shared/aws.js';
import { parseEnv } from '../shared/env.js';
import { createPowertools } from '../shared/powertools.js';
import { DynamoLockStore } from './coordination.js';
import { createCoordinateHandler, RetrainingEnv } from './tasks.js';

const env = parseEnv(RetrainingEnv);
export const coordinateHandler = createCoordinateHandler({
  powertools: createPowertools(),
  locks: new DynamoLockStore(dynamoDocumentClient(), env.LOCK_TABLE_NAME),
  settings: { leaseHours: env.LEASE_HOURS, driftDebounceHours: env.DRIFT_DEBOUNCE_HOURS },
});
