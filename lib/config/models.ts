// The models AIMS serves, discovered from `models/*/model.json`: adding a model is a new folder, not stack code.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadManifest, type ModelManifest } from '../../models/shared/manifest.js';
import { type AnyModelModule, loadModule, MODULE_ENTRY } from '../../models/shared/module.js';
import type { DomainRoute, ModelServingSettings } from './environment-config.js';

export interface ModelDeclaration {
  /** The folder holding model.json (and, once trained, artifacts/). */
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** The model's module, once loaded (`loadModels`): the stage needs its request schema for a real-time model's
   *  predict route. @default - not loaded */
  readonly module?: AnyModelModule;
}

/** Every model folder under `modelsRoot` that holds a model.json, sorted by name. */
export function discoverModels(modelsRoot: string): ModelDeclaration[] {
  const models = readdirSync(modelsRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(modelsRoot, entry.name, 'model.json')))
    .map((entry) => {
      const dir = path.join(modelsRoot, entry.name);
      return { dir, manifest: loadManifest(dir) };
    })
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
  const names = new Set<string>();
  for (const { manifest } of models) {
    if (names.has(manifest.name)) throw new Error(`two models are named '${manifest.name}' under ${modelsRoot}`);
    names.add(manifest.name);
  }
  return models;
}

/**
 * Every model under `modelsRoot` with its module loaded and checked against its manifest (`discoverModels`, then
 * `loadModule`): what the app builds its stages from. Async because modules are imported by path.
 */
export async function loadModels(modelsRoot: string): Promise<ModelDeclaration[]> {
  const models = discoverModels(modelsRoot);
  return Promise.all(models.map(async (m) => ({ ...m, module: await loadModule(m.dir, m.manifest) })));
}

/** The served models whose manifest has the `realtime` mode: each gets POST /v1/models/<name>/predict. */
export function realtimeModels(served: readonly ConfiguredModel[]): ConfiguredModel[] {
  return served.filter((m) => m.manifest.serving.modes.includes('realtime'));
}

/** The module of a model (loaded by `loadModels`); throws when it was not loaded. */
export function moduleOf(model: ModelDeclaration): AnyModelModule {
  if (!model.module) {
    throw new Error(`model '${model.manifest.name}': its module is not loaded (build the stage from loadModels())`);
  }
  return model.module;
}

/**
 * Loads each model's module (`src/module.ts`) and refuses, before anything is synthesized, a manifest that declares
 * another model than its module implements (name, feature list, training script), and thresholds an environment sets
 * that the model's own policy refuses (`tables`: each environment's models table, by environment name). Async because
 * modules are imported by path, so `bin/` runs it before building the app.
 */
export async function checkModelModules(
  models: readonly ModelDeclaration[],
  tables: Readonly<Record<string, Readonly<Record<string, ModelServingSettings>>>> = {},
): Promise<void> {
  for (const { dir, manifest } of models) {
    const module = await loadModule(dir, manifest);
    for (const [environment, table] of Object.entries(tables)) {
      const serving = table[manifest.name];
      if (!serving) continue;
      try {
        module.policy.validate(serving.thresholds);
      } catch (error) {
        throw new Error(`${environment}: the thresholds of ${manifest.name}: ${(error as Error).message}`);
      }
    }
  }
}

/** A discovered model with how this environment serves it. */
export interface ConfiguredModel extends ModelDeclaration {
  readonly serving: ModelServingSettings;
}

/**
 * Pairs the environment's `models` table with the discovered manifests. The table is the opt-in: a model folder runs
 * in an environment only once the table has its entry (a new folder deploys nothing, and costs nothing, until then),
 * while a name no manifest declares is refused with the names on both sides; so is a domain route bound to two models.
 */
export function servedModels(
  declarations: readonly ModelDeclaration[],
  settings: Readonly<Record<string, ModelServingSettings>>,
  environment: string,
): ConfiguredModel[] {
  const known = declarations.map((d) => d.manifest.name);
  const unknown = Object.keys(settings).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `${environment}: models ${unknown.map((n) => `'${n}'`).join(', ')} in the environments table have no models/<name>/model.json (found: ${known.join(', ') || 'none'})`,
    );
  }
  const served = declarations
    .filter((d) => Object.hasOwn(settings, d.manifest.name))
    .map((d) => ({ ...d, serving: settings[d.manifest.name] as ModelServingSettings }));
  const routes = new Map<DomainRoute, string[]>();
  for (const m of served) {
    if (m.serving.route) routes.set(m.serving.route, [...(routes.get(m.serving.route) ?? []), m.manifest.name]);
  }
  for (const [route, names] of routes) {
    if (names.length > 1) throw new Error(`${environment}: route '${route}' is bound to ${names.join(' and ')}`);
  }
  return served;
}

/** The model bound to `route` in this environment; throws when none is. */
export function routeModel(
  served: readonly ConfiguredModel[],
  route: DomainRoute,
  environment: string,
): ConfiguredModel {
  const model = served.find((m) => m.serving.route === route);
  if (!model) {
    throw new Error(
      `${environment}: no model has route '${route}' in the environments table (models: ${served.map((m) => m.manifest.name).join(', ') || 'none'})`,
    );
  }
  return model;
}

/**
 * The model's module file relative to `projectRoot`, `/`-separated: what a function serving the model bundles as its
 * model module (ServiceFunction's `modelModule`). Throws for a model folder outside the project.
 */
export function modelModulePath(model: ModelDeclaration, projectRoot: string): string {
  const relative = path.relative(projectRoot, path.join(model.dir, MODULE_ENTRY));
  if (path.isAbsolute(relative) || relative.split(path.sep)[0] === '..') {
    throw new Error(`model '${model.manifest.name}' lives outside the project (${model.dir}): bundles cannot reach it`);
  }
  return relative.split(path.sep).join('/');
}

/**
 * The version the committed bootstrap model's card records (`models/<name>/bootstrap/model-card.json`): what its
 * predictions report, and so the champion's version while the pointer says `bootstrap`.
 */
export function bootstrapVersion(model: ModelDeclaration): string {
  const file = path.join(model.dir, 'bootstrap', 'model-card.json');
  if (!existsSync(file)) {
    throw new Error(
      `${file} not found: models/${model.manifest.name}/bootstrap/ is the bootstrap champion; refresh it with \`npm run train -- --bootstrap\``,
    );
  }
  const version = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
  if (typeof version !== 'string' || version === '') throw new Error(`${file} records no version`);
  return version;
}

/**
 * The SageMaker endpoint name of a model in a stage. SageMaker forces one physical name: the endpoint's rollback
 * alarms need its name before it exists, so it is derived, never chosen by hand.
 */
export function modelEndpointName(stageName: string, modelName: string): string {
  const name = `aims-${stageName}-${modelName}`.toLowerCase();
  if (!/^[a-z0-9](-*[a-z0-9]){0,62}$/.test(name)) {
    throw new Error(`endpoint name '${name}' is not a valid SageMaker endpoint name (max 63 chars, a-z 0-9 -)`);
  }
  return name;
}
