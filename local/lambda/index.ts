// The local Lambda runtime and the stream event-source mappings (Kinesis, DynamoDB table streams) of the dev template.
export { type FailureDestination, failureDestination } from './destinations.js';
export { tableStreamSource } from './dynamodb-esm.js';
export {
  type EventSourceMappings,
  type EventSourceMappingsOptions,
  firstFailedIndex,
  type MappingConfig,
  type MappingStats,
  mappingConfig,
  type SourceRecord,
  type StreamSource,
  startEventSourceMappings,
} from './esm.js';
export {
  functionDefinition,
  functionDefinitions,
  functionNameOf,
  type LocalFunctionDefinition,
  parseHandler,
} from './functions.js';
export { kinesisEventRecord, kinesisSource } from './kinesis-esm.js';
export {
  FunctionNotFoundError,
  type FunctionStats,
  functionEnvironment,
  type LambdaRuntime,
  type LambdaRuntimeOptions,
  startLambdaRuntime,
} from './runtime.js';
