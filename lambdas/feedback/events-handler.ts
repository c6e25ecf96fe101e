// Lambda entry for LabelReported bus events from external publishers: stores them, never republishes (its own
// bundle, so it carries no PutEvents call its role is not granted); the assembly is in app.ts.
import { createEventHandler, feedbackStoreDepsFromEnv } from './app.js';

export const handler = createEventHandler(feedbackStoreDepsFromEnv());
