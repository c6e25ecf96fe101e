// Assembles the labels handler of one labelled model: env → the lake bucket (put only) → the core inside the shared HTTP
// middy stack, the body validated by the model's own label schema.
import type { AnyModelModule } from '../../models/shared/module.js';
import { S3JsonLinesSink } from '../shared/adapters/jsonl-sink.js';
import { s3Client } from '../shared/aws.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { type HttpHandler, httpHandler } from '../shared/http.js';
import { createPowertools, type Powertools } from '../shared/powertools.js';
import { type EntityLabelConfig, type EntityLabelDeps, recordEntityLabel } from './core.js';

export const LabelsEnv = CommonEnv.extend({
  MODEL_NAME: envString(),
  LAKE_BUCKET: envString(),
});

export interface LabelsHandlerDeps extends EntityLabelDeps {
  readonly powertools: Powertools;
  readonly config: EntityLabelConfig;
  /** The module's label schema (the body). */
  readonly schema: NonNullable<AnyModelModule['labels']>['schema'];
}

/** The handler's dependencies for `module` from the environment (cold start); refuses a module without labels. */
export function labelsDepsFromEnv(
  module: AnyModelModule,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LabelsHandlerDeps {
  const e = parseEnv(LabelsEnv, env);
  if (!module.labels) throw new Error(`model ${module.name} declares no entity labels (its module has no 'labels')`);
  if (module.name !== e.MODEL_NAME) {
    throw new Error(`MODEL_NAME is '${e.MODEL_NAME}' but the bundled module is '${module.name}'`);
  }
  return {
    powertools: createPowertools(),
    lake: new S3JsonLinesSink(s3Client(), e.LAKE_BUCKET),
    schema: module.labels.schema,
    config: { modelName: e.MODEL_NAME, labels: module.labels },
  };
}

/** POST /v1/models/<name>/labels over the given dependencies (tests pass their own object store). */
export function createLabelsHandler(deps: LabelsHandlerDeps): HttpHandler {
  return httpHandler({ powertools: deps.powertools, body: deps.schema }, async ({ body }) => {
    const stored = await recordEntityLabel(body, deps.config, deps);
    deps.powertools.metrics.addMetric(stored.outcome ? 'EntityLabelsPositive' : 'EntityLabelsNegative', 'Count', 1);
    return stored;
  });
}
