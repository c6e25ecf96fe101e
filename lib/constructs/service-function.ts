// The one construct that creates Lambda functions: runtime, architecture, bundling, tracing and logs fixed here.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import {
  type IGrantable,
  type IManagedPolicy,
  Policy,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  Alias,
  Architecture,
  type CfnFunction,
  EventInvokeConfig,
  type IDestination,
  Runtime,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type ModelResourceTag, tagModelResource } from './model-metadata.js';

/** DynamoDB item actions a function may be granted on one table. */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem';
const TABLE_WRITES: ReadonlySet<TableAction> = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

/** The repository root: the folder holding package.json and the lockfile. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Node.js version the bundles target: the local stage runs them on this major. */
export const BUNDLE_TARGET = 'node22';

/**
 * The import specifier through which a function serving a model reaches that model's module (`ModelModule`). Platform
 * code never names a model folder: the bundle of each such function resolves this specifier, at synth, to the module
 * of the model the environment assigns it (`modelModule`).
 */
export const MODEL_MODULE_SPECIFIER = '@aims/model-module';

/** esbuild arguments that resolve MODEL_MODULE_SPECIFIER to `modelModule` (relative to the repository root). */
export function modelModuleAlias(modelModule: string): Record<string, string> {
  if (path.isAbsolute(modelModule) || !/^[\w./-]+\.ts$/.test(modelModule) || modelModule.split('/').includes('..')) {
    throw new Error(`modelModule must be a .ts path inside the repository, relative to its root, got '${modelModule}'`);
  }
  // esbuild resolves an alias's target from its working directory, which is the project root for local bundling.
  return { '--alias': `${MODEL_MODULE_SPECIFIER}=./${modelModule}` };
}

/** How every function is bundled (bench/score-init.bench.ts bundles with the same options to measure cold init). */
export function serviceBundling(sourceMap: boolean, modelModule?: string) {
  return {
    ...(modelModule === undefined ? {} : { esbuildArgs: modelModuleAlias(modelModule) }),
    format: OutputFormat.ESM,
    target: BUNDLE_TARGET,
    platform: 'node',
    mainFields: ['module', 'main'],
    minify: true,
    sourceMap,
    sourcesContent: false,
    // The SDK is bundled too: one pinned version, identical on AWS and in the local stage.
    externalModules: [],
    // ESM output still meets CommonJS dependencies that call require().
    banner:
      "import { createRequire as __aimsCreateRequire } from 'node:module';const require = __aimsCreateRequire(import.meta.url);",
    forceDockerBundling: false,
    logLevel: LogLevel.ERROR,
  } as const satisfies BundlingOptions;
}

/** The environment every function gets besides its own variables. */
export function serviceEnvironment(props: {
  readonly serviceName: string;
  readonly metricsNamespace: string;
  readonly sourceMap: boolean;
}): Record<string, string> {
  return {
    POWERTOOLS_SERVICE_NAME: props.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
    ...(props.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
  };
}

/** Pre-initialized environments on an alias, between a floor and a ceiling, moved by target tracking on utilization. */
export interface ProvisionedConcurrency {
  /** Environments kept initialized at all times (at least 1). */
  readonly min: number;
  /** Most environments target tracking may provision. */
  readonly max: number;
  /** Target of `LambdaProvisionedConcurrencyUtilization`, from 0.1 to 0.9. */
  readonly targetUtilization: number;
}

export interface LiveAliasOptions {
  /** The alias name. @default 'live' */
  readonly aliasName?: string;
  /** Provisioned concurrency on the alias, or `false`. @default false - environments start on demand */
  readonly provisionedConcurrency?: false | ProvisionedConcurrency;
}

export interface ServiceFunctionProps {
  /** Path of the handler module, relative to the repository root (e.g. `lambdas/score/handler.ts`). */
  readonly entry: string;
  /** Powertools service name (logs, traces, metric dimension). */
  readonly serviceName: string;
  /** Powertools metrics namespace. */
  readonly metricsNamespace: string;
  /** How long the function's logs are kept. */
  readonly logRetention: RetentionDays;
  /** What happens to the log group when the function is removed. */
  readonly logRemovalPolicy: RemovalPolicy;
  /** Exported handler name. @default 'handler' */
  readonly handler?: string;
  /** One sentence on what the function does. @default - none */
  readonly description?: string;
  /** Memory in MB. @default 512 */
  readonly memorySize?: number;
  /** Timeout. @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** Extra environment variables. @default - only the Powertools settings */
  readonly environment?: Readonly<Record<string, string>>;
  /** Reserved concurrency. @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /** Source maps in the bundle (stack traces point at TypeScript). @default true */
  readonly sourceMap?: boolean;
  /**
   * The module of the model this function serves (e.g. `models/<name>/src/module.ts`, relative to the repository
   * root): what its code imports as MODEL_MODULE_SPECIFIER. @default - the function serves no model
   */
  readonly modelModule?: string;
  /** The model this function works for and its part (written to the function's `Metadata`, where the local stage
   *  finds it). @default - the function belongs to no model */
  readonly modelTag?: ModelResourceTag;
}

/** Lambda retries a failed asynchronous invocation at most twice. */
const MAX_ASYNC_RETRIES = 2;

export interface EventTargetOptions {
  /** Retries of a failed delivery (EventBridge) and of a function error (Lambda, which stops at 2). */
  readonly retryAttempts: number;
  /** How old an event may get before it goes to the DLQ instead. @default - EventBridge 24 h, Lambda 6 h */
  readonly maxEventAge?: Duration;
}

export class ServiceFunction extends Construct implements IGrantable {
  /** Set by the first asEventTarget: the function's one EventInvokeConfig says this. */
  private asyncInvoke: { readonly retries: number; readonly queue: IQueue } | undefined;
  public readonly function: NodejsFunction;
  public readonly logGroup: LogGroup;
  /** The function's own role: log writes to its log group, X-Ray, and what the intent methods grant. */
  public readonly role: Role;
  /** The handler module, relative to the repository root (what the least-privilege test analyses). */
  public readonly entry: string;
  /** The exported handler name. */
  public readonly handler: string;
  /** The model module MODEL_MODULE_SPECIFIER resolves to in this bundle, relative to the repository root. */
  public readonly modelModule?: string;
  private liveAlias?: Alias;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    if (path.isAbsolute(props.entry) || !/^[\w./-]+\.ts$/.test(props.entry)) {
      throw new Error(`entry must be a .ts path relative to the repository root, got '${props.entry}'`);
    }
    if (!/^[a-z][a-z0-9-]*$/.test(props.serviceName)) {
      throw new Error(`serviceName must be lower-case kebab-case, got '${props.serviceName}'`);
    }
    const memorySize = props.memorySize ?? 512;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240) {
      throw new Error(`memorySize must be an integer from 128 to 10240 MB, got ${memorySize}`);
    }
    const sourceMap = props.sourceMap ?? true;
    this.entry = props.entry;
    this.handler = props.handler ?? 'handler';
    this.modelModule = props.modelModule;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    // Our own role instead of AWSLambdaBasicExecutionRole: logs only to this function's log group.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.serviceName} function`,
    });
    new Policy(this, 'LogsPolicy', {
      roles: [this.role],
      statements: [
        new PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.logGroup.logGroupArn],
        }),
      ],
    });

    this.function = new NodejsFunction(this, 'Function', {
      role: this.role,
      entry: path.join(PROJECT_ROOT, props.entry),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      handler: this.handler,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        ...serviceEnvironment({ serviceName: props.serviceName, metricsNamespace: props.metricsNamespace, sourceMap }),
        ...props.environment,
      },
      bundling: serviceBundling(sourceMap, props.modelModule),
    });
    if (props.modelTag) tagModelResource(this.function.node.defaultChild as CfnFunction, props.modelTag);
    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords and dynamodb:ListStreams (stream mappings) have no resource-level permissions; every other grant names its resource.',
      });
    }
  }

  public get grantPrincipal() {
    return this.role;
  }

  /** The alias `addLiveAlias` created, if any: what callers that should land on it (the API) integrate. */
  public get alias(): Alias | undefined {
    return this.liveAlias;
  }

  /**
   * Publishes a version whenever the code or configuration changes and points an alias at it, optionally with
   * provisioned concurrency scaled by target tracking on `LambdaProvisionedConcurrencyUtilization`. Provisioned
   * environments exist only behind the alias: a caller that invokes the function itself ($LATEST) never reaches them
   * (https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html), so integrate `alias`.
   */
  public addLiveAlias(options: LiveAliasOptions = {}): Alias {
    if (this.liveAlias) throw new Error(`${this.node.path} already has its live alias '${this.liveAlias.aliasName}'`);
    const aliasName = options.aliasName ?? 'live';
    const provisioned = options.provisionedConcurrency ?? false;
    if (provisioned) validateProvisionedConcurrency(provisioned);
    this.liveAlias = new Alias(this, 'Alias', {
      aliasName,
      version: this.function.currentVersion,
      description: provisioned
        ? `Serves the current version with ${provisioned.min} to ${provisioned.max} provisioned environments`
        : 'Serves the current version on demand',
      // The floor is on the alias itself, so a deploy provisions it with each new version; target tracking moves it.
      provisionedConcurrentExecutions: provisioned ? provisioned.min : undefined,
    });
    if (provisioned) {
      this.liveAlias
        .addAutoScaling({ minCapacity: provisioned.min, maxCapacity: provisioned.max })
        .scaleOnUtilization({ utilizationTarget: provisioned.targetUtilization });
    }
    return this.liveAlias;
  }

  /** Allows these item actions on the table itself (not its indexes), and the key use they need. */
  public allowTable(table: ITable, actions: readonly TableAction[]): void {
    if (actions.length === 0) throw new Error('actions must name at least one DynamoDB action');
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }),
    );
    if (table.encryptionKey)
      this.allowKey(
        table.encryptionKey,
        actions.some((a) => TABLE_WRITES.has(a)),
      );
  }

  /** Allows Query on one index of the table (and nothing on the table itself), and the key use that needs. */
  public allowIndexQuery(table: ITable, indexName: string): void {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${indexName}`] }),
    );
    if (table.encryptionKey) this.allowKey(table.encryptionKey, false);
  }

  /** Allows PutRecords on the stream, and the key use that needs. */
  public allowStreamPut(stream: IStream): void {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['kinesis:PutRecords'], resources: [stream.streamArn] }),
    );
    if (stream.encryptionKey) this.allowKey(stream.encryptionKey, true);
  }

  /** Allows what a Lambda event-source mapping needs to read the stream (shards, iterators, records), and the key. */
  public allowStreamRead(stream: IStream): void {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'kinesis:DescribeStream',
          'kinesis:DescribeStreamSummary',
          'kinesis:GetRecords',
          'kinesis:GetShardIterator',
          'kinesis:ListShards',
        ],
        resources: [stream.streamArn],
      }),
    );
    if (stream.encryptionKey) this.allowKey(stream.encryptionKey, false);
  }

  /**
   * Allows what a Lambda event-source mapping needs to read the table's stream, and the table key's decrypt (stream
   * records are encrypted with the table's key). ListStreams has no resource-level permission (it is granted on `*`);
   * Lambda checks for it with the other three when the mapping is created.
   */
  public allowTableStreamRead(table: ITable): void {
    if (!table.tableStreamArn) throw new Error(`table ${table.node.path} has no stream: give it a StreamViewType`);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [table.tableStreamArn],
      }),
    );
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }));
    if (table.encryptionKey) this.allowKey(table.encryptionKey, false);
  }

  /** Allows SendMessage to the queue (e.g. an on-failure destination), and the key use that needs. */
  public allowQueueSend(queue: IQueue): void {
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    if (queue.encryptionMasterKey) this.allowKey(queue.encryptionMasterKey, true);
  }

  /**
   * The function as an EventBridge rule target whose failures all end in `deadLetterQueue`. EventBridge invokes Lambda
   * asynchronously: its retry policy and DLQ only cover handing the event to Lambda. A function error is retried by
   * Lambda itself (at most twice, about 1 and 2 minutes apart) and then discarded unless the function has an
   * on-failure destination — so the function gets one, the same queue, with an invocation record (the event, the
   * error, the attempts). One per function: a second rule reuses it and must ask for the same retries.
   */
  public asEventTarget(deadLetterQueue: IQueue, options: EventTargetOptions): LambdaFunction {
    const retryAttempts = Math.min(options.retryAttempts, MAX_ASYNC_RETRIES);
    if (this.asyncInvoke) {
      if (this.asyncInvoke.retries !== retryAttempts || this.asyncInvoke.queue !== deadLetterQueue) {
        throw new Error(`${this.node.path}: every rule targeting one function must use the same retries and DLQ`);
      }
    } else {
      // Not SqsDestination: its grant adds queue reads and key re-encryption; the function only sends.
      const onFailure: IDestination = { bind: () => ({ destination: deadLetterQueue.queueArn }) };
      new EventInvokeConfig(this, 'AsyncInvoke', {
        function: this.function,
        onFailure,
        retryAttempts,
        ...(options.maxEventAge ? { maxEventAge: options.maxEventAge } : {}),
      });
      this.allowQueueSend(deadLetterQueue);
      this.asyncInvoke = { retries: retryAttempts, queue: deadLetterQueue };
    }
    return new LambdaFunction(this.function, {
      deadLetterQueue,
      retryAttempts: options.retryAttempts,
      ...(options.maxEventAge ? { maxEventAge: options.maxEventAge } : {}),
    });
  }

  /** Attaches a managed policy another stack publishes (e.g. the data stack's prefix-scoped writers). */
  public attachPolicy(policy: IManagedPolicy): void {
    this.role.addManagedPolicy(policy);
  }

  /** Allows Publish to the topic, and the key use that needs. */
  public allowPublish(topic: ITopic): void {
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
    if (topic.masterKey) this.allowKey(topic.masterKey, true);
  }

  /** Allows PutEvents on the bus. */
  public allowPutEvents(bus: IEventBus): void {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['events:PutEvents'], resources: [bus.eventBusArn] }),
    );
  }

  /** Allows one statement the intent methods do not cover (e.g. sagemaker:InvokeEndpoint on one endpoint). */
  public allow(statement: PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }

  private allowKey(key: IKey, write: boolean): void {
    const actions = write ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'];
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [key.keyArn] }));
  }
}

function validateProvisionedConcurrency({ min, max, targetUtilization }: ProvisionedConcurrency): void {
  if (!Number.isInteger(min) || min < 1) {
    throw new Error(`provisionedConcurrency.min must be an integer of at least 1, got ${min}`);
  }
  if (!Number.isInteger(max) || max < min) {
    throw new Error(`provisionedConcurrency.max must be an integer of at least min (${min}), got ${max}`);
  }
  if (!(targetUtilization >= 0.1 && targetUtilization <= 0.9)) {
    throw new Error(`provisionedConcurrency.targetUtilization must be from 0.1 to 0.9, got ${targetUtilization}`);
  }
}
