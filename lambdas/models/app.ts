// Assembles the models API handler (admin routes): SDK clients from the environment, the adapters, one middy stack
// per route, and a dispatcher on API Gateway's resource path.
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { z } from 'zod';
import { type ClientOptions, dynamoDocumentClient, s3Client } from '../shared/aws.js';
import {
  DriftHistoryQuery,
  ModelActionRequest,
  ModelPathParams,
  ModelVersionPathParams,
  PredictionsQuery,
} from '../shared/contracts/api.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { ValidationError } from '../shared/errors.js';
import { type HttpHandler, httpHandler, routeDispatcher } from '../shared/http.js';
import { createPowertools, type Powertools } from '../shared/powertools.js';
import {
  CloudFormationModelsStack,
  LockTableApprovals,
  S3Objects,
  SageMakerRegistry,
  SsmPointers,
  StepFunctionsExecutions,
} from './adapters.js';
import {
  approveVersion,
  getDrift,
  getModel,
  getPredictions,
  listModels,
  type ModelsPorts,
  rejectVersion,
  retrain,
  rollback,
} from './core.js';

const ModelConfigSchema = z
  .object({
    name: z.string().min(1),
    bootstrapVersion: z.string().min(1),
    stateMachineArn: z.string().min(1),
    championParameter: z.string().min(1),
    packageGroup: z.string().min(1),
  })
  .strict();

export const ModelsEnv = CommonEnv.extend({
  /** JSON list of { name, bootstrapVersion, stateMachineArn, championParameter, packageGroup }. */
  MODELS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(z.array(ModelConfigSchema)),
  MODELS_APPROVAL: z.enum(['auto', 'manual']),
  LOCK_TABLE_NAME: envString(),
  MODELS_STACK_NAME: envString(),
  DRIFT_STATUS_BUCKET: envString(),
  /** The lake bucket holding batch models' predictions (set when some model runs in batch). */
  PREDICTIONS_BUCKET: envString().optional(),
  /** Comma-separated names of the models served in batch. */
  BATCH_MODELS: z.string().default(''),
});

export interface ModelsDeps {
  readonly powertools: Powertools;
  readonly ports: ModelsPorts;
}

/** Clients over HTTP/1.1 with the shared timeouts; endpoints from AWS_ENDPOINT_URL_<SERVICE> when set. */
function clientConfig(options: ClientOptions) {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000 }),
  };
}

export function modelsDepsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: ClientOptions = {},
): ModelsDeps {
  const e = parseEnv(ModelsEnv, env);
  const powertools = createPowertools();
  const { tracer } = powertools;
  const config = clientConfig(options);
  return {
    powertools,
    ports: {
      models: e.MODELS,
      approval: e.MODELS_APPROVAL,
      driftBucket: e.DRIFT_STATUS_BUCKET,
      executions: new StepFunctionsExecutions(tracer.captureAWSv3Client(new SFNClient(config))),
      registry: new SageMakerRegistry(tracer.captureAWSv3Client(new SageMakerClient(config))),
      pointers: new SsmPointers(tracer.captureAWSv3Client(new SSMClient(config))),
      stack: new CloudFormationModelsStack(
        tracer.captureAWSv3Client(new CloudFormationClient(config)),
        e.MODELS_STACK_NAME,
      ),
      approvals: new LockTableApprovals(tracer.captureAWSv3Client(dynamoDocumentClient(options)), e.LOCK_TABLE_NAME),
      objects: new S3Objects(tracer.captureAWSv3Client(s3Client(options))),
      ...(e.PREDICTIONS_BUCKET
        ? { predictions: { bucket: e.PREDICTIONS_BUCKET, models: e.BATCH_MODELS.split(',').filter(Boolean) } }
        : {}),
    },
  };
}

type Routes = Readonly<Record<string, HttpHandler>>;

/** The query string by its schema; what is wrong becomes a 400 naming the parameter. */
function parseQuery<S extends z.ZodType>(schema: S, query: Readonly<Record<string, string>>): z.output<S> {
  const result = schema.safeParse(query);
  if (!result.success) {
    throw new ValidationError(
      `invalid query: ${result.error.issues.map((i) => `${i.path.join('.') || '(query)'} ${i.message}`).join('; ')}`,
    );
  }
  return result.data;
}

/** One handler per route of the models service, keyed `<METHOD> <resource>` as API Gateway names them. */
export function createModelsRoutes(deps: ModelsDeps): Routes {
  const { powertools, ports } = deps;
  return {
    'GET /v1/models': httpHandler({ powertools }, () => listModels(ports)),
    'GET /v1/models/{name}': httpHandler({ powertools, path: ModelPathParams }, ({ path }) =>
      getModel(ports, path.name),
    ),
    'POST /v1/models/{name}/retrain': httpHandler(
      { powertools, path: ModelPathParams, body: ModelActionRequest, successStatus: 202 },
      ({ path, body }) => retrain(ports, path.name, body),
    ),
    'POST /v1/models/{name}/versions/{version}/approve': httpHandler(
      { powertools, path: ModelVersionPathParams, body: ModelActionRequest, successStatus: 202 },
      ({ path, body, caller }) => approveVersion(ports, path.name, path.version, body, caller.clientId),
    ),
    'POST /v1/models/{name}/versions/{version}/reject': httpHandler(
      { powertools, path: ModelVersionPathParams, body: ModelActionRequest, successStatus: 202 },
      ({ path, body, caller }) => rejectVersion(ports, path.name, path.version, body, caller.clientId),
    ),
    'POST /v1/models/{name}/rollback': httpHandler(
      { powertools, path: ModelPathParams, body: ModelActionRequest, successStatus: 202 },
      ({ path, body }) => rollback(ports, path.name, body),
    ),
    'GET /v1/models/{name}/drift': httpHandler({ powertools, path: ModelPathParams }, ({ path, query }) =>
      getDrift(ports, path.name, parseQuery(DriftHistoryQuery, query)),
    ),
    'GET /v1/models/{name}/predictions': httpHandler({ powertools, path: ModelPathParams }, ({ path, query }) =>
      getPredictions(ports, path.name, parseQuery(PredictionsQuery, query)),
    ),
  };
}

/** The Lambda handler: dispatches on the method and resource template; an unknown one gets the 404 error JSON. */
export function createModelsHandler(deps: ModelsDeps) {
  return routeDispatcher('models', deps.powertools, createModelsRoutes(deps));
}
