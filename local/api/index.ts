// The local API Gateway and Cognito issuer: what `local/start.ts`, the CLI and the tests import.
export {
  type ClientsFile,
  issuerUrl,
  type LocalCredentials,
  localCredentials,
  type MintTokenOptions,
  mintToken,
} from './cognito.js';
export { ApiDefinitionError, type RestApiDefinition, restApiDefinition } from './model.js';
export { evaluatePolicy, iamWildcardMatch, type PolicyDecision } from './policy.js';
export {
  API_GATEWAY_CONTROL_PATH,
  type AuthorizerCacheStats,
  apiGatewayEndpoint,
  DEFAULT_INTEGRATION_TIMEOUT_MS,
  type LocalApi,
  type LocalApiOptions,
  MAX_PAYLOAD_BYTES,
  startLocalApi,
} from './server.js';
export { CODE_TTL_MS } from './signin.js';
export { type LocalUser, readLocalUsers, SEEDED_USERS } from './users.js';
