#!/usr/bin/env node
// The CDK app entry point: `cdk deploy 'Dev/*'` deploys one environment.
import { buildApp } from '../lib/app.js';

buildApp({ env: process.env }).app.synth();
