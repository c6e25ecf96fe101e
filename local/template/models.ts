// The models of the dev template, found by the construct metadata the stacks write on a model's resources
// (`aims:model` = the model's name, `aims:role` = the part the resource plays): never by a resource's type order,
// its environment variables or a model name written here.
import { join } from 'node:path';
import {
  MODEL_METADATA,
  MODEL_ROLES,
  type ModelResourceTag,
  type ModelRole,
} from '../../lib/constructs/model-metadata.js';
import type { LocalResource, LocalTemplate } from '../types.js';

export type { ModelRole } from '../../lib/constructs/model-metadata.js';

/** One model of the template and its tagged resources. */
export interface TemplateModel {
  readonly name: string;
  /** `models/<name>/` under the repository root: its manifest, bootstrap model, training CLI and module. */
  readonly dir: string;
  /** Every resource tagged with this model. */
  readonly resources: readonly LocalResource[];
  /** The SageMaker endpoint, when the model is served in real time. */
  readonly endpoint?: LocalResource;
  /** The model's resources that play `role`. */
  withRole(role: ModelRole): LocalResource[];
  /** The one resource that plays `role` (a model has at most one); undefined when it has none. */
  one(role: ModelRole): LocalResource | undefined;
}

/** The tag a resource carries, or undefined; a malformed tag fails, naming the resource. */
export function modelTag(resource: LocalResource): ModelResourceTag | undefined {
  const model = resource.metadata[MODEL_METADATA.model];
  const role = resource.metadata[MODEL_METADATA.role];
  if (model === undefined && role === undefined) return undefined;
  if (typeof model !== 'string' || !MODEL_ROLES.includes(role as ModelRole)) {
    throw new Error(
      `${resource.stackName}/${resource.logicalId}: ${MODEL_METADATA.model} must be a model name and ` +
        `${MODEL_METADATA.role} one of ${MODEL_ROLES.join(', ')}, got ${JSON.stringify(model)} / ${JSON.stringify(role)}`,
    );
  }
  return { model, role: role as ModelRole };
}

/** The template's models in the order they first appear, each with its folder under `modelsDir`. */
export function templateModels(
  template: LocalTemplate,
  root: string,
  modelsDir = join(root, 'models'),
): TemplateModel[] {
  const byModel = new Map<string, { resource: LocalResource; role: ModelRole }[]>();
  for (const resource of template.resources) {
    const tag = modelTag(resource);
    if (!tag) continue;
    const list = byModel.get(tag.model) ?? [];
    list.push({ resource, role: tag.role });
    byModel.set(tag.model, list);
  }
  return [...byModel].map(([name, tagged]) => {
    const withRole = (role: ModelRole) => tagged.filter((t) => t.role === role).map((t) => t.resource);
    const one = (role: ModelRole) => {
      const found = withRole(role);
      if (found.length > 1) {
        throw new Error(
          `model ${name} has ${found.length} resources tagged ${role} (${found.map((r) => r.logicalId).join(', ')}): ` +
            'expected one',
        );
      }
      return found[0];
    };
    const endpoint = one('endpoint');
    return {
      name,
      dir: join(modelsDir, name),
      resources: tagged.map((t) => t.resource),
      ...(endpoint ? { endpoint } : {}),
      withRole,
      one,
    };
  });
}

/** The models the template serves in real time (one SageMaker endpoint each). */
export function servedModels(template: LocalTemplate, root: string, modelsDir?: string): TemplateModel[] {
  return templateModels(template, root, modelsDir).filter((m) => m.endpoint !== undefined);
}

/** The named model of the template; fails with the models it has when it has no such model. */
export function templateModel(template: LocalTemplate, root: string, name: string): TemplateModel {
  const models = templateModels(template, root);
  const model = models.find((m) => m.name === name);
  if (!model) {
    throw new Error(
      `the template has no resources tagged ${MODEL_METADATA.model}=${name} (it has: ${models.map((m) => m.name).join(', ') || 'none'})`,
    );
  }
  return model;
}
