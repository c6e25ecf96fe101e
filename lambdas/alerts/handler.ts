// Lambda entry for FraudSuspected (EventBridge target) → one SNS alert per transaction; the assembly is in app.ts.
import { alertsDepsFromEnv, createHandler } from './app.js';

export const handler = createHandler(alertsDepsFromEnv());
