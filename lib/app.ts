// Builds the AIMS app: one Stage per environment, each checked by cdk-nag's AwsSolutions pack.
import * as path from 'node:path';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { API_CLIENTS } from './config/api-clients.js';
import { STAGE_NAMES, type StageName } from './config/environment-config.js';
import { resolveEnvironment } from './config/environments.js';
import { discoverModels } from './config/models.js';
import { PROJECT_ROOT } from './constructs/service-function.js';
import { AimsStage } from './stages/aims-stage.js';

export interface BuildAppOptions extends AppProps {
  /** Variables that override accounts and regions (AIMS_<STAGE>_ACCOUNT / _REGION). @default {} */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Register cdk-nag as a policy-validation plugin on every stage. @default true */
  readonly nag?: boolean;
}

export function buildApp(options: BuildAppOptions = {}): { app: App; stages: Record<StageName, AimsStage> } {
  const { env = {}, nag = true, ...appProps } = options;
  const app = new App(appProps);
  const models = discoverModels(path.join(PROJECT_ROOT, 'models'));
  const stages = {} as Record<StageName, AimsStage>;
  for (const name of STAGE_NAMES) {
    const stage = new AimsStage(app, name, { config: resolveEnvironment(name, env), models, clients: API_CLIENTS });
    if (nag) Validations.of(stage).addPlugins(new AwsSolutionsChecks(stage));
    stages[name] = stage;
  }
  return { app, stages };
}
