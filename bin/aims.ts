#!/usr/bin/env node
// The CDK app entry point: `cdk deploy 'Dev/*'` deploys one environment; `-c aims:stages=Dev` builds only that one.
import * as path from 'node:path';
import { buildApp } from '../lib/app.js';
import { appEnvironment } from '../lib/config/app-inputs.js';
import { environments } from '../lib/config/environments.js';
import { checkModelModules, discoverModels } from '../lib/config/models.js';
import { PROJECT_ROOT } from '../lib/constructs/service-function.js';

// A model whose manifest and module disagree, or whose thresholds in an environment its policy refuses, is refused
// here, with the reason, before any stage is built.
const tables = Object.fromEntries(Object.entries(environments).map(([name, config]) => [name, config.models]));
await checkModelModules(discoverModels(path.join(PROJECT_ROOT, 'models')), tables);
buildApp({ env: appEnvironment(process.env), stages: 'context' }).app.synth();
