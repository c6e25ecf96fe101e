// Lambda entry of the stream drift check (scheduled): captured window → PSI per feature vs the champion baseline →
// metrics, and ModelDriftDetected on the bus when a feature passes its threshold; the assembly is in app.ts.
import { createHandler, driftDepsFromEnv } from './app.js';

export const handler = createHandler(driftDepsFromEnv());
