// Adapters of the score ports: the features table, the SageMaker endpoint (Open Inference Protocol v2) and the audit
// table. They live in lambdas/shared/adapters: the predict route uses the same ones.
export { DynamoDecisionStore } from '../shared/adapters/decision-store.js';
export { DynamoFeatureReader } from '../shared/adapters/feature-reader.js';
export { SageMakerModelEndpoint, type SageMakerModelEndpointProps } from '../shared/adapters/model-endpoint.js';
