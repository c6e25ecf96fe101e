// Lambda entry of the retraining lock task: lock, drift debounce and approval token (DynamoDB only); the assembly is
// in app.ts. Each task has its own entry so each bundle holds only the AWS calls its role is granted.
import { coordinateDepsFromEnv, createCoordinateHandler } from './app.js';

export const coordinateHandler = createCoordinateHandler(coordinateDepsFromEnv());
