// The decision log: a Firehose delivery stream that writes every decision as a JSON line into the lake, under one
// prefix, with its own narrowly scoped role (the retraining dataset reads from here).
import { ArnFormat, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type IGrantable, type IManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, LogStream, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface DecisionLogProps {
  readonly bucket: IBucket;
  /** Encrypts the stream at rest and the objects it writes. */
  readonly key: IKey;
  /** Key prefix of the log in the bucket (no slashes at the ends). */
  readonly prefix: string;
  /** Key prefix of records Firehose could not deliver. */
  readonly errorPrefix: string;
  /** The bucket owner's policy that lets the delivery role write both prefixes (and use the key). */
  readonly deliveryPolicy: IManagedPolicy;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Seconds Firehose buffers before writing an object. @default 60 */
  readonly bufferSeconds?: number;
}

export class DecisionLog extends Construct {
  public readonly deliveryStream: CfnDeliveryStream;
  public readonly role: Role;
  public readonly deliveryStreamName: string;
  public readonly deliveryStreamArn: string;

  constructor(scope: Construct, id: string, props: DecisionLogProps) {
    super(scope, id);
    if (!/^[\w-]+(\/[\w-]+)*$/.test(props.prefix)) {
      throw new Error(`prefix must be a key prefix without slashes at the ends, got '${props.prefix}'`);
    }
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('firehose.amazonaws.com'),
      description: 'Firehose delivery of the decision log into the lake',
    });
    this.role.addManagedPolicy(props.deliveryPolicy);
    const logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    const logStream = new LogStream(this, 'DeliveryErrors', { logGroup, removalPolicy: props.removalPolicy });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:PutLogEvents'],
        resources: [
          Stack.of(this).formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: `${logGroup.logGroupName}:log-stream:${logStream.logStreamName}`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    this.deliveryStream = new CfnDeliveryStream(this, 'Stream', {
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'CUSTOMER_MANAGED_CMK', keyArn: props.key.keyArn },
      extendedS3DestinationConfiguration: {
        bucketArn: props.bucket.bucketArn,
        roleArn: this.role.roleArn,
        prefix: `${props.prefix}/dt=!{timestamp:yyyy-MM-dd}/`,
        errorOutputPrefix: `${props.errorPrefix}/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`,
        bufferingHints: { intervalInSeconds: props.bufferSeconds ?? 60, sizeInMBs: 5 },
        compressionFormat: 'GZIP',
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: props.key.keyArn } },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: logGroup.logGroupName,
          logStreamName: logStream.logStreamName,
        },
      },
    });
    // The role's policies must exist before Firehose checks that it can write.
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (policy) this.deliveryStream.node.addDependency(policy);
    this.deliveryStream.node.addDependency(this.role);
    this.deliveryStreamName = this.deliveryStream.ref;
    this.deliveryStreamArn = this.deliveryStream.attrArn;
  }

  /** Allows PutRecordBatch on the stream (the key use is Firehose's own): the outbox appends a batch at a time. */
  public grantPutRecordBatch(grantee: IGrantable & { allow(statement: PolicyStatement): void }): void {
    grantee.allow(
      new PolicyStatement({
        actions: ['firehose:PutRecordBatch'],
        resources: [this.deliveryStreamArn],
      }),
    );
  }
}
