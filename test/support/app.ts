// Builds the real AIMS app for tests, with cdk.json's feature flags and a throwaway output folder.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app.js';
import type { StageName } from '../../lib/config/environment-config.js';
import { PROJECT_ROOT } from '../../lib/constructs/service-function.js';
import type { AimsStage } from '../../lib/stages/aims-stage.js';

const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};

/** The feature flags and settings the CLI passes to the app. */
export const CDK_CONTEXT = cdkJson.context;

const outdirs: string[] = [];

export interface TestApp {
  readonly app: App;
  readonly stages: Record<StageName, AimsStage>;
}

/**
 * GIVEN the AIMS app as bin/ builds it. Lambda bundling is skipped unless `bundle` is set: tests assert the
 * wiring, and the bundles themselves are exercised by the local stage.
 */
export function testApp(options: { env?: Record<string, string>; bundle?: boolean; nag?: boolean } = {}): TestApp {
  const outdir = mkdtempSync(path.join(tmpdir(), 'aims-cdk-'));
  outdirs.push(outdir);
  const context: Record<string, unknown> = { ...CDK_CONTEXT };
  if (!options.bundle) context['aws:cdk:bundling-stacks'] = [];
  context['aws:cdk:enable-asset-metadata'] = true;
  return buildApp({ outdir, context, env: options.env ?? {}, nag: options.nag ?? false });
}

export function templateOf(stack: Parameters<typeof Template.fromStack>[0]): Template {
  return Template.fromStack(stack);
}

/** Removes every output folder the tests created (call from afterAll). */
export function cleanTestApps(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
