// The local Lambda runtime and the Kinesis event-source mappings of the dev template.
export { type FailureDestination, failureDestination } from './destinations.js';
export {
  functionDefinition,
  functionDefinitions,
  functionNameOf,
  type LocalFunctionDefinition,
  parseHandler,
} from './functions.js';
export {
  type EventSourceMappings,
  type EventSourceMappingsOptions,
  firstFailedIndex,
  type KinesisMappingConfig,
  kinesisEvent,
  kinesisMappingConfig,
  type MappingStats,
  startEventSourceMappings,
} from './kinesis-esm.js';
export {
  FunctionNotFoundError,
  type FunctionStats,
  functionEnvironment,
  type LambdaRuntime,
  type LambdaRuntimeOptions,
  startLambdaRuntime,
} from './runtime.js';
