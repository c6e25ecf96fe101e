// ServiceFunction: the single way AIMS creates Lambda functions, and what it fixes for all of them.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { MODEL_MODULE_SPECIFIER, modelModuleAlias, ServiceFunction } from '../lib/constructs/service-function.js';
import fraudDetector from '../models/fraud-detector/src/module.js';
import { CDK_CONTEXT } from './support/app.js';

const baseProps = {
  entry: 'test/fixtures/hello-handler.ts',
  serviceName: 'hello',
  metricsNamespace: 'AIMS',
  logRetention: RetentionDays.ONE_WEEK,
  logRemovalPolicy: RemovalPolicy.DESTROY,
};

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function stackWith(props: Partial<typeof baseProps> & Record<string, unknown> = {}, bundle = false) {
  const context: Record<string, unknown> = { ...CDK_CONTEXT };
  if (!bundle) context['aws:cdk:bundling-stacks'] = [];
  // The CLI turns asset metadata on; the local stage finds each function's bundle through it.
  context['aws:cdk:enable-asset-metadata'] = true;
  const outdir = mkdtempSync(path.join(tmpdir(), 'aims-fn-'));
  outdirs.push(outdir);
  const app = new App({ context, outdir });
  const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const fn = new ServiceFunction(stack, 'Hello', { ...baseProps, ...props });
  return { app, stack, fn };
}

describe('GIVEN a ServiceFunction', () => {
  const { stack } = stackWith({ timeout: Duration.seconds(5) } as never);
  const template = Template.fromStack(stack);

  test('THEN it runs on the newest Node.js runtime on ARM64 with active tracing', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 5,
    });
  });

  test('THEN Powertools gets its service name and namespace, and source maps are enabled', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          POWERTOOLS_SERVICE_NAME: 'hello',
          POWERTOOLS_METRICS_NAMESPACE: 'AIMS',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  test('THEN its logs go to its own log group with the given retention', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^HelloLogs') } },
    });
  });
});

describe('GIVEN bundling runs (local esbuild, never Docker)', () => {
  test('THEN the asset is a minified ESM bundle with a source map that Node can import', async () => {
    const { app, stack } = stackWith({}, true);
    const assembly = app.synth();
    const template = Template.fromStack(stack).toJSON() as {
      Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
    };
    const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
    const assetPath = fn?.Metadata?.['aws:asset:path'];
    expect(assetPath).toBeDefined();
    const dir = path.join(assembly.directory, assetPath as string);
    const bundle = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
    expect(existsSync(path.join(dir, 'index.mjs.map'))).toBe(true);
    expect(bundle).toContain('createRequire');
    expect(bundle.split('\n').length).toBeLessThan(10);
    const mod = (await import(path.join(dir, 'index.mjs'))) as { handler: () => Promise<{ statusCode: number }> };
    await expect(mod.handler()).resolves.toMatchObject({ statusCode: 200 });
  });
});

describe('GIVEN a function that serves a model', () => {
  test('WHEN bundled THEN the model-module specifier resolves, at synth, to the module it was given', async () => {
    const modelModule = 'models/fraud-detector/src/module.ts';
    const { app, stack, fn } = stackWith({ entry: 'test/fixtures/model-handler.ts', modelModule }, true);
    expect(fn.modelModule).toBe(modelModule);
    const assembly = app.synth();
    const template = Template.fromStack(stack).toJSON() as {
      Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
    };
    const asset = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function')?.Metadata?.[
      'aws:asset:path'
    ];
    const bundle = path.join(assembly.directory, String(asset), 'index.mjs');
    expect(readFileSync(bundle, 'utf8')).not.toContain(MODEL_MODULE_SPECIFIER);
    const mod = (await import(bundle)) as { handler: () => Promise<{ name: string; features: number }> };
    await expect(mod.handler()).resolves.toEqual({
      name: fraudDetector.name,
      features: fraudDetector.features.names.length,
    });
  });

  test('THEN a model module outside the repository, or not TypeScript, is refused', () => {
    expect(() => modelModuleAlias('/abs/module.ts')).toThrow(/modelModule must be a .ts path inside the repository/);
    expect(() => modelModuleAlias('../elsewhere/module.ts')).toThrow(/got '..\/elsewhere\/module.ts'/);
    expect(() => modelModuleAlias('models/x/src/module.js')).toThrow(/modelModule must be/);
    expect(modelModuleAlias('models/x/src/module.ts')).toEqual({
      '--alias': `${MODEL_MODULE_SPECIFIER}=./models/x/src/module.ts`,
    });
  });
});

describe('GIVEN invalid props', () => {
  test('THEN an absolute or non-TypeScript entry is refused', () => {
    expect(() => stackWith({ entry: '/abs/handler.ts' })).toThrow(/entry must be a .ts path relative/);
    expect(() => stackWith({ entry: 'lambdas/x/handler.js' })).toThrow(/got 'lambdas\/x\/handler.js'/);
  });
  test('THEN a service name that is not kebab-case is refused', () => {
    expect(() => stackWith({ serviceName: 'Score_Service' })).toThrow(/serviceName must be lower-case kebab-case/);
  });
  test('THEN memory outside Lambda limits is refused', () => {
    expect(() => stackWith({ memorySize: 64 } as never)).toThrow(
      /memorySize must be an integer from 128 to 10240 MB, got 64/,
    );
  });
});

describe('GIVEN a live alias', () => {
  test('WHEN it has no provisioned concurrency THEN it points at the current version and nothing scales', () => {
    const { stack, fn } = stackWith();
    const alias = fn.addLiveAlias();
    expect(fn.alias).toBe(alias);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      FunctionVersion: { 'Fn::GetAtt': [Match.stringLikeRegexp('^HelloFunctionCurrentVersion'), 'Version'] },
      ProvisionedConcurrencyConfig: Match.absent(),
    });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
  });

  test('WHEN it has provisioned concurrency THEN the floor is on the alias and target tracking holds utilization', () => {
    const { stack, fn } = stackWith();
    fn.addLiveAlias({ aliasName: 'prod', provisionedConcurrency: { min: 2, max: 9, targetUtilization: 0.6 } });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'prod',
      ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 },
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 2,
      MaxCapacity: 9,
      ScalableDimension: 'lambda:function:ProvisionedConcurrency',
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'LambdaProvisionedConcurrencyUtilization' },
        TargetValue: 0.6,
      },
    });
  });

  test('THEN a second alias, or provisioned concurrency out of range, is refused', () => {
    const { fn } = stackWith();
    fn.addLiveAlias();
    expect(() => fn.addLiveAlias()).toThrow(/already has its live alias 'live'/);
    const pc = (min: number, max: number, targetUtilization: number) => () =>
      stackWith().fn.addLiveAlias({ provisionedConcurrency: { min, max, targetUtilization } });
    expect(pc(0, 5, 0.7)).toThrow(/provisionedConcurrency.min must be an integer of at least 1, got 0/);
    expect(pc(5, 4, 0.7)).toThrow(/provisionedConcurrency.max must be an integer of at least min \(5\), got 4/);
    expect(pc(1, 4, 0.95)).toThrow(/targetUtilization must be from 0.1 to 0.9, got 0.95/);
  });
});

describe('GIVEN a ServiceFunction that works for a model', () => {
  test('THEN its function carries the model and role metadata the local stage finds it by', () => {
    const { stack } = stackWith({ modelTag: { model: 'fraud-detector', role: 'drift-check' } });
    Template.fromStack(stack).hasResource('AWS::Lambda::Function', {
      Metadata: { 'aims:model': 'fraud-detector', 'aims:role': 'drift-check' },
    });
  });

  test('THEN a function for no model carries no model metadata', () => {
    const functions = Template.fromStack(stackWith().stack).findResources('AWS::Lambda::Function');
    for (const fn of Object.values(functions)) expect(fn.Metadata?.['aims:model']).toBeUndefined();
  });

  test('THEN a model name that is no folder name, or an unknown role, is refused', () => {
    expect(() => stackWith({ modelTag: { model: 'Fraud Detector', role: 'score' } })).toThrow(
      /a model name must be lower-case kebab-case \(a models\/ folder\), got 'Fraud Detector'/,
    );
    expect(() => stackWith({ modelTag: { model: 'fraud-detector', role: 'scorer' } })).toThrow(
      /role must be one of endpoint, .*got 'scorer'/,
    );
  });
});
