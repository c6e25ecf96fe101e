// Delivers an event-source mapping's on-failure record to its destination (an SQS queue or an SNS topic) locally.
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { LocalEndpoints } from '../types.js';

/** Sends one JSON message to a destination ARN. */
export interface FailureDestination {
  readonly arn: string;
  send(message: unknown): Promise<void>;
}

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/**
 * SQS over the AWS JSON 1.0 protocol (`AmazonSQS.SendMessage`), as SDK v3 speaks it. Plain fetch because the repo
 * has no @aws-sdk/client-sqs; the local SQS server does not check signatures.
 */
function sqsDestination(arn: string, endpoint: string): FailureDestination {
  const [, , , , account, name] = arn.split(':');
  if (!account || !name) throw new Error(`not an SQS queue ARN: ${arn}`);
  const queueUrl = `${endpoint.replace(/\/$/, '')}/${account}/${name}`;
  return {
    arn,
    async send(message) {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessage' },
        body: JSON.stringify({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }),
        signal: AbortSignal.timeout(5_000),
      });
      if (!response.ok) {
        throw new Error(`SQS SendMessage to ${queueUrl} failed: HTTP ${response.status} ${await response.text()}`);
      }
    },
  };
}

function snsDestination(arn: string, endpoint: string, region: string): FailureDestination {
  const client = new SNSClient({ endpoint, region, credentials: CREDENTIALS, requestHandler: new NodeHttpHandler() });
  return {
    arn,
    async send(message) {
      await client.send(new PublishCommand({ TopicArn: arn, Message: JSON.stringify(message) }));
    },
  };
}

/** The destination an ARN denotes; throws for kinds the local stage cannot deliver to. */
export function failureDestination(arn: string, endpoints: LocalEndpoints, region: string): FailureDestination {
  const service = arn.split(':')[2];
  if (service === 'sqs') return sqsDestination(arn, endpoints.sqs);
  if (service === 'sns') return snsDestination(arn, endpoints.sns, region);
  throw new Error(`on-failure destination ${arn}: only SQS queues and SNS topics are supported locally`);
}
