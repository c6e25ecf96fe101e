// Lambda entry of the Model Monitor drift alarm relay (CloudWatch Alarm State Change → ALARM) → ModelDriftDetected on
// the app bus; the assembly is in app.ts.
import { alarmRelayDepsFromEnv, createAlarmRelayHandler } from './app.js';

export const handler = createAlarmRelayHandler(alarmRelayDepsFromEnv());
