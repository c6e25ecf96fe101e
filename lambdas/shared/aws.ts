// AWS SDK v3 client factories: one configuration for every handler; AWS_ENDPOINT_URL_<SERVICE> redirects them locally.
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Overrides for tests and tools; handlers pass nothing and get the default chain and endpoint resolution. */
export interface ClientOptions {
  readonly region?: string;
  readonly endpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** SDK retry attempts. @default 3 */
  readonly maxAttempts?: number;
  /** Per-request socket timeout in ms. @default - none (the SDK default) */
  readonly requestTimeoutMs?: number;
}

function base(options: ClientOptions) {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    // HTTP/1.1 everywhere: kinesalite speaks nothing else, and keep-alive sockets are what cut Lambda latency.
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 1_000,
      ...(options.requestTimeoutMs ? { requestTimeout: options.requestTimeoutMs } : {}),
    }),
  };
}

/** API Gateway's control plane (the authorizer reads usage-plan keys); `AWS_ENDPOINT_URL_API_GATEWAY` locally. */
export function apiGatewayClient(options: ClientOptions = {}): APIGatewayClient {
  return new APIGatewayClient(base({ requestTimeoutMs: 3_000, ...options }));
}

/** DynamoDB DocumentClient: plain JS values, undefined attributes dropped. */
export function dynamoDocumentClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(base(options)), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}

/** The low-level DynamoDB client (Powertools idempotency takes this one). */
export function dynamoClient(options: ClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(base(options));
}

/** Kinesis over HTTP/1.1 (NodeHttpHandler): the SDK's default HTTP/2 handler fails against kinesalite. */
export function kinesisClient(options: ClientOptions = {}): KinesisClient {
  return new KinesisClient(base(options));
}

export function eventBridgeClient(options: ClientOptions = {}): EventBridgeClient {
  return new EventBridgeClient(base(options));
}

/** S3 with path-style addressing when an endpoint is given (s3rver and other local servers need it). */
export function s3Client(options: ClientOptions = {}): S3Client {
  const local = Boolean(options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
  return new S3Client({ ...base(options), forcePathStyle: local });
}

export function firehoseClient(options: ClientOptions = {}): FirehoseClient {
  return new FirehoseClient(base(options));
}

/** SageMaker Runtime; retries off by default because the caller owns timeout and circuit breaking. */
export function sageMakerRuntimeClient(options: ClientOptions = {}): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient(base({ maxAttempts: 1, ...options }));
}

export function sqsClient(options: ClientOptions = {}): SQSClient {
  return new SQSClient(base(options));
}

export function snsClient(options: ClientOptions = {}): SNSClient {
  return new SNSClient(base(options));
}
