// The models stack: the endpoint serves the registry's champion pointer, captures encrypted JSON, deploys by canary
// with rollback alarms, autoscales, is monitored on a schedule, and its roles reach only this model's data.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import type { EnvironmentConfig } from '../lib/config/environment-config.js';
import { environments } from '../lib/config/environments.js';
import { type ModelDeclaration, modelEndpointName } from '../lib/config/models.js';
import { BOOTSTRAP_POINTER, challengerParameterName, championParameterName } from '../lib/constructs/model-registry.js';
import { PROJECT_ROOT } from '../lib/constructs/service-function.js';
import { DataStack } from '../lib/stacks/data-stack.js';
import { ModelsStack, shadowComparisonFunctionName } from '../lib/stacks/models-stack.js';
import { loadManifest } from '../models/shared/manifest.js';
import { CDK_CONTEXT, cleanTestApps, templateOf, testApp } from './support/app.js';

const { stages } = testApp();
const dev = templateOf(stages.Dev.models);
const staging = templateOf(stages.Staging.models);
const prod = templateOf(stages.Prod.models);
afterAll(cleanTestApps);

// biome-ignore lint/suspicious/noExplicitAny: template bodies are untyped JSON walked by path.
type Json = any;
// Every served model has its own endpoint, monitors and drift check: these tests read the fraud detector's.
const MODEL = 'fraud-detector';
/** Logical ids of a model's resources start with its construct id (the model name without hyphens). */
const isModels = (logicalId: string, resource: Json, model = MODEL) =>
  resource.Metadata?.['aims:model'] === model ||
  (resource.Metadata?.['aims:model'] === undefined && logicalId.startsWith(model.replace(/-/g, '')));
const ofModel = (template: Template, type: string, model = MODEL): [string, Json][] =>
  (Object.entries(template.findResources(type)) as [string, Json][]).filter(([id, r]) => isModels(id, r, model));
const only = (template: Template, type: string, model = MODEL): Json => {
  const found = ofModel(template, type, model);
  expect(found).toHaveLength(1);
  return found[0]?.[1];
};

/** A models stack of one model in its own throwaway app, with the environment's lifecycle settings overridden. */
function modelsStackOf(
  stageName: 'Dev' | 'Staging',
  model: ModelDeclaration,
  lifecycle: Partial<EnvironmentConfig['lifecycle']> = {},
): ModelsStack {
  const outdir = mkdtempSync(path.join(tmpdir(), 'aims-models-'));
  try {
    const app = new App({ outdir, context: { ...CDK_CONTEXT } });
    const config = environments[stageName];
    const env = { account: config.account, region: config.region };
    const data = new DataStack(app, 'Data', { env, removalPolicy: config.removalPolicy, data: config.data });
    return new ModelsStack(app, 'Models', {
      env,
      stageName,
      data,
      models: [model],
      settings: { ...config.lifecycle, ...lifecycle },
      serving: config.models,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('GIVEN the models stack of each environment', () => {
  test('THEN the endpoint name is the derived literal the score service is granted', () => {
    for (const [name, template] of [
      ['Dev', dev],
      ['Prod', prod],
    ] as const) {
      template.hasResourceProperties('AWS::SageMaker::Endpoint', {
        EndpointName: modelEndpointName(name, 'fraud-detector'),
      });
    }
  });

  test('THEN every model of the environments table has its own endpoint, named from stage and model', () => {
    for (const [stage, template] of [
      ['Dev', dev],
      ['Staging', staging],
      ['Prod', prod],
    ] as const) {
      const names = Object.keys(environments[stage].models);
      expect(names).toEqual(expect.arrayContaining(['fraud-detector', 'merchant-risk']));
      for (const model of names) {
        template.hasResource('AWS::SageMaker::Endpoint', {
          Metadata: { 'aims:model': model, 'aims:role': 'endpoint' },
          Properties: Match.objectLike({ EndpointName: modelEndpointName(stage, model) }),
        });
      }
      expect(Object.keys(template.findResources('AWS::SageMaker::Endpoint'))).toHaveLength(names.length);
    }
  });

  test('THEN the endpoint, its config and its model carry the model and role metadata', () => {
    for (const [type, role] of [
      ['AWS::SageMaker::Endpoint', 'endpoint'],
      ['AWS::SageMaker::EndpointConfig', 'endpoint-config'],
      ['AWS::SageMaker::Model', 'model'],
    ] as const) {
      expect(only(dev, type).Metadata).toMatchObject({ 'aims:model': 'fraud-detector', 'aims:role': role });
    }
    dev.hasResource('AWS::Lambda::Function', {
      Metadata: { 'aims:model': 'fraud-detector', 'aims:role': 'drift-check' },
      Properties: { Environment: { Variables: Match.objectLike({ MODEL_NAME: 'fraud-detector' }) } },
    });
  });

  test('THEN the instance type follows the manifest: CPU in dev, ml.g5 GPUs in staging and prod', () => {
    const variant = (t: Template) => only(t, 'AWS::SageMaker::EndpointConfig').Properties.ProductionVariants[0];
    expect(variant(dev).InstanceType).toBe('ml.c6i.xlarge');
    expect(variant(staging).InstanceType).toBe('ml.g5.xlarge');
    expect(variant(prod).InstanceType).toBe('ml.g5.2xlarge');
    expect(variant(prod).InitialInstanceCount).toBe(2);
  });

  test('THEN capture is JSON, sampled per environment and encrypted by DataCaptureConfig.KmsKeyId only', () => {
    for (const [template, percent] of [
      [dev, 100],
      [prod, 20],
    ] as const) {
      const config = only(template, 'AWS::SageMaker::EndpointConfig').Properties;
      // ml.g5 has local NVMe storage: a top-level KmsKeyId would make CreateEndpointConfig fail.
      expect(config.KmsKeyId).toBeUndefined();
      expect(config.DataCaptureConfig).toMatchObject({
        EnableCapture: true,
        InitialSamplingPercentage: percent,
        CaptureContentTypeHeader: { JsonContentTypes: ['application/json'] },
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      });
      expect(JSON.stringify(config.DataCaptureConfig.KmsKeyId)).toContain('DataKey');
    }
  });

  test('THEN the model runs the regional Triton image with the manifest name as the default model', () => {
    const container = only(dev, 'AWS::SageMaker::Model').Properties.PrimaryContainer;
    expect(container.Environment).toEqual({ SAGEMAKER_TRITON_DEFAULT_MODEL_NAME: 'fraud-detector' });
    // The DLC account of eu-west-1 (region-info fact), not a hand-typed one.
    expect(JSON.stringify(container.Image)).toMatch(/763104351884\.dkr\.ecr\.eu-west-1\..*sagemaker-tritonserver:/);
  });

  test('THEN the model data comes from the champion pointer (SSM-typed parameter) or the bundled bootstrap', () => {
    const params = dev.toJSON().Parameters as Record<string, Json>;
    const pointer = Object.entries(params).find(
      ([, p]) => p.Default === championParameterName('Dev', 'fraud-detector'),
    );
    expect(pointer?.[1].Type).toBe('AWS::SSM::Parameter::Value<String>');
    const condition = Object.values(dev.toJSON().Conditions as Record<string, Json>).find((c) =>
      JSON.stringify(c).includes(`"${pointer?.[0]}"`),
    );
    expect(condition).toEqual({ 'Fn::Equals': [{ Ref: pointer?.[0] }, BOOTSTRAP_POINTER] });
    const url = only(dev, 'AWS::SageMaker::Model').Properties.PrimaryContainer.ModelDataUrl;
    expect(url['Fn::If'][2]).toEqual({ 'Fn::Join': ['', [{ Ref: pointer?.[0] }, 'model.tar.gz']] });
    expect(JSON.stringify(url['Fn::If'][1])).toContain('s3://');
  });

  test('THEN the endpoint deploys by blue/green canary and rolls back on 5xx, latency p99 and score shift', () => {
    const alarmIds = new Capture();
    prod.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: {
            Type: 'CANARY',
            CanarySize: { Type: 'CAPACITY_PERCENT', Value: environments.Prod.lifecycle.canary.capacityPercent },
            WaitIntervalInSeconds: environments.Prod.lifecycle.canary.bakeMinutes * 60,
          },
        },
        AutoRollbackConfiguration: { Alarms: alarmIds },
      },
    });
    const refs = (alarmIds.asArray() as Array<{ AlarmName: { Ref: string } }>).map((a) => a.AlarmName.Ref);
    const alarms = prod.toJSON().Resources as Record<string, Json>;
    const metrics = refs.map((id) => `${alarms[id].Properties.Namespace}/${alarms[id].Properties.MetricName}`).sort();
    expect(metrics).toEqual([
      'AIMS/Models/ScoreShiftPsi',
      'AWS/SageMaker/Invocation5XXErrors',
      'AWS/SageMaker/ModelLatency',
    ]);
    const latency = refs.map((id) => alarms[id]).find((a) => a.Properties.MetricName === 'ModelLatency');
    expect(latency.Properties).toMatchObject({
      ExtendedStatistic: 'p99',
      Threshold: environments.Prod.lifecycle.alarms.modelLatencyP99Ms * 1000,
      Dimensions: [
        { Name: 'EndpointName', Value: 'aims-prod-fraud-detector' },
        { Name: 'VariantName', Value: 'champion' },
      ],
    });
  });

  test('THEN target tracking scales the stable champion variant within the manifest capacity', () => {
    prod.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ResourceId: 'endpoint/aims-prod-fraud-detector/variant/champion',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 2,
      MaxCapacity: 8,
    });
    prod.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        TargetValue: environments.Prod.lifecycle.invocationsPerInstanceTarget,
      }),
    });
  });

  test('THEN only the environments that ask for it serve a shadow variant', () => {
    const shadows = (t: Template) => only(t, 'AWS::SageMaker::EndpointConfig').Properties.ShadowProductionVariants;
    expect(shadows(dev)).toBeUndefined();
    expect(shadows(staging)).toBeUndefined();
    // Prod shadows the challenger on real traffic, on as many instances as the champion's floor (ADR 0005).
    const champion = only(prod, 'AWS::SageMaker::EndpointConfig').Properties.ProductionVariants[0];
    expect(shadows(prod)).toEqual([
      expect.objectContaining({ VariantName: 'shadow', InitialInstanceCount: champion.InitialInstanceCount }),
    ]);
  });

  test('THEN the shadow serves the challenger pointer under its own bootstrap condition, the champion its own', () => {
    const params = prod.toJSON().Parameters as Record<string, Json>;
    const idOf = (name: string) => Object.entries(params).find(([, p]) => p.Default === name)?.[0];
    const champion = idOf(championParameterName('Prod', 'fraud-detector'));
    const challenger = idOf(challengerParameterName('Prod', 'fraud-detector'));
    expect(params[challenger as string].Type).toBe('AWS::SSM::Parameter::Value<String>');
    const conditions = prod.toJSON().Conditions as Record<string, Json>;
    const conditionOn = (ref: string | undefined) =>
      Object.entries(conditions).find(
        ([, c]) => JSON.stringify(c) === JSON.stringify({ 'Fn::Equals': [{ Ref: ref }, BOOTSTRAP_POINTER] }),
      )?.[0];
    const models = ofModel(prod, 'AWS::SageMaker::Model');
    const urlOf = (id: string) =>
      models.find(([logicalId]) => logicalId.includes(id))?.[1].Properties.PrimaryContainer.ModelDataUrl;
    const shadowUrl = urlOf('ShadowModel');
    expect(models.find(([id]) => id.includes('ShadowModel'))?.[1].Metadata).toMatchObject({
      'aims:model': 'fraud-detector',
      'aims:role': 'shadow-model',
    });
    expect(shadowUrl['Fn::If'][0]).toBe(conditionOn(challenger));
    expect(shadowUrl['Fn::If'][2]).toEqual({ 'Fn::Join': ['', [{ Ref: challenger }, 'model.tar.gz']] });
    const championUrl = models.find(([id]) => !id.includes('ShadowModel'))?.[1].Properties.PrimaryContainer
      .ModelDataUrl;
    expect(championUrl['Fn::If'][0]).toBe(conditionOn(champion));
    // Environments without a shadow read no challenger at all.
    expect(JSON.stringify(dev.toJSON().Parameters)).not.toContain('/challenger');
  });

  test('THEN only a shadow environment compares the shadow with the champion, on a schedule, with the policy and manifest thresholds', () => {
    const comparisons = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function')).filter(
        (f: Json) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'shadow-compare',
      ) as Json[];
    expect(comparisons(dev)).toEqual([]);
    expect(comparisons(staging)).toEqual([]);
    const [fn] = comparisons(prod);
    expect(fn.Metadata).toMatchObject({ 'aims:model': 'fraud-detector', 'aims:role': 'shadow-compare' });
    const manifest = loadManifest(path.join(PROJECT_ROOT, 'models/fraud-detector'));
    const shadow = environments.Prod.lifecycle.shadow;
    expect(fn.Properties.FunctionName).toBe(shadowComparisonFunctionName('Prod', 'fraud-detector'));
    expect(fn.Properties.Environment.Variables).toMatchObject({
      MODEL_NAME: 'fraud-detector',
      CAPTURE_PREFIX: `fraud-detector/${modelEndpointName('Prod', 'fraud-detector')}/`,
      CHAMPION_VARIANT: 'champion',
      SHADOW_VARIANT: 'shadow',
      WINDOW_MINUTES: String(shadow.windowMinutes),
      MODEL_THRESHOLDS: JSON.stringify(environments.Prod.models['fraud-detector'].thresholds),
      SHADOW_THRESHOLDS: JSON.stringify(manifest.monitoring.shadow),
    });
    prod.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `rate(${shadow.compareEveryMinutes} minutes)`,
      Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    // ShadowCompared is a bus event like the others: the services stack registers its schema with theirs.
    expect(Object.values(prod.findResources('AWS::EventSchemas::Schema'))).toEqual([]);
  });

  test("THEN the shadow comparison reads only the two variants' capture of this endpoint, decrypts, and may park a failed run in the DLQ", () => {
    const policies = Object.values(prod.findResources('AWS::IAM::Policy')) as Json[];
    const statements = policies
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('frauddetectorShadowComparison'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
    expect(actions).toEqual([
      'events:PutEvents',
      'kms:Decrypt',
      // A failed run is sent to the models DLQ (encrypted) by Lambda with the function's role.
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:GetObject',
      's3:ListBucket',
      'sqs:SendMessage',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    const get = statements.find((s) => s.Action === 's3:GetObject');
    const endpoint = modelEndpointName('Prod', 'fraud-detector');
    expect(JSON.stringify(get.Resource)).toContain(`/fraud-detector/${endpoint}/champion/*`);
    expect(JSON.stringify(get.Resource)).toContain(`/fraud-detector/${endpoint}/shadow/*`);
  });

  test('THEN data quality runs hourly against the pointer baseline and model quality daily on ground truth', () => {
    const dqId = ofModel(dev, 'AWS::SageMaker::DataQualityJobDefinition')[0]?.[0];
    const mqId = ofModel(dev, 'AWS::SageMaker::ModelQualityJobDefinition')[0]?.[0];
    // The name CloudFormation generates, read from the definition's ARN (its Ref).
    const nameOf = (id: string | undefined) => ({ 'Fn::Select': [1, { 'Fn::Split': ['/', { Ref: id }] }] });
    dev.hasResourceProperties('AWS::SageMaker::MonitoringSchedule', {
      MonitoringScheduleName: 'aims-dev-fraud-detector-data-quality',
      MonitoringScheduleConfig: {
        MonitoringJobDefinitionName: nameOf(dqId),
        MonitoringType: 'DataQuality',
        ScheduleConfig: { ScheduleExpression: 'cron(0 * ? * * *)' },
      },
    });
    dev.hasResourceProperties('AWS::SageMaker::MonitoringSchedule', {
      MonitoringScheduleConfig: Match.objectLike({
        MonitoringJobDefinitionName: nameOf(mqId),
        MonitoringType: 'ModelQuality',
      }),
    });
    const dq = only(dev, 'AWS::SageMaker::DataQualityJobDefinition').Properties;
    // Model Monitor's analyzer lives in its own per-region account (468650794304 in eu-west-1).
    expect(JSON.stringify(dq.DataQualityAppSpecification.ImageUri)).toMatch(
      /468650794304\.dkr\.ecr\.eu-west-1\..*sagemaker-model-monitor-analyzer/,
    );
    expect(dq.DataQualityAppSpecification.RecordPreprocessorSourceUri).toBeDefined();
    const environment = dq.DataQualityAppSpecification.Environment as Record<string, string>;
    const chunks = Object.keys(environment).filter((k) => k.startsWith('FEATURE_NAMES_'));
    expect(chunks).toEqual(chunks.map((_, i) => `FEATURE_NAMES_${i}`));
    expect(chunks.flatMap((k) => (environment[k] as string).split(','))).toEqual(
      loadManifest(path.join(PROJECT_ROOT, 'models/fraud-detector')).features,
    );
    expect(dq.DataQualityBaselineConfig.StatisticsResource.S3Uri['Fn::If']).toBeDefined();
    const mq = only(dev, 'AWS::SageMaker::ModelQualityJobDefinition').Properties;
    expect(mq.ModelQualityAppSpecification.ProblemType).toBe('BinaryClassification');
    expect(JSON.stringify(mq.ModelQualityJobInput.GroundTruthS3Input)).toContain('/ground-truth');
  });

  test("THEN every monitoring environment value fits SageMaker's 256 characters (registry schema, cfn-lint E3033)", () => {
    for (const template of [dev, staging, prod]) {
      for (const [type, spec] of [
        ['AWS::SageMaker::DataQualityJobDefinition', 'DataQualityAppSpecification'],
        ['AWS::SageMaker::ModelQualityJobDefinition', 'ModelQualityAppSpecification'],
      ] as const) {
        for (const resource of Object.values(template.findResources(type)) as Json[]) {
          const environment = (resource.Properties[spec].Environment ?? {}) as Record<string, unknown>;
          expect(Object.keys(environment).length).toBeLessThanOrEqual(50);
          for (const value of Object.values(environment)) expect(String(value).length).toBeLessThanOrEqual(256);
        }
      }
    }
  });

  test('THEN CloudFormation names the job definitions, so a new champion can replace them', () => {
    for (const template of [dev, staging, prod]) {
      for (const type of ['AWS::SageMaker::DataQualityJobDefinition', 'AWS::SageMaker::ModelQualityJobDefinition']) {
        for (const resource of Object.values(template.findResources(type)) as Json[]) {
          expect(resource.Properties.JobDefinitionName).toBeUndefined();
        }
      }
    }
  });

  test('THEN no function reserves concurrency (it needs an account quota above 100 that new accounts lack)', () => {
    for (const template of [dev, staging, prod]) {
      for (const fn of Object.values(template.findResources('AWS::Lambda::Function')) as Json[]) {
        expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
      }
    }
  });

  test('THEN the drift check may read back the assessment it replaces (its compare-and-swap)', () => {
    const role = Object.values(dev.findResources('AWS::IAM::Policy')).find((p: Json) =>
      JSON.stringify(p.Properties.Roles).includes('DriftCheck'),
    ) as Json;
    const statuses = (role.Properties.PolicyDocument.Statement as Json[]).filter((s) =>
      JSON.stringify(s.Resource).includes('drift-status/fraud-detector/latest.json'),
    );
    expect(statuses.flatMap((s) => s.Action).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
  });

  test('THEN the drift check writes a dated copy of each assessment, and a batch model’s reads its transform capture', () => {
    const checkOf = (model: string) => {
      const [id, fn] = Object.entries(dev.findResources('AWS::Lambda::Function')).find(
        ([, f]: [string, Json]) => f.Metadata?.['aims:model'] === model && f.Metadata?.['aims:role'] === 'drift-check',
      ) as [string, Json];
      const policy = Object.values(dev.findResources('AWS::IAM::Policy')).find((p: Json) =>
        JSON.stringify(p.Properties.Roles).includes(fn.Properties.Role['Fn::GetAtt'][0]),
      ) as Json;
      expect(id).toBeDefined();
      return { env: fn.Properties.Environment.Variables, grants: JSON.stringify(policy.Properties.PolicyDocument) };
    };
    const fraud = checkOf('fraud-detector');
    const merchant = checkOf('merchant-risk');
    // Real time only: no batch capture to read.
    expect(fraud.env.BATCH_CAPTURE_PREFIX).toBeUndefined();
    expect(fraud.grants).not.toContain('batch-transform');
    expect(merchant.env.BATCH_CAPTURE_PREFIX).toBe('merchant-risk/batch-transform/');
    expect(merchant.grants).toContain(
      '"s3:prefix":["merchant-risk/aims-dev-merchant-risk/*","merchant-risk/batch-transform/*"]',
    );
    expect(merchant.grants).toContain('/merchant-risk/batch-transform/*');
    for (const [model, check] of [
      ['fraud-detector', fraud],
      ['merchant-risk', merchant],
    ] as const) {
      expect(check.grants).toContain(`/drift-status/${model}/history/*`);
    }
  });

  test('THEN drift alarms relay to ModelDriftDetected and the stream check runs on its schedule', () => {
    dev.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.cloudwatch'], detail: { state: { value: ['ALARM'] } } }),
    });
    dev.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `rate(${environments.Dev.lifecycle.driftCheckMinutes} minutes)`,
    });
  });

  test("THEN the endpoint role reads only this model's artifacts and writes only its capture prefix", () => {
    const policy = Object.values(dev.findResources('AWS::IAM::Policy')).find((p: Json) =>
      JSON.stringify(p.Properties.Roles).includes('frauddetectorEndpointRole'),
    ) as Json;
    expect(policy).toBeDefined();
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(
      [
        'cloudwatch:PutMetricData',
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:GetAuthorizationToken',
        'ecr:GetDownloadUrlForLayer',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'logs:CreateLogGroup',
        'logs:CreateLogStream',
        'logs:DescribeLogStreams',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:PutObject',
      ].sort(),
    );
    const put = statements.find((s) => s.Action === 's3:PutObject');
    expect(JSON.stringify(put.Resource)).toContain('/fraud-detector/*');
  });
});

describe('GIVEN the two endpoint shapes: idle to zero (dev, staging) and always on (prod)', () => {
  const resources = (t: Template): Record<string, Json> => t.toJSON().Resources;
  const idOf = (t: Template, predicate: (r: Json) => boolean) =>
    Object.entries(resources(t)).find(([id, r]) => id.startsWith('frauddetector') && predicate(r))?.[0];

  test('THEN dev serves the model in an inference component on managed instances that may drop to 0', () => {
    expect(environments.Dev.lifecycle.idle).toEqual({ scaleInAfterMinutes: 30 });
    const config = only(dev, 'AWS::SageMaker::EndpointConfig').Properties;
    expect(config.ProductionVariants).toEqual([
      expect.objectContaining({
        VariantName: 'champion',
        ManagedInstanceScaling: { Status: 'ENABLED', MinInstanceCount: 0, MaxInstanceCount: 1 },
      }),
    ]);
    expect(config.ProductionVariants[0].ModelName).toBeUndefined();
    expect(config.ExecutionRoleArn).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^frauddetectorEndpointRole/), 'Arn'],
    });
    // Capture and Model Monitor stay on the endpoint (ADR 0005 says what is unverified there).
    expect(config.DataCaptureConfig).toMatchObject({ EnableCapture: true, InitialSamplingPercentage: 100 });
    const component = only(dev, 'AWS::SageMaker::InferenceComponent');
    expect(component.Metadata).toMatchObject({ 'aims:model': 'fraud-detector', 'aims:role': 'inference-component' });
    expect(component.Properties).toMatchObject({
      InferenceComponentName: 'aims-dev-fraud-detector-champion',
      VariantName: 'champion',
      EndpointName: { 'Fn::GetAtt': [expect.stringMatching(/^frauddetectorEndpoint[0-9A-F]{8}$/), 'EndpointName'] },
      Specification: {
        ModelName: { 'Fn::GetAtt': [expect.stringMatching(/^frauddetectorEndpointModel/), 'ModelName'] },
      },
    });
    // Its endpoint has no blue/green policy: a new model rolls through the component.
    expect(only(dev, 'AWS::SageMaker::Endpoint').Properties.DeploymentConfig).toBeUndefined();
  });

  test('THEN a new model rolls through the component by the canary share and rolls back on the same three alarms', () => {
    const deployment = only(dev, 'AWS::SageMaker::InferenceComponent').Properties.DeploymentConfig;
    expect(deployment.RollingUpdatePolicy).toMatchObject({
      MaximumBatchSize: { Type: 'CAPACITY_PERCENT', Value: environments.Dev.lifecycle.canary.capacityPercent },
      WaitIntervalInSeconds: environments.Dev.lifecycle.canary.bakeMinutes * 60,
    });
    const refs = (deployment.AutoRollbackConfiguration.Alarms as { AlarmName: { Ref: string } }[]).map(
      (a) => a.AlarmName.Ref,
    );
    const alarms = refs.map((id) => resources(dev)[id].Properties);
    expect(alarms.map((a) => a.MetricName).sort()).toEqual(['Invocation5XXErrors', 'ModelLatency', 'ScoreShiftPsi']);
    // SageMaker reports a component's invocations under its name, not under endpoint and variant.
    for (const alarm of alarms.filter((a) => a.Namespace === 'AWS/SageMaker')) {
      expect(alarm.Dimensions).toEqual([{ Name: 'InferenceComponentName', Value: 'aims-dev-fraud-detector-champion' }]);
    }
  });

  test('THEN copies scale 0..max: to 0 after the idle minutes, back to 1 on a request that found none', () => {
    dev.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ResourceId: 'inference-component/aims-dev-fraud-detector-champion',
      ScalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
      MinCapacity: 0,
      MaxCapacity: 1,
    });
    dev.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerInferenceComponentInvocationsPerCopy' },
        DisableScaleIn: true,
      }),
    });
    const alarmOn = (metric: string) =>
      idOf(dev, (r) => r.Properties?.MetricName === metric && r.Properties?.AlarmActions);
    const policyOf = (alarmId: string | undefined) =>
      resources(dev)[resources(dev)[alarmId as string].Properties.AlarmActions[0].Ref].Properties;
    const idle = resources(dev)[alarmOn('Invocations') as string];
    expect(idle.Metadata).toMatchObject({ 'aims:model': 'fraud-detector', 'aims:role': 'scale-to-zero' });
    expect(idle.Properties).toMatchObject({
      Dimensions: [{ Name: 'InferenceComponentName', Value: 'aims-dev-fraud-detector-champion' }],
      Period: 60,
      EvaluationPeriods: 30,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(policyOf(alarmOn('Invocations')).StepScalingPolicyConfiguration).toMatchObject({
      AdjustmentType: 'ExactCapacity',
      StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: 0 }],
    });
    expect(policyOf(alarmOn('NoCapacityInvocationFailures')).StepScalingPolicyConfiguration).toMatchObject({
      AdjustmentType: 'ChangeInCapacity',
      StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
    });
  });

  test('THEN staging idles too: its GPU endpoint in a component, to 0 copies after an hour without a call', () => {
    expect(environments.Staging.lifecycle).toMatchObject({ idle: { scaleInAfterMinutes: 60 }, shadow: false });
    const config = only(staging, 'AWS::SageMaker::EndpointConfig').Properties;
    expect(config.ProductionVariants).toEqual([
      expect.objectContaining({
        InstanceType: 'ml.g5.xlarge',
        ManagedInstanceScaling: expect.objectContaining({ MinInstanceCount: 0 }),
      }),
    ]);
    expect(config.ShadowProductionVariants).toBeUndefined();
    expect(only(staging, 'AWS::SageMaker::InferenceComponent').Properties.InferenceComponentName).toBe(
      'aims-staging-fraud-detector-champion',
    );
    staging.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'InferenceComponentName', Value: 'aims-staging-fraud-detector-champion' }],
      EvaluationPeriods: 60,
    });
  });

  test('THEN prod stays always on: model on the variant, no component, instances from capacity.min', () => {
    for (const [template, stage] of [[prod, 'prod']] as const) {
      expect(template.findResources('AWS::SageMaker::InferenceComponent')).toEqual({});
      const variant = only(template, 'AWS::SageMaker::EndpointConfig').Properties.ProductionVariants[0];
      expect(variant.ModelName).toBeDefined();
      expect(variant.ManagedInstanceScaling).toBeUndefined();
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        ResourceId: `endpoint/aims-${stage}-fraud-detector/variant/champion`,
        MinCapacity: Match.anyValue(),
      });
      expect(idOf(template, (r) => r.Properties?.MetricName === 'NoCapacityInvocationFailures')).toBeUndefined();
    }
  });

  test('WHEN an environment asks for idle endpoints and a shadow variant, or an idle time out of range THEN synth refuses', () => {
    const dir = path.join(PROJECT_ROOT, 'models/fraud-detector');
    const attempt = (lifecycle: Partial<EnvironmentConfig['lifecycle']>) => () =>
      modelsStackOf('Staging', { dir, manifest: loadManifest(dir) }, lifecycle);
    expect(attempt({ idle: { scaleInAfterMinutes: 30 }, shadow: environments.Prod.lifecycle.shadow })).toThrow(
      /idles to zero has no shadow variant/,
    );
    expect(attempt({ idle: { scaleInAfterMinutes: 0 }, shadow: false })).toThrow(
      /idle.scaleInAfterMinutes must be a whole number from 1 to 1440, got 0/,
    );
  });
});

describe('GIVEN a model folder without its committed bootstrap model', () => {
  test('WHEN the models stack bundles its bootstrap THEN synth fails and says how to refresh it', () => {
    const modelDir = mkdtempSync(path.join(tmpdir(), 'aims-model-'));
    try {
      const manifest = loadManifest(path.join(PROJECT_ROOT, 'models/fraud-detector'));
      expect(() => modelsStackOf('Dev', { dir: modelDir, manifest })).toThrow(
        /bootstrap\/model-card\.json not found.*npm run train -- --bootstrap/s,
      );
    } finally {
      rmSync(modelDir, { recursive: true, force: true });
    }
  });
});
