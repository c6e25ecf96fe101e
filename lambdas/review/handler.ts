// Lambda entry for POST /v1/decisions/{id}/overrides.
import { createReviewHandler, reviewDepsFromEnv } from './app.js';

export const handler = createReviewHandler(reviewDepsFromEnv());
