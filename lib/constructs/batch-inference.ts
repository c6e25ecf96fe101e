// One batch model's nightly run: an EventBridge Scheduler schedule starts a state machine that reads the champion
// pointer, plans the run's day, queries the lake with Athena (the model module's batch query), folds the history and
// writes the transform input and the entities' state (prepare), runs SageMaker Batch Transform on the endpoint's
// model with data capture, joins and decides (publish) and puts PredictionsReady on the bus. A failed task fails the
// run (alarmed by the observability stack); a schedule that cannot start one goes to the dead-letter queue.
// Every service call is a Task with a stable name, so the local stage runs the same ASL with task overrides.
import { type CfnElement, Duration, type RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import type { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { InstanceType } from 'aws-cdk-lib/aws-ec2';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  type CfnSchedule,
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
} from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import {
  type CfnStateMachine,
  Choice,
  Condition,
  DefinitionBody,
  Fail,
  IntegrationPattern,
  JsonPath,
  LogLevel,
  type QueryLanguage,
  StateMachine,
  Succeed,
  TaskInput,
  type TaskStateBase,
} from 'aws-cdk-lib/aws-stepfunctions';
import {
  AssembleWith,
  BatchStrategy,
  CallAwsService,
  EventBridgePutEvents,
  LambdaInvoke,
  S3DataType,
  SageMakerCreateTransformJob,
  type SageMakerCreateTransformJobProps,
  SplitType,
} from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { predictionModelPrefix } from '../../lambdas/shared/contracts/api.js';
import { EVENT_SOURCES, EVENT_VERSION } from '../../lambdas/shared/contracts/events.js';
import type { ModelManifest } from '../../models/shared/manifest.js';
import { tagModelResource } from './model-metadata.js';
import { acknowledgeWildcards, nagBucketArn } from './model-registry.js';
import { athenaQueryAcknowledgements, athenaQueryGrants, ScopedAthenaQuery } from './retraining-workflow.js';
import { ServiceFunction } from './service-function.js';

/** The Task states the local stage overrides or runs (their names are the contract with local/lifecycle). */
export const BATCH_TASKS = [
  'ReadChampion',
  'Plan',
  'QueryPopulation',
  'Prepare',
  'Transform',
  'Publish',
  'PublishReady',
] as const;

/** Bytes one feature value takes in a v2 JSON body, generously (the transform's MaxPayloadInMB follows from it). */
const BYTES_PER_VALUE = 24;

/** Where the run reads the lake: the Athena workgroup and database, the tables' locations and the results prefix. */
export interface BatchLake {
  readonly workGroup: CfnWorkGroup;
  readonly database: string;
  readonly reads: ReadonlyArray<{ readonly bucket: IBucket; readonly prefix: string }>;
  readonly results: { readonly bucket: IBucket; readonly prefix: string };
}

export interface BatchInferenceProps {
  readonly manifest: ModelManifest;
  /** The version the bootstrap card records: what a run reports while the champion pointer is `bootstrap`. */
  readonly bootstrapVersion: string;
  /** This environment's profile: picks `serving.batch.instanceType`. */
  readonly instanceType: string;
  /** The model module bundled into the run's tasks (relative to the repository root). */
  readonly modelModule: string;
  /** The environment's thresholds of the model's policy. */
  readonly thresholds: Readonly<Record<string, number>>;
  /** The SageMaker model the transform runs: the endpoint's, so batch and real time serve the same champion. */
  readonly sageMakerModelName: string;
  /** That model's execution role (the transform job runs with it): granted the run's input, output and capture. */
  readonly modelRole: IRole;
  readonly championParameterName: string;
  readonly championParameterArn: string;
  readonly lake: BatchLake;
  /** Where the run's working files and the predictions go. */
  readonly lakeBucket: IBucket;
  /** Where the transform's data capture goes (Model Monitor reads it). */
  readonly captureBucket: IBucket;
  /** Each entity's state after the run, where the real-time route reads it. */
  readonly featuresTable: ITable;
  readonly key: IKey;
  readonly bus: IEventBus;
  /** Scheduler deliveries that failed after retries. */
  readonly deadLetterQueue: IQueue;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The longest a run may take (the transform is most of it). @default Duration.hours(6) */
  readonly timeout?: Duration;
}

/** The transform task with data capture (which CDK's task does not render) and ListTags scoped to transform jobs. */
class CapturedTransformJob extends SageMakerCreateTransformJob {
  constructor(
    scope: Construct,
    id: string,
    props: SageMakerCreateTransformJobProps,
    private readonly capture: { readonly DestinationS3Uri: string; readonly KmsKeyId: string },
  ) {
    super(scope, id, props);
    const policies = this.taskPolicies ?? [];
    const at = policies.findIndex((p) => p.actions.includes('sagemaker:ListTags') && p.resources.includes('*'));
    if (at < 0) throw new Error('expected the transform task to grant sagemaker:ListTags on *: re-check the scoping');
    policies[at] = new PolicyStatement({
      actions: ['sagemaker:ListTags'],
      resources: [Stack.of(this).formatArn({ service: 'sagemaker', resource: 'transform-job', resourceName: '*' })],
    });
    // The job runs with the model's own role: CreateTransformJob passes none, so the PassRole CDK adds is dropped.
    const passRole = policies.findIndex((p) => p.actions.includes('iam:PassRole'));
    if (passRole >= 0) policies.splice(passRole, 1);
  }

  // biome-ignore lint/suspicious/noExplicitAny: the base class renders the state as `any`.
  protected override _renderTask(topLevelQueryLanguage?: QueryLanguage): any {
    const task = super._renderTask(topLevelQueryLanguage);
    task.Parameters = { ...task.Parameters, DataCaptureConfig: { ...this.capture, GenerateInferenceId: true } };
    return task;
  }
}

/** Where a model's batch transform captures in the capture bucket (the drift check reads it). */
export const batchCapturePrefix = (model: string): string => `${model}/batch-transform/`;

export class BatchInference extends Construct {
  public readonly stateMachine: StateMachine;
  /** The run's tasks (plan, prepare, publish). */
  public readonly tasks: ServiceFunction;
  public readonly schedule: Schedule;
  /** `s3://…/` where the transform's capture goes. */
  public readonly captureUri: string;

  constructor(scope: Construct, id: string, props: BatchInferenceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { manifest } = props;
    const model = manifest.name;
    const batch = manifest.serving.batch;
    if (!batch || !manifest.serving.modes.includes('batch')) {
      throw new Error(`model ${model} is not served in batch: its manifest needs the 'batch' mode and block`);
    }
    const workPrefix = `batch/${model}`;
    const predictionsPrefix = predictionModelPrefix(model);
    const capturePrefix = batchCapturePrefix(model).replace(/\/$/, '');
    this.captureUri = `s3://${props.captureBucket.bucketName}/${capturePrefix}/`;

    this.tasks = new ServiceFunction(this, 'Tasks', {
      entry: 'lambdas/batch/handler.ts',
      serviceName: 'batch',
      metricsNamespace: 'AIMS/Batch',
      description: `Nightly batch run of ${model}: plan, prepare the transform input, publish the predictions`,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      memorySize: 2048,
      timeout: Duration.minutes(10),
      modelModule: props.modelModule,
      modelTag: { model, role: 'batch-tasks' },
      environment: {
        MODEL_NAME: model,
        BOOTSTRAP_VERSION: props.bootstrapVersion,
        MODEL_THRESHOLDS: JSON.stringify(props.thresholds),
        ROWS_PER_REQUEST: String(batch.rowsPerRequest),
        MODEL_INPUT_NAME: manifest.serving.inputName,
        MODEL_OUTPUT_NAME: manifest.serving.outputName,
        LAKE_BUCKET: props.lakeBucket.bucketName,
        FEATURES_TABLE_NAME: props.featuresTable.tableName,
      },
    });
    this.tasks.allow(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [props.lake.results.bucket.arnForObjects(`${props.lake.results.prefix}/*`)],
      }),
    );
    this.tasks.allow(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [props.lakeBucket.arnForObjects(`${workPrefix}/*`)],
      }),
    );
    this.tasks.allow(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.lakeBucket.arnForObjects(`${predictionsPrefix}*`)],
      }),
    );
    this.tasks.allow(
      new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.key.keyArn] }),
    );
    this.tasks.allowTable(props.featuresTable, ['GetItem', 'PutItem']);
    const lake = nagBucketArn(props.lakeBucket);
    acknowledgeWildcards(this.tasks.role.node.findChild('DefaultPolicy'), {
      [`Resource::${nagBucketArn(props.lake.results.bucket)}/${props.lake.results.prefix}/*`]:
        'Athena names result objects by query id; read-only, results prefix only.',
      [`Resource::${lake}/${workPrefix}/*`]: "Each run writes and reads its files under this model's batch prefix.",
      [`Resource::${lake}/${predictionsPrefix}*`]: "Each run writes one day's predictions under this model's prefix.",
    });

    // The transform runs with the model's role: it reads the run's input, writes its output and the capture.
    props.modelRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [props.lakeBucket.arnForObjects(`${workPrefix}/*`)],
      }),
    );
    props.modelRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.lakeBucket.bucketArn] }),
    );
    props.modelRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.captureBucket.arnForObjects(`${capturePrefix}/*`)],
      }),
    );
    props.modelRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.key.keyArn] }),
    );

    // ---- the run
    const failed = new Fail(this, 'BatchRunFailed', {
      error: 'BatchRunFailed',
      causePath: '$.failure.Cause',
    });
    const guard = <T extends TaskStateBase>(task: T): T => {
      task.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.failure' });
      return task;
    };
    const invoke = (id: string, payload: Record<string, unknown>, resultPath: string) =>
      guard(
        new LambdaInvoke(this, id, {
          lambdaFunction: this.tasks.function,
          payload: TaskInput.fromObject(payload),
          payloadResponseOnly: true,
          resultPath,
        }),
      );
    const readChampion = guard(
      new CallAwsService(this, 'ReadChampion', {
        service: 'ssm',
        action: 'getParameter',
        parameters: { Name: props.championParameterName },
        iamResources: [props.championParameterArn],
        resultSelector: { pointer: JsonPath.stringAt('$.Parameter.Value') },
        resultPath: '$.champion',
      }),
    );
    const planRun = invoke(
      'Plan',
      { action: 'plan', executionName: JsonPath.stringAt('$$.Execution.Name'), input: JsonPath.objectAt('$.run') },
      '$.plan',
    );
    const query = guard(
      new ScopedAthenaQuery(
        this,
        'QueryPopulation',
        athenaQueryGrants(stack, {
          workGroup: props.lake.workGroup.name,
          database: props.lake.database,
          reads: props.lake.reads,
          results: props.lake.results,
          key: props.key,
        }),
        {
          // The model module's query, from the bundle (the plan step returns it); the day is its parameter.
          queryString: JsonPath.stringAt('$.plan.query'),
          workGroup: props.lake.workGroup.name,
          queryExecutionContext: { databaseName: props.lake.database },
          executionParameters: JsonPath.listAt('$.plan.parameters'),
          integrationPattern: IntegrationPattern.RUN_JOB,
          resultSelector: { resultUri: JsonPath.stringAt('$.QueryExecution.ResultConfiguration.OutputLocation') },
          resultPath: '$.query',
        },
      ),
    );
    const prepareRun = invoke(
      'Prepare',
      {
        action: 'prepare',
        resultUri: JsonPath.stringAt('$.query.resultUri'),
        date: JsonPath.stringAt('$.plan.date'),
        workPrefix: JsonPath.stringAt('$.plan.workPrefix'),
        inputPrefix: JsonPath.stringAt('$.plan.inputPrefix'),
      },
      '$.prepared',
    );
    const maxPayloadMb = Math.min(
      100,
      Math.ceil((batch.rowsPerRequest * manifest.features.length * BYTES_PER_VALUE) / 1024 ** 2) + 1,
    );
    const transform = guard(
      new CapturedTransformJob(
        this,
        'Transform',
        {
          transformJobName: JsonPath.stringAt('$.plan.jobName'),
          modelName: props.sageMakerModelName,
          role: props.modelRole,
          batchStrategy: BatchStrategy.SINGLE_RECORD,
          maxPayload: Size.mebibytes(maxPayloadMb),
          transformInput: {
            transformDataSource: {
              s3DataSource: { s3Uri: JsonPath.stringAt('$.plan.inputPrefix'), s3DataType: S3DataType.S3_PREFIX },
            },
            contentType: 'application/json',
            splitType: SplitType.LINE,
          },
          transformOutput: {
            s3OutputPath: JsonPath.stringAt('$.plan.outputPrefix'),
            encryptionKey: props.key,
            accept: 'application/json',
            assembleWith: AssembleWith.LINE,
          },
          transformResources: {
            instanceCount: 1,
            instanceType: new InstanceType(props.instanceType.replace(/^ml\./, '')),
            volumeEncryptionKey: props.key,
          },
          integrationPattern: IntegrationPattern.RUN_JOB,
          resultPath: JsonPath.DISCARD,
        },
        { DestinationS3Uri: this.captureUri, KmsKeyId: props.key.keyArn },
      ),
    );
    const publishRun = invoke(
      'Publish',
      {
        action: 'publish',
        date: JsonPath.stringAt('$.plan.date'),
        workPrefix: JsonPath.stringAt('$.plan.workPrefix'),
        inputPrefix: JsonPath.stringAt('$.plan.inputPrefix'),
        outputPrefix: JsonPath.stringAt('$.plan.outputPrefix'),
        champion: JsonPath.stringAt('$.champion.pointer'),
        executionArn: JsonPath.stringAt('$$.Execution.Id'),
      },
      '$.published',
    );
    const ready = guard(
      new EventBridgePutEvents(this, 'PublishReady', {
        entries: [
          {
            eventBus: props.bus,
            source: EVENT_SOURCES.batch,
            detailType: 'PredictionsReady',
            detail: TaskInput.fromObject({
              version: EVENT_VERSION,
              data: {
                model,
                version: JsonPath.stringAt('$.published.version'),
                date: JsonPath.stringAt('$.published.date'),
                rows: JsonPath.numberAt('$.published.rows'),
                outcomes: JsonPath.objectAt('$.published.outcomes'),
                location: JsonPath.stringAt('$.published.location'),
                executionArn: JsonPath.stringAt('$$.Execution.Id'),
              },
            }),
          },
        ],
        resultPath: JsonPath.DISCARD,
      }),
    );
    readChampion.next(planRun).next(query).next(prepareRun);
    prepareRun.next(
      new Choice(this, 'AnyRows?')
        .when(Condition.numberGreaterThan('$.prepared.rows', 0), transform.next(publishRun))
        .otherwise(publishRun),
    );
    publishRun.next(ready).next(new Succeed(this, 'PredictionsWritten'));

    const logs = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: `Nightly batch of ${model}: champion → plan → lake query → prepare → transform → publish → PredictionsReady`,
      definitionBody: DefinitionBody.fromChainable(readChampion),
      tracingEnabled: true,
      timeout: props.timeout ?? Duration.hours(6),
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
    });
    tagModelResource(this.stateMachine.node.defaultChild as CfnStateMachine, { model, role: 'batch-inference' });

    const fnRef = `<${stack.getLogicalId(this.tasks.function.node.defaultChild as CfnElement)}.Arn>:*`;
    acknowledgeWildcards(this.stateMachine.role.node.findChild('DefaultPolicy'), {
      'Resource::*': 'X-Ray and CloudWatch Logs delivery (vended logs) have no resource-level permissions.',
      [`Resource::${fnRef}`]: 'Granted by the Lambda task: invoking published versions of this one function.',
      ...athenaQueryAcknowledgements(stack, props.lake, 'batch'),
      [`Resource::${stack.resolve(stack.formatArn({ service: 'sagemaker', resource: 'transform-job', resourceName: '*' }))}`]:
        'Transform job names are generated per execution (model, day, execution); scoped to this account.',
    });
    acknowledgeWildcards(props.modelRole.node.findChild('DefaultPolicy'), {
      [`Resource::${lake}/${workPrefix}/*`]:
        "The batch transform reads and writes the run's files, this model's prefix only.",
      [`Resource::${nagBucketArn(props.captureBucket)}/${capturePrefix}/*`]:
        "The batch transform captures under this model's batch capture prefix only.",
    });

    // Our own role for the schedule: it starts this state machine, and sends to the (encrypted) dead-letter queue.
    const scheduleRole = new Role(this, 'ScheduleRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `Starts the nightly batch of ${model}`,
    });
    const keys = [...new Set([props.key, props.deadLetterQueue.encryptionMasterKey ?? props.key])];
    scheduleRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: keys.map((k) => k.keyArn) }),
    );
    this.schedule = new Schedule(this, 'Schedule', {
      description: `Nightly batch of ${model}: ${batch.population}`,
      schedule: ScheduleExpression.expression(batch.schedule),
      key: props.key,
      target: new StepFunctionsStartExecution(this.stateMachine, {
        role: scheduleRole,
        input: ScheduleTargetInput.fromObject({ run: { scheduledTime: ContextAttribute.scheduledTime } }),
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(6),
      }),
    });
    tagModelResource(this.schedule.node.defaultChild as CfnSchedule, { model, role: 'batch-schedule' });
  }
}
