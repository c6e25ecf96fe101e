// Lambda entry of the decision outbox (the decisions table's stream): dependencies built once per cold start.
import { createOutboxHandler, outboxDepsFromEnv } from './app.js';

export const handler = createOutboxHandler(outboxDepsFromEnv());
