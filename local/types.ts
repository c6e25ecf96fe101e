// The local stage's shared contracts: the resolved dev template and the seams between the emulators.
// Everything here is derived from the synthesized template; nothing lists routes, handlers or rules by hand.

/** One CloudFormation resource of the dev stage with its intrinsics resolved to local values. */
export interface LocalResource {
  /** Stack the resource is in, e.g. `Dev-Services`. */
  readonly stackName: string;
  readonly logicalId: string;
  /** The construct path from `aws:cdk:path` metadata, when present (e.g. `Dev/Services/Score/Function/Resource`). */
  readonly path?: string;
  readonly type: string;
  /** `Properties` with every intrinsic (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split,
   *  Fn::GetStackOutput, Fn::ImportValue, pseudo parameters) replaced by its local value. */
  readonly properties: Readonly<Record<string, unknown>>;
  /** The raw `Metadata` (e.g. `aws:asset:path` of a Lambda function). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** What `Ref` returns for this resource locally (a table name, a function name, a queue URL…). */
  readonly ref: string;
  /** What `Fn::GetAtt` returns per attribute (Arn, StreamArn, ProviderURL…). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** The dev stage as the local stage sees it. */
export interface LocalTemplate {
  readonly stageName: string;
  readonly account: string;
  readonly region: string;
  /** The cloud assembly directory of the stage (asset paths in metadata are relative to it). */
  readonly assemblyDir: string;
  readonly resources: readonly LocalResource[];
  ofType(type: string): LocalResource[];
  /** Finds a resource by its local ARN (or, for functions, by name). */
  byArn(arn: string): LocalResource | undefined;
}

/** How a Lambda invocation ended (the shape of Lambda's own error payloads). */
export type InvokeResult =
  | { readonly ok: true; readonly payload: unknown; readonly durationMs: number }
  | {
      readonly ok: false;
      readonly errorType: string;
      readonly errorMessage: string;
      readonly stackTrace?: readonly string[];
      readonly durationMs: number;
    };

/** Runs the template's functions locally. `target` is a function ARN or name, as the template gives it. */
export interface FunctionInvoker {
  /** `signal`: the caller stops waiting (an invoker that waits for its runtime to start rejects when it aborts). */
  invoke(target: string, event: unknown, signal?: AbortSignal): Promise<InvokeResult>;
  /** The function's configured timeout in seconds, when the target is a function this invoker runs. */
  timeoutSeconds?(target: string): number | undefined;
}

/** Loopback URLs of the local servers that stand in for AWS services (SDK clients use them through
 *  AWS_ENDPOINT_URL_<SERVICE>). */
export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly kinesis: string;
  readonly s3: string;
  readonly eventbridge: string;
  readonly firehose: string;
  readonly sns: string;
  readonly sqs: string;
  readonly sagemakerRuntime: string;
}

/** The environment variables that point an SDK v3 client at the local servers, with fake credentials. */
export function sdkEnvironment(endpoints: LocalEndpoints, region: string): Record<string, string> {
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
    AWS_ENDPOINT_URL_FIREHOSE: endpoints.firehose,
    AWS_ENDPOINT_URL_SNS: endpoints.sns,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: endpoints.sagemakerRuntime,
  };
}

/** Something the local stage starts and must stop cleanly on Ctrl-C. */
export interface Closable {
  close(): Promise<void>;
}
