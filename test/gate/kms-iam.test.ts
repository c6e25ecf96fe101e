// The KMS and IAM gate check: each class of finding is found in a small fixture. The real stages are checked by
// `npm run gate` (part of `npm test`), which fails on any error or stale acknowledgement over all stages.
import { StageTemplates } from '../support/iam-grants.js';
import type { CfnResource, CfnTemplate, Json } from './assembly.js';
import { checkStage } from './kms-iam.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const ROOT = { AWS: `arn:aws:iam::${ACCOUNT}:root` };

/** A data stack fixture: a key that delegates to IAM, a bucket and a queue under it. */
function dataStack(extraKeyStatements: Json[] = []): CfnTemplate {
  return {
    Resources: {
      Key: {
        Type: 'AWS::KMS::Key',
        Properties: {
          KeyPolicy: {
            Statement: [{ Effect: 'Allow', Principal: ROOT, Action: 'kms:*', Resource: '*' }, ...extraKeyStatements],
          },
        },
      },
      Bucket: {
        Type: 'AWS::S3::Bucket',
        Properties: {
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              {
                ServerSideEncryptionByDefault: {
                  SSEAlgorithm: 'aws:kms',
                  KMSMasterKeyID: { 'Fn::GetAtt': ['Key', 'Arn'] },
                },
              },
            ],
          },
        },
      },
    },
    Outputs: { KeyArn: { Value: { 'Fn::GetAtt': ['Key', 'Arn'] } } },
  };
}

function role(service: string): CfnResource {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
      },
    },
  };
}

function policy(roleId: string, statements: Json[]): CfnResource {
  return {
    Type: 'AWS::IAM::Policy',
    Properties: { Roles: [{ Ref: roleId }], PolicyDocument: { Statement: statements } },
  };
}

async function findings(resources: Record<string, CfnResource>, keyStatements: Json[] = []) {
  const templates = new StageTemplates([
    { stackName: 'T-Data', template: dataStack(keyStatements), account: ACCOUNT, region: REGION },
    { stackName: 'T-App', template: { Resources: resources }, account: ACCOUNT, region: REGION },
  ]);
  return (await checkStage(templates)).errors;
}

const bucketObjects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, '/data/*']] };

describe('GIVEN a role that reads objects of a bucket encrypted with a customer-managed key', () => {
  // The reader lives in the data stack itself so that its grant refers to the bucket directly.
  const withReader = (statements: Json[]) => {
    const template = dataStack();
    template.Resources.Reader = role('lambda.amazonaws.com');
    template.Resources.ReaderPolicy = policy('Reader', statements);
    return checkStage(new StageTemplates([{ stackName: 'T-Data', template, account: ACCOUNT, region: REGION }])).then(
      (r) => r.errors,
    );
  };

  test('WHEN its policy lacks kms:Decrypt on the key THEN key/identity names the read and the key', async () => {
    const errors = await withReader([{ Effect: 'Allow', Action: 's3:GetObject', Resource: bucketObjects }]);
    expect(errors).toEqual([
      expect.objectContaining({ rule: 'key/identity', message: expect.stringMatching(/s3:GetObject.*kms:Decrypt/) }),
    ]);
  });

  test('WHEN its policy allows kms:Decrypt on the key THEN nothing is found', async () => {
    const errors = await withReader([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: bucketObjects },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': ['Key', 'Arn'] } },
    ]);
    expect(errors).toEqual([]);
  });

  test('WHEN its policy allows kms:Decrypt on the account’s keys by ARN pattern THEN nothing is found', async () => {
    const errors = await withReader([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: bucketObjects },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/*` },
    ]);
    expect(errors).toEqual([]);
  });

  test('WHEN kms:Decrypt is allowed only on another account’s keys THEN key/identity', async () => {
    const errors = await withReader([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: bucketObjects },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: `arn:aws:kms:${REGION}:999999999999:key/*` },
    ]);
    expect(errors.map((e) => e.rule)).toEqual(['key/identity']);
  });
});

describe('GIVEN a rule whose dead-letter queue is encrypted with the key', () => {
  const app = {
    Queue: { Type: 'AWS::SQS::Queue', Properties: { KmsMasterKeyId: { 'Fn::ImportValue': 'T-KeyArn' } } },
    Rule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        ScheduleExpression: 'rate(1 hour)',
        Targets: [
          {
            Id: 't',
            Arn: 'arn:aws:sns:eu-west-1:123456789012:x',
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] } },
          },
        ],
      },
    },
  };
  const exported = (keyStatements: Json[]) => {
    const data = dataStack(keyStatements);
    const outputs = { KeyArn: { Value: { 'Fn::GetAtt': ['Key', 'Arn'] }, Export: { Name: 'T-KeyArn' } } };
    return checkStage(
      new StageTemplates([
        { stackName: 'T-Data', template: { ...data, Outputs: outputs }, account: ACCOUNT, region: REGION },
        { stackName: 'T-App', template: { Resources: app }, account: ACCOUNT, region: REGION },
      ]),
    ).then((r) => r.errors);
  };
  const events = (condition: Json) => ({
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
    Resource: '*',
    Condition: condition,
  });
  const busArn = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/bus`;

  test('WHEN the key lets events.amazonaws.com in only under the event-bus context THEN key/service-principal', async () => {
    const errors = await exported([
      events({ StringEquals: { 'kms:EncryptionContext:aws:events:event-bus:arn': busArn, 'aws:SourceArn': busArn } }),
    ]);
    expect(errors.map((e) => e.rule)).toEqual(['key/service-principal', 'key/service-principal']);
    expect(errors[0]?.message).toMatch(/aws:sqs:arn=arn:aws:sqs:eu-west-1:123456789012:⟨T-App\/Queue\.Name⟩/);
    expect(errors[0]?.message).toMatch(/aws:SourceArn arn:aws:events:eu-west-1:123456789012:rule\/⟨T-App\/Rule\.Name⟩/);
  });

  test('WHEN the key allows the SQS context of this account’s queues for its rules THEN nothing is found', async () => {
    const errors = await exported([
      events({
        StringEquals: { 'aws:SourceAccount': ACCOUNT },
        ArnLike: {
          'aws:SourceArn': `arn:aws:events:${REGION}:${ACCOUNT}:rule/*`,
          'kms:EncryptionContext:aws:sqs:arn': `arn:aws:sqs:${REGION}:${ACCOUNT}:*`,
        },
      }),
    ]);
    expect(errors).toEqual([]);
  });
});

describe('GIVEN a state machine with an Athena .sync Task', () => {
  const machine = (actions: string[]) => ({
    Role: role('states.amazonaws.com'),
    RolePolicy: policy('Role', [
      { Effect: 'Allow', Action: actions, Resource: `arn:aws:athena:${REGION}:${ACCOUNT}:workgroup/wg` },
      {
        Effect: 'Allow',
        Action: ['glue:GetDatabase', 'glue:GetTable'],
        Resource: `arn:aws:glue:${REGION}:${ACCOUNT}:catalog`,
      },
      {
        Effect: 'Allow',
        Action: ['s3:GetBucketLocation', 's3:GetObject', 's3:ListBucket', 's3:PutObject', 's3:AbortMultipartUpload'],
        Resource: 'arn:aws:s3:::results/*',
      },
    ]),
    Machine: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
        DefinitionString: {
          'Fn::Join': [
            '',
            [
              '{"StartAt":"Q","States":{"Q":{"Type":"Task","End":true,"Resource":"arn:',
              { Ref: 'AWS::Partition' },
              ':states:::athena:startQueryExecution.sync","Parameters":{"QueryString":"SELECT 1","WorkGroup":"wg"}}}}',
            ],
          ],
        },
      },
    },
  });

  test('WHEN the role lacks StopQueryExecution THEN sfn/integration names the action and the doc', async () => {
    const errors = await findings(machine(['athena:StartQueryExecution', 'athena:GetQueryExecution']));
    expect(errors).toEqual([
      expect.objectContaining({
        rule: 'sfn/integration',
        where: 'T-App/Machine/Q',
        message: expect.stringMatching(/athena:StopQueryExecution .*athena-iam\.html/),
      }),
    ]);
  });

  test('WHEN the role grants Start, Get and Stop THEN nothing is found', async () => {
    const errors = await findings(
      machine(['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution']),
    );
    expect(errors).toEqual([]);
  });
});

describe('GIVEN a role with statements on Resource "*"', () => {
  test('WHEN the action supports resource ARNs (s3:GetObject) THEN iam/star-resource; X-Ray (no ARNs) passes', async () => {
    const errors = await findings({
      Role: role('lambda.amazonaws.com'),
      RolePolicy: policy('Role', [
        { Effect: 'Allow', Action: ['s3:GetObject', 'xray:PutTraceSegments'], Resource: '*' },
      ]),
    });
    expect(errors).toEqual([
      expect.objectContaining({
        rule: 'iam/star-resource',
        message: expect.stringMatching(/^s3:GetObject on Resource/),
      }),
    ]);
  });

  test('WHEN an action does not exist THEN iam/unknown-action', async () => {
    const errors = await findings({
      Role: role('lambda.amazonaws.com'),
      RolePolicy: policy('Role', [
        { Effect: 'Allow', Action: 'athena:StopQuery', Resource: `arn:aws:athena:${REGION}:${ACCOUNT}:workgroup/wg` },
      ]),
    });
    expect(errors).toEqual([expect.objectContaining({ rule: 'iam/unknown-action' })]);
  });
});
