#!/usr/bin/env node
// The CDK app entry point: `cdk deploy 'Dev/*'` deploys one environment; `-c aims:stages=Dev` builds only that one.
import { buildApp } from '../lib/app.js';
import { appEnvironment } from '../lib/config/app-inputs.js';

buildApp({ env: appEnvironment(process.env), stages: 'context' }).app.synth();
