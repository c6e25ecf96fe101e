// Builds the AIMS app: one Stage per environment, each checked by cdk-nag's AwsSolutions pack.
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { STAGE_NAMES, type StageName } from './config/environment-config.js';
import { resolveEnvironment } from './config/environments.js';
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
  const stages = {} as Record<StageName, AimsStage>;
  for (const name of STAGE_NAMES) {
    const stage = new AimsStage(app, name, { config: resolveEnvironment(name, env) });
    if (nag) Validations.of(stage).addPlugins(new AwsSolutionsChecks(stage));
    stages[name] = stage;
  }
  return { app, stages };
}
