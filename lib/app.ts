// Builds the AIMS app: one Stage per environment, each checked by cdk-nag's AwsSolutions pack.
import * as path from 'node:path';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { API_CLIENTS } from './config/api-clients.js';
import { STAGES_CONTEXT_KEY, stagesFromContext } from './config/app-inputs.js';
import { STAGE_NAMES, type StageName } from './config/environment-config.js';
import { resolveEnvironment } from './config/environments.js';
import { loadModels } from './config/models.js';
import { PROJECT_ROOT } from './constructs/service-function.js';
import { AimsStage } from './stages/aims-stage.js';

export interface BuildAppOptions extends AppProps {
  /** Variables that override accounts and regions (AIMS_<STAGE>_ACCOUNT / _REGION). @default {} */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Register cdk-nag as a policy-validation plugin on every stage. @default true */
  readonly nag?: boolean;
  /** The stages to build: a list, or `'context'` for the `aims:stages` context value (bin/ passes that; unset
   *  there means every stage). @default - every stage */
  readonly stages?: readonly StageName[] | 'context';
}

// Loaded once per process: each real-time model's predict route takes its module's request schema.
const MODELS = await loadModels(path.join(PROJECT_ROOT, 'models'));

export interface AimsApp<S extends Partial<Record<StageName, AimsStage>>> {
  readonly app: App;
  readonly stages: S;
}

/** Every stage unless `stages` says otherwise; the stages built are typed as possibly missing only then. */
export function buildApp(
  options?: Omit<BuildAppOptions, 'stages'> & { readonly stages?: undefined },
): AimsApp<Record<StageName, AimsStage>>;
export function buildApp(options: BuildAppOptions): AimsApp<Partial<Record<StageName, AimsStage>>>;
export function buildApp(options: BuildAppOptions = {}): AimsApp<Partial<Record<StageName, AimsStage>>> {
  const { env = {}, nag = true, stages: only, ...appProps } = options;
  const app = new App(appProps);
  const names =
    only === undefined
      ? STAGE_NAMES
      : only === 'context'
        ? stagesFromContext(app.node.tryGetContext(STAGES_CONTEXT_KEY))
        : only;
  const models = MODELS;
  const stages: Partial<Record<StageName, AimsStage>> = {};
  for (const name of names) {
    const stage = new AimsStage(app, name, { config: resolveEnvironment(name, env), models, clients: API_CLIENTS });
    if (nag) Validations.of(stage).addPlugins(new AwsSolutionsChecks(stage));
    stages[name] = stage;
  }
  return { app, stages };
}
