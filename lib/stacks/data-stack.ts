// The stateful stack: keys, buckets, tables, the stream, the bus and its schema registry.
// Construct IDs here are a contract: renaming one replaces (and, outside dev, orphans) live data.
import { ArnFormat, Duration, Names, type RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { type Archive, type CfnArchive, EventBus } from 'aws-cdk-lib/aws-events';
import { CfnRegistry } from 'aws-cdk-lib/aws-eventschemas';
import { AnyPrincipal, Effect, ManagedPolicy, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { Key } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  type LifecycleRule,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DECISIONS_BY_DAY } from '../../lambdas/shared/contracts/decisions-table.js';
import type { EnvironmentConfig } from '../config/environment-config.js';

export interface DataStackProps extends StackProps {
  readonly removalPolicy: RemovalPolicy;
  readonly data: EnvironmentConfig['data'];
}

/** Where each writer puts objects: the data stack owns the layout of its buckets and the policies to write it. */
export const BUCKET_LAYOUT = {
  /** Lake: the decision log Firehose delivers (JSON lines, gzip). */
  decisionLog: 'decisions',
  /** Lake: objects Firehose could not deliver. */
  decisionLogErrors: 'errors/decisions',
  /** Monitoring: Model Monitor ground truth written by the feedback service. */
  groundTruth: 'ground-truth',
} as const;

/** Attribute names the services rely on; the tables' key schemas are built from them. */
export const TABLE_KEYS = {
  features: { partitionKey: 'pk' },
  decisions: { partitionKey: 'transactionId', ttl: 'expiresAt', byCustomer: ['customerId', 'decidedAt'] },
  labels: { partitionKey: 'transactionId' },
  idempotency: { partitionKey: 'id', ttl: 'expiration' },
} as const;

export class DataStack extends Stack {
  /** Encrypts every table, bucket (but the access-log bucket), the stream, the bus and its archive. */
  public readonly key: Key;
  /** Decisions, labels, raw events and training sets. */
  public readonly lakeBucket: Bucket;
  /** Model artifacts, training code and baselines. */
  public readonly artifactsBucket: Bucket;
  /** Endpoint data capture. */
  public readonly captureBucket: Bucket;
  /** Model Monitor reports and ground truth. */
  public readonly monitoringBucket: Bucket;
  /** Server access logs of the buckets above. */
  public readonly accessLogsBucket: Bucket;
  public readonly featuresTable: Table;
  public readonly decisionsTable: Table;
  public readonly labelsTable: Table;
  public readonly idempotencyTable: Table;
  public readonly transactionStream: Stream;
  public readonly bus: EventBus;
  public readonly busArchive: Archive;
  /** Receives events the bus could not encrypt or decrypt. */
  public readonly busDeadLetterQueue: Queue;
  public readonly schemaRegistry: CfnRegistry;
  /** Lets a principal write Model Monitor ground truth (and nothing else) into the monitoring bucket. */
  public readonly groundTruthWritePolicy: ManagedPolicy;
  /** Lets the decision-log delivery stream write its prefixes of the lake. */
  public readonly decisionLogDeliveryPolicy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { data, removalPolicy } = props;
    validateData(data);

    this.key = new Key(this, 'DataKey', {
      description: 'AIMS data at rest: tables, buckets, stream, bus',
      enableKeyRotation: true,
      removalPolicy,
    });
    // Grants on the data key only for AWS services acting for a caller (SageMaker volumes, DynamoDB, …): a principal
    // that may use the key cannot hand that use on to anyone else (Control Tower CT.KMS.PR.3).
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'DenyGrantsNotForAwsResources',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
        },
      }),
    );

    this.accessLogsBucket = new Bucket(this, 'AccessLogsBucket', {
      // S3 server access logging delivers only to buckets encrypted with S3-managed keys.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(data.accessLogExpirationDays),
          noncurrentVersionExpiration: Duration.days(data.noncurrentVersionExpirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    const baseRules: LifecycleRule[] = [
      {
        id: 'tidy-versions-and-uploads',
        noncurrentVersionExpiration: Duration.days(data.noncurrentVersionExpirationDays),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ];
    const expiring: LifecycleRule[] = [
      ...baseRules,
      { id: 'expire-objects', expiration: Duration.days(data.captureExpirationDays) },
    ];
    this.lakeBucket = this.secureBucket('LakeBucket', 'lake/', removalPolicy, [
      ...baseRules,
      {
        id: 'tier-lake',
        transitions: [
          {
            storageClass: StorageClass.INFREQUENT_ACCESS,
            transitionAfter: Duration.days(data.lakeInfrequentAccessAfterDays),
          },
          {
            storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL,
            transitionAfter: Duration.days(data.lakeArchiveAfterDays),
          },
        ],
      },
    ]);
    this.artifactsBucket = this.secureBucket('ArtifactsBucket', 'artifacts/', removalPolicy, baseRules);
    this.captureBucket = this.secureBucket('CaptureBucket', 'capture/', removalPolicy, expiring);
    this.monitoringBucket = this.secureBucket('MonitoringBucket', 'monitoring/', removalPolicy, expiring);

    this.featuresTable = this.table('FeaturesTable', TABLE_KEYS.features.partitionKey, removalPolicy);
    // The stream is the decision outbox's source (docs/decisions/0004-decision-outbox.md): each new audit record's
    // image becomes its events and decision-log line. NEW_IMAGE: records are written once, so no old image is needed.
    // StreamSpecification updates in place; the stream's ARN is new when it is first enabled.
    this.decisionsTable = this.table(
      'DecisionsTable',
      TABLE_KEYS.decisions.partitionKey,
      removalPolicy,
      TABLE_KEYS.decisions.ttl,
      StreamViewType.NEW_IMAGE,
    );
    const [customerKey, decidedAtKey] = TABLE_KEYS.decisions.byCustomer;
    this.decisionsTable.addGlobalSecondaryIndex({
      indexName: 'byCustomer',
      partitionKey: { name: customerKey, type: AttributeType.STRING },
      sortKey: { name: decidedAtKey, type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    // The decisions list, the review queue and the live figures (issue 13): one partition per list and UTC day,
    // newest first by decidedAt, sparse (only items carrying the bucket). Why a day and what it carries: see
    // DECISIONS_BY_DAY. CloudFormation creates at most one index per table update: this is the only one added here.
    this.decisionsTable.addGlobalSecondaryIndex({
      indexName: DECISIONS_BY_DAY.indexName,
      partitionKey: { name: DECISIONS_BY_DAY.partitionKey, type: AttributeType.STRING },
      sortKey: { name: DECISIONS_BY_DAY.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...DECISIONS_BY_DAY.projected],
    });
    this.labelsTable = this.table('LabelsTable', TABLE_KEYS.labels.partitionKey, removalPolicy);
    this.idempotencyTable = this.table(
      'IdempotencyTable',
      TABLE_KEYS.idempotency.partitionKey,
      removalPolicy,
      TABLE_KEYS.idempotency.ttl,
    );

    const provisioned = data.streamMode === StreamMode.PROVISIONED;
    this.transactionStream = new Stream(this, 'TransactionStream', {
      encryption: StreamEncryption.KMS,
      encryptionKey: this.key,
      streamMode: data.streamMode,
      shardCount: provisioned ? data.shards : undefined,
      retentionPeriod: Duration.hours(data.streamRetentionHours),
      removalPolicy,
    });
    Validations.of(this.transactionStream).acknowledge({
      id: 'AwsSolutions-KDS3',
      reason: "Encrypted with the stack's customer-managed key (rotation, key policy we own) rather than aws/kinesis.",
    });

    this.busDeadLetterQueue = new Queue(this, 'BusDeadLetterQueue', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.busDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the event bus dead-letter queue; nag recognises only DLQs attached by RedrivePolicy.',
    });
    this.bus = new EventBus(this, 'Bus', {
      description: 'AIMS application events',
      kmsKey: this.key,
      deadLetterQueue: this.busDeadLetterQueue,
    });
    this.bus.applyRemovalPolicy(removalPolicy);
    this.busArchive = this.bus.archive('BusArchive', {
      description: 'Every AIMS event, for replay',
      eventPattern: { account: [this.account] },
      retention: Duration.days(data.busArchiveRetentionDays),
    });
    this.busArchive.applyRemovalPolicy(removalPolicy);
    this.encryptArchive();
    this.allowEventBridgeDeadLetters();

    this.groundTruthWritePolicy = this.prefixPolicy(
      'GroundTruthWritePolicy',
      this.monitoringBucket,
      ['s3:PutObject'],
      [BUCKET_LAYOUT.groundTruth],
    );
    this.decisionLogDeliveryPolicy = this.prefixPolicy(
      'DecisionLogDeliveryPolicy',
      this.lakeBucket,
      ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      [BUCKET_LAYOUT.decisionLog, BUCKET_LAYOUT.decisionLogErrors],
    );
    this.decisionLogDeliveryPolicy.addStatements(
      new PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [this.lakeBucket.bucketArn],
      }),
    );

    this.schemaRegistry = new CfnRegistry(this, 'SchemaRegistry', {
      description: 'Schemas of every AIMS event (JSON Schema Draft 4)',
    });
    this.schemaRegistry.applyRemovalPolicy(removalPolicy);
  }

  /**
   * The bus's ARN as a literal: the key policy cannot reference the bus (the bus references the key). CDK names the
   * bus by its unique id, as EventBus does for its own key statement.
   */
  private busArnLiteral(): string {
    return this.formatArn({ service: 'events', resource: 'event-bus', resourceName: Names.uniqueId(this.bus) });
  }

  /**
   * The archive under the data key. EventBus.archive() drops `kmsKey` (aws-cdk-lib 2.276), leaving the archive on
   * an AWS owned key; AWS::Events::Archive takes KmsKeyIdentifier, updatable in place (registry schema). The archive
   * encrypts under `aws:events:event-bus:arn` = its bus and needs DescribeKey, GenerateDataKey, Decrypt, ReEncrypt
   * (https://docs.aws.amazon.com/eventbridge/latest/userguide/encryption-archives.html).
   */
  private encryptArchive(): void {
    (this.busArchive.node.defaultChild as CfnArchive).kmsKeyIdentifier = this.key.keyArn;
    this.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncrypt*'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:EncryptionContext:aws:events:event-bus:arn': this.busArnLiteral() } },
      }),
    );
    // DescribeKey carries no encryption context and the archive docs name no source condition for it: granted as CDK's
    // own Archive construct does (key metadata only, no data).
    this.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
      }),
    );
  }

  /**
   * EventBridge parks events it cannot deliver in dead-letter queues encrypted with this key: the bus's own DLQ (sent
   * by the bus) and the DLQs of rules in this account (sent by each rule: aws:SourceArn is the rule's ARN,
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). SQS encrypts each message under
   * `aws:sqs:arn` = the queue's ARN and a service principal sending to it needs GenerateDataKey and Decrypt
   * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html). The queues
   * live in this and later stacks (which reference this key, so the key policy cannot name them): scoped to queues and
   * rules of this account and region.
   */
  private allowEventBridgeDeadLetters(): void {
    const queues = this.formatArn({ service: 'sqs', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME });
    const rules = this.formatArn({ service: 'events', resource: 'rule', resourceName: '*' });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: { 'aws:SourceArn': [this.busArnLiteral(), rules], 'kms:EncryptionContext:aws:sqs:arn': queues },
        },
      }),
    );
  }

  /** A managed policy for object actions under some prefixes of one bucket, with the key use writes need. */
  private prefixPolicy(id: string, bucket: Bucket, actions: string[], prefixes: readonly string[]): ManagedPolicy {
    const policy = new ManagedPolicy(this, id, {
      statements: [
        new PolicyStatement({ actions, resources: prefixes.map((p) => bucket.arnForObjects(`${p}/*`)) }),
        new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [this.key.keyArn] }),
      ],
    });
    const bucketId = this.getLogicalId(bucket.node.defaultChild as CfnBucket);
    for (const prefix of prefixes) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}/*]`,
        reason:
          'Writers name objects at run time (time- or content-derived keys); access stays inside this one prefix.',
      });
    }
    return policy;
  }

  private secureBucket(
    id: string,
    logPrefix: string,
    removalPolicy: RemovalPolicy,
    lifecycleRules: LifecycleRule[],
  ): Bucket {
    return new Bucket(this, id, {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: logPrefix,
      lifecycleRules,
      removalPolicy,
    });
  }

  private table(
    id: string,
    partitionKey: string,
    removalPolicy: RemovalPolicy,
    timeToLiveAttribute?: string,
    stream?: StreamViewType,
  ): Table {
    return new Table(this, id, {
      partitionKey: { name: partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: this.terminationProtection,
      timeToLiveAttribute,
      stream,
      removalPolicy,
    });
  }
}

function validateData(data: EnvironmentConfig['data']): void {
  if (data.streamMode === StreamMode.PROVISIONED && (!Number.isInteger(data.shards) || data.shards < 1)) {
    throw new Error(`data.shards must be a positive integer for a provisioned stream, got ${data.shards}`);
  }
  if (data.streamRetentionHours < 24 || data.streamRetentionHours > 8760) {
    throw new Error(`data.streamRetentionHours must be from 24 to 8760, got ${data.streamRetentionHours}`);
  }
  if (data.lakeArchiveAfterDays <= data.lakeInfrequentAccessAfterDays) {
    throw new Error(
      `data.lakeArchiveAfterDays must come after lakeInfrequentAccessAfterDays, got ${data.lakeArchiveAfterDays} <= ${data.lakeInfrequentAccessAfterDays}`,
    );
  }
  if (data.decisionTtlDays < 1) {
    throw new Error(`data.decisionTtlDays must be at least 1, got ${data.decisionTtlDays}`);
  }
}
