// Assembles the retraining task handlers: env → the DynamoDB lock store or the S3 object store → each use case inside
// middy/Powertools with its request schema. Each task has its own entry (handler.ts, object-tasks-handler.ts) so each
// bundle holds only the AWS calls its role is granted.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import type { AnyModelModule } from '../../models/shared/module.js';
import { S3ObjectStore } from '../shared/adapters/object-store.js';
import { dynamoDocumentClient, s3Client } from '../shared/aws.js';
import { CommonEnv, envInt, envString, parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { DynamoLockStore } from './adapters.js';
import { CoordinationRequest, coordinate, type LockStore } from './coordination.js';
import { EvaluateRequest, evaluate, type ObjectStore, PrepareDatasetRequest, prepareDataset } from './core.js';

function wrap<I, O>(powertools: Powertools, schema: z.ZodType<I>, run: (input: I) => Promise<O>) {
  let handler = middy<unknown, O, Error, Context>(async (event: unknown) => run(schema.parse(event)));
  for (const m of powertoolsMiddlewares(powertools)) handler = handler.use(m);
  return handler;
}

export const RetrainingEnv = CommonEnv.extend({
  LOCK_TABLE_NAME: envString(),
  LEASE_HOURS: envInt(),
  DRIFT_DEBOUNCE_HOURS: envInt(0),
});

export interface CoordinateDeps {
  readonly powertools: Powertools;
  readonly locks: LockStore;
  readonly settings: { leaseHours: number; driftDebounceHours: number };
}
export interface ObjectTaskDeps {
  readonly powertools: Powertools;
  readonly store: ObjectStore;
  /** The model these tasks train: its request schema, baseline and quality gate. */
  readonly module: AnyModelModule;
}

/** Lock, drift debounce and approval token (DynamoDB only). */
export const createCoordinateHandler = (deps: CoordinateDeps) =>
  wrap(deps.powertools, CoordinationRequest, (r) => coordinate(r, deps.locks, deps.settings));
/** Athena result → train/validation/test channels (S3 only). */
export const createPrepareDatasetHandler = (deps: ObjectTaskDeps) =>
  wrap(deps.powertools, PrepareDatasetRequest, (r) => prepareDataset(r, deps.store, deps.module));
/** Challenger vs champion, gate, Triton package (S3 only). */
export const createEvaluateHandler = (deps: ObjectTaskDeps) =>
  wrap(deps.powertools, EvaluateRequest, (r) => evaluate(r, deps.store, deps.module));

/** The coordinate task's lock store and settings from the environment (cold start). */
export function coordinateDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): CoordinateDeps {
  const e = parseEnv(RetrainingEnv, env);
  return {
    powertools: createPowertools(),
    locks: new DynamoLockStore(dynamoDocumentClient(), e.LOCK_TABLE_NAME),
    settings: { leaseHours: e.LEASE_HOURS, driftDebounceHours: e.DRIFT_DEBOUNCE_HOURS },
  };
}

/** The S3 tasks' dependencies for `module`, the model the workflow retrains (cold start). */
export function objectTaskDepsFromEnv(module: AnyModelModule): ObjectTaskDeps {
  return { powertools: createPowertools(), store: new S3ObjectStore(s3Client()), module };
}
