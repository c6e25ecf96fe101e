// A batch model's nightly run in the models stack: the Scheduler schedule from the manifest (own role, DLQ, retries,
// KMS), the state machine's states and what they pass, the transform on the endpoint's model with data capture, the
// tasks' grants, the models API's read of the predictions, and the failure alarm.

import * as path from 'node:path';
import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { environments } from '../lib/config/environments.js';
import { BATCH_TASKS } from '../lib/constructs/batch-inference.js';
import { PROJECT_ROOT } from '../lib/constructs/service-function.js';
import { loadManifest } from '../models/shared/manifest.js';
import { cleanTestApps, templateOf, testApp } from './support/app.js';

const { stages } = testApp();
const dev = templateOf(stages.Dev.models);
const prod = templateOf(stages.Prod.models);
const devServices = templateOf(stages.Dev.services);
const devObservability = templateOf(stages.Dev.observability);
afterAll(cleanTestApps);
const manifest = loadManifest(path.join(PROJECT_ROOT, 'models', 'merchant-risk'));

// biome-ignore lint/suspicious/noExplicitAny: template bodies are untyped JSON walked by path.
type Json = any;

function definitionOf(template: Template): Json {
  const machines = template.findResources('AWS::StepFunctions::StateMachine', {
    Metadata: { 'aims:model': 'merchant-risk', 'aims:role': 'batch-inference' },
  });
  const [machine] = Object.values(machines) as Json[];
  const parts = machine.Properties.DefinitionString['Fn::Join'][1] as Json[];
  // Tokens (ARNs, names) become placeholders: the structure is what is asserted.
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
}

describe('GIVEN merchant-risk, served in batch, in each environment', () => {
  test('THEN only batch models get a nightly run: one state machine, one schedule, tagged with the model', () => {
    for (const t of [dev, prod]) {
      t.resourceCountIs('AWS::Scheduler::Schedule', 1);
      t.hasResource('AWS::StepFunctions::StateMachine', {
        Metadata: { 'aims:model': 'merchant-risk', 'aims:role': 'batch-inference' },
      });
    }
    expect(
      Object.keys(
        dev.findResources('AWS::StepFunctions::StateMachine', { Metadata: { 'aims:model': 'fraud-detector' } }),
      ),
    ).toEqual([]);
  });

  test('THEN the schedule is the manifest cron in UTC, with its own role, a DLQ, retries, the data key and the scheduled time as input', () => {
    const role = new Capture();
    dev.hasResource('AWS::Scheduler::Schedule', {
      Metadata: { 'aims:model': 'merchant-risk', 'aims:role': 'batch-schedule' },
      Properties: {
        ScheduleExpression: manifest.serving.batch?.schedule,
        ScheduleExpressionTimezone: 'Etc/UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        KmsKeyArn: Match.anyValue(),
        Target: {
          Arn: { Ref: Match.stringLikeRegexp('^merchantriskBatchStateMachine') },
          RoleArn: { 'Fn::GetAtt': [role, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 21600 },
          Input: JSON.stringify({ run: { scheduledTime: '<aws.scheduler.scheduled-time>' } }),
        },
      },
    });
    const policies = dev.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: role.asString() }] },
    }) as Record<string, Json>;
    const actions = Object.values(policies).flatMap((p) =>
      p.Properties.PolicyDocument.Statement.flatMap((s: Json) => [s.Action].flat()),
    );
    expect(new Set(actions)).toEqual(
      new Set(['states:StartExecution', 'sqs:SendMessage', 'kms:Decrypt', 'kms:GenerateDataKey']),
    );
  });

  test('THEN the run is champion → plan → Athena (module query, the day as parameter) → prepare → transform → publish → PredictionsReady, every task caught', () => {
    const asl = definitionOf(dev);
    expect(asl.StartAt).toBe('ReadChampion');
    for (const task of BATCH_TASKS) {
      expect(asl.States[task]).toBeDefined();
      expect(asl.States[task].Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'BatchRunFailed' },
      ]);
    }
    expect(asl.States.QueryPopulation.Parameters).toMatchObject({
      'QueryString.$': '$.plan.query',
      'ExecutionParameters.$': '$.plan.parameters',
      QueryExecutionContext: { Database: 'aims_dev_lake' },
    });
    expect(asl.States['AnyRows?'].Default).toBe('Publish');
    expect(asl.States['AnyRows?'].Choices[0]).toMatchObject({ Variable: '$.prepared.rows', Next: 'Transform' });
    expect(asl.States.PublishReady.Parameters.Entries[0]).toMatchObject({
      Source: 'aims.batch',
      DetailType: 'PredictionsReady',
    });
    expect(asl.States.BatchRunFailed.Type).toBe('Fail');
  });

  test('THEN the transform runs the endpoint’s model on the profile’s batch instance, line by line, with encrypted capture', () => {
    for (const [t, instanceType] of [
      [dev, manifest.serving.batch?.instanceType.dev],
      [prod, manifest.serving.batch?.instanceType.prod],
    ] as const) {
      const transform = definitionOf(t).States.Transform;
      expect(transform.Resource).toBe('arn:TOKEN:states:::sagemaker:createTransformJob.sync');
      expect(transform.Parameters).toMatchObject({
        ModelName: 'TOKEN',
        BatchStrategy: 'SingleRecord',
        'TransformJobName.$': '$.plan.jobName',
        TransformInput: { SplitType: 'Line', ContentType: 'application/json' },
        TransformOutput: { AssembleWith: 'Line', Accept: 'application/json', 'S3OutputPath.$': '$.plan.outputPrefix' },
        TransformResources: { InstanceCount: 1, InstanceType: instanceType },
        DataCaptureConfig: { GenerateInferenceId: true },
      });
      expect(transform.Parameters.DataCaptureConfig.DestinationS3Uri).toMatch(/\/merchant-risk\/batch-transform\/$/);
    }
  });

  test('THEN the state machine may run transform jobs and query the lake, but passes no role and creates no model', () => {
    const role = new Capture();
    dev.hasResource('AWS::StepFunctions::StateMachine', {
      Metadata: { 'aims:role': 'batch-inference' },
      Properties: { RoleArn: { 'Fn::GetAtt': [role, 'Arn'] } },
    });
    const statements = (
      Object.values(
        dev.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role.asString() }] } }),
      ) as Json[]
    ).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const actions = new Set(statements.flatMap((st: Json) => [st.Action].flat()));
    for (const a of [
      'sagemaker:CreateTransformJob',
      'sagemaker:StopTransformJob',
      'athena:StartQueryExecution',
      'events:PutEvents',
    ]) {
      expect(actions).toContain(a);
    }
    expect([...actions].filter((a) => a === 'iam:PassRole' || a === 'sagemaker:CreateModel')).toEqual([]);
  });

  test('THEN the tasks function serves the model module with the environment’s thresholds and reaches only its prefixes and the features table', () => {
    const role = new Capture();
    dev.hasResource('AWS::Lambda::Function', {
      Metadata: { 'aims:model': 'merchant-risk', 'aims:role': 'batch-tasks' },
      Properties: {
        Role: { 'Fn::GetAtt': [role, 'Arn'] },
        Environment: {
          Variables: Match.objectLike({
            MODEL_NAME: 'merchant-risk',
            MODEL_THRESHOLDS: JSON.stringify(environments.Dev.models['merchant-risk']?.thresholds),
            ROWS_PER_REQUEST: String(manifest.serving.batch?.rowsPerRequest),
          }),
        },
      },
    });
    const policies = Object.values(
      dev.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role.asString() }] } }),
    ) as Json[];
    const resources = JSON.stringify(policies.map((p) => p.Properties.PolicyDocument.Statement));
    expect(resources).toContain('/batch/merchant-risk/*');
    expect(resources).toContain('/predictions/merchant-risk/*');
    expect(resources).toContain('/athena-results/*');
    expect(resources).toContain('dynamodb:PutItem');
    expect(resources).not.toContain('"s3:*"');
  });

  test('THEN the models API reads only the predictions of batch models, and a failed run alarms', () => {
    devServices.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ BATCH_MODELS: 'merchant-risk', PREDICTIONS_BUCKET: Match.anyValue() }),
      },
    });
    const readsPredictions = JSON.stringify(devServices.findResources('AWS::IAM::Policy'));
    expect(readsPredictions).toContain('/predictions/merchant-risk/*');
    expect(readsPredictions).not.toContain('/predictions/fraud-detector/');
    devObservability.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('merchant-risk-Batch/StateMachine: a nightly batch run failed'),
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });
});
