// Construct metadata that names the model a resource belongs to and the part it plays, so tools that read the
// synthesized template (the local stage, the deploy gate) find a model's endpoint, functions and state machine
// without guessing from types, order or environment variables.
import type { CfnResource } from 'aws-cdk-lib';

/** The `Metadata` keys on a model's resources. */
export const MODEL_METADATA = { model: 'aims:model', role: 'aims:role' } as const;

/** What a resource is to its model. */
export const MODEL_ROLES = [
  'endpoint',
  'endpoint-config',
  'inference-component',
  'scale-to-zero',
  'model',
  'shadow-model',
  'score',
  'predict',
  'labels',
  'features',
  'drift-check',
  'shadow-compare',
  'prepare-dataset',
  'evaluate',
  'retraining',
  'batch-inference',
  'batch-tasks',
  'batch-schedule',
] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];

/** A model's name and the part a resource plays for it. */
export interface ModelResourceTag {
  /** The manifest name (`models/<name>/`). */
  readonly model: string;
  readonly role: ModelRole;
}

const MODEL_NAME = /^[a-z][a-z0-9-]*$/;

/** Writes the tag into the resource's CloudFormation `Metadata`. */
export function tagModelResource(resource: CfnResource, tag: ModelResourceTag): void {
  if (!MODEL_NAME.test(tag.model)) {
    throw new Error(`a model name must be lower-case kebab-case (a models/ folder), got '${tag.model}'`);
  }
  if (!MODEL_ROLES.includes(tag.role)) {
    throw new Error(`a model resource's role must be one of ${MODEL_ROLES.join(', ')}, got '${tag.role}'`);
  }
  resource.addMetadata(MODEL_METADATA.model, tag.model);
  resource.addMetadata(MODEL_METADATA.role, tag.role);
}
