// Lambda entry for the API Gateway REQUEST authorizer; the verifier (and its JWKS cache) lives across invocations.
import { authorizerDepsFromEnv, createAuthorizerHandler } from './app.js';

export const handler = createAuthorizerHandler(authorizerDepsFromEnv());
