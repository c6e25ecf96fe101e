// The floor the score bundle's cold init is compared with: a handler that creates the SDK clients the score function
// creates (same factories, same configuration) and nothing else — no Powertools, middy, zod or model code.
// The score bundle creates two since its events and decision log left for the outbox.
import { dynamoDocumentClient, sageMakerRuntimeClient } from '../../lambdas/shared/aws.js';

const clients = {
  documents: dynamoDocumentClient(),
  model: sageMakerRuntimeClient({ requestTimeoutMs: 400 }),
};

export const handler = async (): Promise<{ statusCode: number; body: string }> => ({
  statusCode: 200,
  body: JSON.stringify(Object.keys(clients)),
});
