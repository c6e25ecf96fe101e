// Lambda entries for POST /v1/transactions and the TransactionSubmitted bus target; the assembly is in app.ts.
import { createEventHandler, createHttpHandler, ingestDepsFromEnv } from './app.js';

const deps = ingestDepsFromEnv();
export const handler = createHttpHandler(deps);
export const onTransactionSubmitted = createEventHandler(deps);
