// Lambda entry for POST /v1/feedback: stores the label, writes ground truth and announces LabelReported; the assembly
// is in app.ts.
import { createHttpHandler, feedbackDepsFromEnv } from './app.js';

export const handler = createHttpHandler(feedbackDepsFromEnv());
