// The batch run's wiring: environment → adapters (S3, the features table) → one handler for the state machine's three
// Lambda tasks, dispatched on `action` (plan, prepare, publish); built once per cold start.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { AnyModelModule } from '../../models/shared/module.js';
import { DynamoAggregateStore } from '../features/dynamo-aggregate-store.js';
import { type ObjectStore, S3ObjectStore } from '../shared/adapters/object-store.js';
import { dynamoDocumentClient, s3Client } from '../shared/aws.js';
import { CommonEnv, envInt, envNumberRecord, envString, parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import {
  batchOf,
  type EntityStates,
  FoldingEntityStates,
  PlanRequest,
  PrepareRequest,
  PublishRequest,
  plan,
  prepare,
  publish,
} from './core.js';

export const BatchEnv = CommonEnv.extend({
  MODEL_NAME: envString(),
  /** The version the bootstrap card records (reported while the champion pointer is `bootstrap`). */
  BOOTSTRAP_VERSION: envString(),
  /** The model policy's thresholds as JSON (the environments table's `thresholds`). */
  MODEL_THRESHOLDS: envNumberRecord(),
  /** Rows per transform request (the manifest's serving.batch.rowsPerRequest). */
  ROWS_PER_REQUEST: envInt(),
  MODEL_INPUT_NAME: envString(),
  MODEL_OUTPUT_NAME: envString(),
  /** Lake bucket: the run's working files (batch/) and the predictions (predictions/). */
  LAKE_BUCKET: envString(),
  FEATURES_TABLE_NAME: envString(),
});
export type BatchEnv = z.infer<typeof BatchEnv>;

export const BatchTask = z.discriminatedUnion('action', [PlanRequest, PrepareRequest, PublishRequest]);

export interface BatchDeps {
  readonly powertools: Powertools;
  readonly module: AnyModelModule;
  readonly env: BatchEnv;
  readonly objects: ObjectStore;
  readonly states: EntityStates;
  readonly now?: () => Date;
}

export function batchDepsFromEnv(
  module: AnyModelModule,
  env: Readonly<Record<string, string | undefined>> = process.env,
): BatchDeps {
  const e = parseEnv(BatchEnv, env);
  if (e.MODEL_NAME !== module.name)
    throw new Error(`MODEL_NAME is ${e.MODEL_NAME} but the bundle serves ${module.name}`);
  batchOf(module);
  module.policy.validate(e.MODEL_THRESHOLDS);
  const powertools = createPowertools();
  const { tracer } = powertools;
  return {
    powertools,
    module,
    env: e,
    objects: new S3ObjectStore(tracer.captureAWSv3Client(s3Client())),
    states: new FoldingEntityStates(
      new DynamoAggregateStore(tracer.captureAWSv3Client(dynamoDocumentClient()), e.FEATURES_TABLE_NAME),
    ),
  };
}

/** One task of a run, by its action. */
export async function runTask(event: unknown, deps: BatchDeps): Promise<unknown> {
  const { env, module, objects } = deps;
  const now = deps.now ?? (() => new Date());
  const task = BatchTask.parse(event);
  switch (task.action) {
    case 'plan':
      return plan(task, { module, workBucket: env.LAKE_BUCKET, now });
    case 'prepare':
      return prepare(task, {
        module,
        objects,
        states: deps.states,
        rowsPerRequest: env.ROWS_PER_REQUEST,
        inputName: env.MODEL_INPUT_NAME,
      });
    case 'publish':
      return publish(task, {
        module,
        objects,
        thresholds: env.MODEL_THRESHOLDS,
        bootstrapVersion: env.BOOTSTRAP_VERSION,
        outputName: env.MODEL_OUTPUT_NAME,
        predictionsBucket: env.LAKE_BUCKET,
        now,
      });
  }
}

export function createBatchHandler(deps: BatchDeps) {
  let handler = middy<unknown, unknown, Error, Context>((event: unknown) => runTask(event, deps));
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}
