// The stateful data stack: encryption, recovery, retention by environment, and logical IDs that must never change.

import { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { StreamMode } from 'aws-cdk-lib/aws-kinesis';
import type { EnvironmentConfig } from '../lib/config/environment-config.js';
import { environments } from '../lib/config/environments.js';
import { DataStack } from '../lib/stacks/data-stack.js';
import { cleanTestApps, templateOf, testApp } from './support/app.js';

const { stages } = testApp();
const dev = templateOf(stages.Dev.data);
const prod = templateOf(stages.Prod.data);
afterAll(cleanTestApps);

// biome-ignore lint/suspicious/noExplicitAny: key policy statements are untyped JSON.
function keyStatements(template: Template): any[] {
  const [key] = Object.values(template.findResources('AWS::KMS::Key'));
  return key?.Properties.KeyPolicy.Statement ?? [];
}

function busName(template: Template): string {
  const [bus] = Object.values(template.findResources('AWS::Events::EventBus'));
  return bus?.Properties.Name;
}

function logicalIds(template: Template, type: string): string[] {
  return Object.keys(template.findResources(type)).sort();
}

describe('GIVEN the data stack of each environment', () => {
  test('THEN the stateful resources keep their logical IDs (renaming one would replace live data)', () => {
    for (const template of [dev, prod]) {
      expect(logicalIds(template, 'AWS::DynamoDB::Table')).toEqual([
        'DecisionsTable2B2636B5',
        'FeaturesTable52D06210',
        'IdempotencyTable22A5A209',
        'LabelsTableDD3C024F',
      ]);
      expect(logicalIds(template, 'AWS::S3::Bucket')).toEqual([
        'AccessLogsBucket83982689',
        'ArtifactsBucket2AAC5544',
        'CaptureBucket66D28918',
        'LakeBucket9CD7BBD2',
        'MonitoringBucketF6D0C70A',
      ]);
      expect(logicalIds(template, 'AWS::Kinesis::Stream')).toEqual(['TransactionStreamC0357204']);
      expect(logicalIds(template, 'AWS::KMS::Key')).toEqual(['DataKey17AFBB84']);
      expect(logicalIds(template, 'AWS::Events::EventBus')).toEqual(['BusEA82B648']);
    }
  });

  test('THEN the customer-managed key rotates', () => {
    dev.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('THEN every table is on-demand, KMS-encrypted with that key and point-in-time recoverable', () => {
    const tables = dev.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(4);
    for (const table of Object.values(tables)) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.SSESpecification).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] },
      });
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  test('THEN the decisions (audit) table expires records by TTL and indexes them by customer and by UTC day', () => {
    dev.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'transactionId', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'byCustomer',
          KeySchema: [
            { AttributeName: 'customerId', KeyType: 'HASH' },
            { AttributeName: 'decidedAt', KeyType: 'RANGE' },
          ],
        }),
        // The decisions list, the review queue and the live figures: sparse, a list row's fields projected.
        {
          IndexName: 'byDay',
          KeySchema: [
            { AttributeName: 'dayBucket', KeyType: 'HASH' },
            { AttributeName: 'decidedAt', KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: Match.arrayWith(['transaction', 'decision', 'latencyMs', 'expiresAt', 'summary']),
          },
        },
      ],
    });
    dev.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });

  test('THEN the decisions table alone streams its new images (the outbox source), in every environment', () => {
    for (const template of [dev, prod]) {
      const tables = Object.values(template.findResources('AWS::DynamoDB::Table')) as {
        Properties: { KeySchema: { AttributeName: string }[]; StreamSpecification?: unknown };
      }[];
      const streamed = tables.filter((t) => t.Properties.StreamSpecification !== undefined);
      expect(streamed.map((t) => t.Properties.KeySchema[0]?.AttributeName)).toEqual(['transactionId']);
      expect(streamed[0]?.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    }
  });

  test('THEN every bucket blocks public access, is versioned, TLS-only and has lifecycle rules', () => {
    const buckets = dev.findResources('AWS::S3::Bucket');
    for (const [id, bucket] of Object.entries(buckets)) {
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(bucket.Properties.LifecycleConfiguration.Rules.length).toBeGreaterThan(0);
      if (!id.startsWith('AccessLogs')) {
        expect(bucket.Properties.LoggingConfiguration.DestinationBucketName.Ref).toMatch(/^AccessLogsBucket/);
        expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]).toMatchObject({
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' },
        });
      }
    }
    const policies = Object.values(dev.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(Object.keys(buckets).length);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  test('THEN the stream is KMS-encrypted and sized per environment', () => {
    dev.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] } },
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: environments.Dev.data.shards,
      RetentionPeriodHours: 24,
    });
    prod.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      ShardCount: Match.absent(),
      RetentionPeriodHours: 168,
    });
  });

  test('THEN the bus is encrypted, has a dead-letter queue and an archive for replay, and a schema registry exists', () => {
    dev.hasResourceProperties('AWS::Events::EventBus', {
      KmsKeyIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BusDeadLetterQueue'), 'Arn'] } },
    });
    dev.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Bus'), 'Arn'] },
      RetentionDays: environments.Dev.data.busArchiveRetentionDays,
    });
    prod.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 365 });
    dev.resourceCountIs('AWS::EventSchemas::Registry', 1);
  });

  test('THEN the archive is encrypted with the data key, which lets EventBridge use it under the bus context', () => {
    // EventBus.archive() drops kmsKey: without the fix the archive sits on an AWS owned key (KmsKeyIdentifier '').
    dev.hasResourceProperties('AWS::Events::Archive', {
      KmsKeyIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
    });
    const busArn = `arn:aws:events:${environments.Dev.region}:${environments.Dev.account}:event-bus/${busName(dev)}`;
    expect(keyStatements(dev)).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncrypt*'],
        Condition: { StringEquals: { 'kms:EncryptionContext:aws:events:event-bus:arn': busArn } },
      }),
    );
  });

  test('THEN EventBridge may park events in KMS-encrypted DLQs: the SQS context, sent by the bus or a rule of this account', () => {
    // SQS encrypts under `aws:sqs:arn`; a rule's DLQ is sent with the rule's ARN as aws:SourceArn. A statement
    // conditioned on the event-bus context (the bus's own encryption) never matches an SQS send.
    const { account, region } = environments.Dev;
    const dlq = keyStatements(dev).filter(
      (s) =>
        s.Principal?.Service === 'events.amazonaws.com' &&
        s.Condition?.ArnLike?.['kms:EncryptionContext:aws:sqs:arn'] !== undefined,
    );
    expect(dlq).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: {
            'aws:SourceArn': [
              `arn:aws:events:${region}:${account}:event-bus/${busName(dev)}`,
              `arn:aws:events:${region}:${account}:rule/*`,
            ],
            'kms:EncryptionContext:aws:sqs:arn': `arn:aws:sqs:${region}:${account}:*`,
          },
        },
      },
    ]);
  });

  test('THEN nobody may create a grant on the data key except an AWS service acting for a caller', () => {
    const deny = keyStatements(prod).find((s) => s.Sid === 'DenyGrantsNotForAwsResources');
    expect(deny).toEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'kms:CreateGrant',
        Principal: { AWS: '*' },
        Resource: '*',
        Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
      }),
    );
  });

  test('THEN no resource carries a physical name', () => {
    const named: Array<[string, string]> = [
      ['AWS::DynamoDB::Table', 'TableName'],
      ['AWS::S3::Bucket', 'BucketName'],
      ['AWS::Kinesis::Stream', 'Name'],
      ['AWS::Events::EventBus', 'Name'],
      ['AWS::SQS::Queue', 'QueueName'],
      ['AWS::EventSchemas::Registry', 'RegistryName'],
    ];
    for (const [type, prop] of named) {
      for (const resource of Object.values(dev.findResources(type))) {
        // CDK names event buses itself (the name is required); it derives it from the construct path.
        if (type === 'AWS::Events::EventBus') expect(resource.Properties[prop]).toMatch(/^DevData/);
        else expect(resource.Properties?.[prop]).toBeUndefined();
      }
    }
  });
});

describe('GIVEN retention differs by environment', () => {
  test('THEN dev destroys stateful resources and prod retains them', () => {
    for (const resource of Object.values(dev.findResources('AWS::DynamoDB::Table'))) {
      expect(resource.DeletionPolicy).toBe('Delete');
      expect(resource.Properties.DeletionProtectionEnabled).toBe(false);
    }
    for (const type of ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::Kinesis::Stream']) {
      for (const resource of Object.values(prod.findResources(type))) {
        expect(resource.DeletionPolicy).toBe('Retain');
        expect(resource.UpdateReplacePolicy).toBe('Retain');
      }
    }
    for (const resource of Object.values(prod.findResources('AWS::DynamoDB::Table'))) {
      expect(resource.Properties.DeletionProtectionEnabled).toBe(true);
    }
  });

  test('THEN only the data stacks outside dev are termination-protected', () => {
    expect(stages.Dev.data.terminationProtection).toBe(false);
    expect(stages.Staging.data.terminationProtection).toBe(true);
    expect(stages.Prod.data.terminationProtection).toBe(true);
  });
});

describe('GIVEN invalid data settings', () => {
  const base = environments.Dev;
  const make = (data: Partial<EnvironmentConfig['data']>) => () =>
    new DataStack(new App(), 'Data', { removalPolicy: base.removalPolicy, data: { ...base.data, ...data } });

  test('THEN a provisioned stream without shards is refused', () => {
    expect(make({ streamMode: StreamMode.PROVISIONED, shards: 0 })).toThrow(/data.shards must be a positive integer/);
  });
  test('THEN a retention outside Kinesis limits is refused', () => {
    expect(make({ streamRetentionHours: 12 })).toThrow(/streamRetentionHours must be from 24 to 8760, got 12/);
  });
  test('THEN a lake archive tier before the infrequent-access tier is refused', () => {
    expect(make({ lakeArchiveAfterDays: 10 })).toThrow(/lakeArchiveAfterDays must come after/);
  });
});
