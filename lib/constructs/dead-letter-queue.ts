// The dead-letter queues of event-source mappings, bus rules and Lambda destinations: one shape for every stack.
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  readonly removalPolicy: RemovalPolicy;
  /** Encrypt with this key (its users then need a grant). @default - SQS-managed encryption, no grant needed */
  readonly key?: IKey;
  /** Why nag's "this queue has no DLQ" does not apply, naming whose DLQ this is. */
  readonly acknowledgement: string;
}

/** TLS-only, 14 days' retention (SQS's maximum, time to look), encrypted; the queue's own missing DLQ acknowledged. */
export function deadLetterQueue(scope: Construct, id: string, props: DeadLetterQueueProps): Queue {
  const queue = new Queue(scope, id, {
    ...(props.key
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: props.key }
      : { encryption: QueueEncryption.SQS_MANAGED }),
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: props.removalPolicy,
  });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: props.acknowledgement });
  return queue;
}
