// One model's retraining state machine: lock → champion → dataset (Athena) → train (SageMaker, GPU) → evaluate +
// gate → register → [shadow: move the challenger pointer, update the models stack, bake, compare, gate on the
// verdict] → approve → move the pointer and update the models stack (canary, auto-rollback) → confirm the monitor
// baseline → ModelDeployed. Every failure publishes RetrainingFailed and leaves the champion serving.
// Every service call is a plain Task with a stable name, so the local stage runs the same ASL with task overrides.
import { ArnFormat, type CfnElement, Duration, Lazy, type RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import { InstanceType } from 'aws-cdk-lib/aws-ec2';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  type CfnStateMachine,
  Choice,
  Condition,
  DefinitionBody,
  Fail,
  type INextable,
  IntegrationPattern,
  JsonPath,
  LogLevel,
  Pass,
  Result,
  type State,
  StateMachine,
  Succeed,
  TaskInput,
  type TaskStateBase,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import {
  AthenaStartQueryExecution,
  type AthenaStartQueryExecutionProps,
  CallAwsService,
  DockerImage,
  EventBridgePutEvents,
  InputMode,
  LambdaInvoke,
  S3Location,
  type S3LocationConfig,
  SageMakerCreateTrainingJob,
  type SageMakerCreateTrainingJobProps,
} from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { EVENT_SOURCES, EVENT_VERSION } from '../../lambdas/shared/contracts/events.js';
import type { ModelManifest } from '../../models/shared/manifest.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import { tagModelResource } from './model-metadata.js';
import { acknowledgeWildcards, modelVersionsPrefix, nagBucketArn } from './model-registry.js';
import type { ServiceFunction } from './service-function.js';

/** The Task states the local stage overrides (aws-local-stepfunctions `overrides.taskResourceLocalHandlers`). */
export const RETRAINING_TASKS = [
  'AcquireLock',
  'ReadChampion',
  'BuildDataset',
  'PrepareDataset',
  'Train',
  'Evaluate',
  'Register',
  'AwaitApproval',
  'Approve',
  'MovePointer',
  'UpdateModelsStack',
  'DescribeModelsStack',
  'ResetPointer',
  'ReadMonitorSchedule',
  'ReadMonitorBaseline',
  'PublishDeployed',
  'PublishFailed',
  'ReleaseLock',
  'ReleaseLockAfterFailure',
] as const;

/** The further Task states of an environment with a shadow variant (the challenger's bake before approval). */
export const SHADOW_TASKS = [
  'ReadChallenger',
  'MoveChallenger',
  'UpdateShadowStack',
  'DescribeShadowStack',
  'ResetChallenger',
  'CompareShadow',
] as const;

/** The shadow step of an environment with a shadow variant. */
export interface ShadowStepProps {
  readonly challengerParameterName: string;
  readonly challengerParameterArn: string;
  /** ARN of the models stack's shadow comparison function (a derived literal: no cross-stack reference). */
  readonly comparisonFunctionArn: string;
  /** Minutes the candidate serves in the shadow before it is compared (also the comparison's window). */
  readonly bakeMinutes: number;
}

export interface RetrainingFunctions {
  readonly coordinate: ServiceFunction;
  readonly prepareDataset: ServiceFunction;
  readonly evaluate: ServiceFunction;
}

export interface RetrainingWorkflowProps {
  readonly manifest: ModelManifest;
  /** The config.pbtxt template the evaluate step renders for the new version. */
  readonly tritonTemplate: string;
  /** The serving instance type of this environment (GPU or CPU kind in config.pbtxt). */
  readonly servingInstanceType: string;
  readonly tritonImageUri: string;
  /** SageMaker PyTorch training image (runs train.py in script mode). */
  readonly trainingImageUri: string;
  /** ECR repository ARN of the training image (for the pull grant). */
  readonly trainingImageRepositoryArn: string;
  /** `s3://…` of the tar.gz holding train.py (sagemaker_submit_directory). */
  readonly trainingCodeUri: string;
  /** Content hash of the training code: recorded with every version (lineage). */
  readonly trainingCodeHash: string;
  readonly trainingCodeArn: string;
  readonly packageGroupName: string;
  readonly packageGroupArn: string;
  readonly championParameterName: string;
  readonly championParameterArn: string;
  /** The models stack the deploy step updates with its previous template. */
  readonly modelsStack: {
    readonly stackName: string;
    /** Read at synthesis: the synthesizer adds BootstrapVersion after the stacks are built. */
    readonly parameterKeys: () => readonly string[];
  };
  /** The role CloudFormation uses for that update (the CDK bootstrap's execution role). */
  readonly cloudFormationRoleArn: string;
  /** The data-quality monitoring schedule: it names the job definition that holds the deployed baseline. */
  readonly dataQualityScheduleName: string;
  readonly athena: { readonly workGroup: string; readonly database: string; readonly query: string };
  readonly lakeBucket: IBucket;
  readonly artifactsBucket: IBucket;
  readonly key: IKey;
  /** What the dataset query reads (each table's bucket and prefix) and where the workgroup writes its results. */
  readonly athenaLocations: {
    readonly reads: ReadonlyArray<{ readonly bucket: IBucket; readonly prefix: string }>;
    readonly results: { readonly bucket: IBucket; readonly prefix: string };
  };
  readonly bus: IEventBus;
  readonly functions: RetrainingFunctions;
  readonly approval: EnvironmentConfig['lifecycle']['approval'];
  /** How long a manual approval waits (the AwaitApproval task's timeout); the run may take one day more besides.
   *  @default Duration.days(7) */
  readonly approvalTimeout?: Duration;
  readonly maxTrainingHours: number;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Rows and fraud labels below which no training starts. @default { rows: 1000, positives: 20 } */
  readonly minimum?: { readonly rows: number; readonly positives: number };
  /** Bake the candidate in the shadow variant and gate approval on the comparison's verdict.
   *  @default - no shadow step: registered versions go straight to approval */
  readonly shadow?: ShadowStepProps;
}

/** The states of one "update the models stack with its previous template and wait" loop. */
interface StackUpdateStates {
  readonly update: CallAwsService;
  readonly describe: CallAwsService;
  /** Chains the outcome: UPDATE_COMPLETE → `complete`; a rollback or failure → `rolledBack` (with $.failure set). */
  readonly onOutcome: (complete: State, rolledBack: State) => void;
}

export class RetrainingWorkflow extends Construct {
  public readonly stateMachine: StateMachine;
  public readonly trainingRole: Role;

  constructor(scope: Construct, id: string, props: RetrainingWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { manifest, functions } = props;
    const model = manifest.name;
    const minimum = props.minimum ?? { rows: 1000, positives: 20 };
    const approvalTimeout = props.approvalTimeout ?? Duration.days(7);
    // Step Functions takes a task timeout of 1 second up to a year (a standard execution's longest run).
    if (!(approvalTimeout.toSeconds() >= 1 && approvalTimeout.toSeconds() <= 364 * 86_400)) {
      throw new Error(`approvalTimeout must be 1 second to 364 days, got ${approvalTimeout.toHumanString()}`);
    }
    const trainingPrefix = `training/${model}`;
    const datasetsPrefix = `training-sets/${model}`;

    // ---- failure path: each catch records which state failed, publishes RetrainingFailed, releases, fails.
    const releaseAfterFailure = this.lambda('ReleaseLockAfterFailure', functions.coordinate, {
      action: 'release',
      model,
      executionArn: JsonPath.stringAt('$$.Execution.Id'),
    }).next(new Fail(this, 'RetrainingFailed', { error: 'RetrainingFailed', causePath: '$.failure.Cause' }));
    const publishFailed = new EventBridgePutEvents(this, 'PublishFailed', {
      entries: [
        {
          eventBus: props.bus,
          source: EVENT_SOURCES.retraining,
          detailType: 'RetrainingFailed',
          detail: TaskInput.fromObject({
            version: EVENT_VERSION,
            data: {
              model,
              executionArn: JsonPath.stringAt('$$.Execution.Id'),
              stage: JsonPath.stringAt('$.failedStage'),
              error: JsonPath.stringAt('$.failure.Error'),
              cause: JsonPath.stringAt('$.failure.Cause'),
            },
          }),
        },
      ],
      resultPath: JsonPath.DISCARD,
    });
    publishFailed.next(releaseAfterFailure);
    const failures = new Map<string, Pass>();
    const failed = (stage: string): Pass => {
      let pass = failures.get(stage);
      if (!pass) {
        pass = new Pass(this, `Failed${stage}`, { result: Result.fromString(stage), resultPath: '$.failedStage' });
        pass.next(publishFailed);
        failures.set(stage, pass);
      }
      return pass;
    };
    const guard = <T extends TaskStateBase>(task: T, stage = task.id, next?: State): T => {
      task.addCatch(next ?? failed(stage), { errors: ['States.ALL'], resultPath: '$.failure' });
      return task;
    };

    // ---- lock and champion
    const acquire = this.lambda('AcquireLock', functions.coordinate, {
      action: 'acquire',
      model,
      trigger: JsonPath.stringAt('$.trigger'),
      executionArn: JsonPath.stringAt('$$.Execution.Id'),
      startedAt: JsonPath.stringAt('$$.Execution.StartTime'),
    });
    acquire.addRetry({ errors: ['Lambda.ServiceException', 'Lambda.TooManyRequestsException'], maxAttempts: 3 });
    const readChampion = guard(
      this.readPointer('ReadChampion', props.championParameterName, props.championParameterArn, '$.champion'),
    );

    // ---- dataset
    const buildDataset = guard(
      new ScopedAthenaQuery(this, 'BuildDataset', datasetQueryGrants(stack, props), {
        queryString: props.athena.query,
        workGroup: props.athena.workGroup,
        queryExecutionContext: { databaseName: props.athena.database },
        integrationPattern: IntegrationPattern.RUN_JOB,
        resultSelector: { resultUri: JsonPath.stringAt('$.QueryExecution.ResultConfiguration.OutputLocation') },
        resultPath: '$.query',
      }),
    );
    const prepareDataset = guard(
      this.lambda(
        'PrepareDataset',
        functions.prepareDataset,
        {
          resultUri: JsonPath.stringAt('$.query.resultUri'),
          outputPrefix: JsonPath.format(
            `s3://${props.lakeBucket.bucketName}/${datasetsPrefix}/{}/`,
            JsonPath.stringAt('$$.Execution.Name'),
          ),
          features: manifest.features,
          label: manifest.label,
          minRows: minimum.rows,
          minPositives: minimum.positives,
        },
        '$.dataset',
      ),
    );

    // ---- training (train.py in the PyTorch DLC, script mode)
    const trainingLogs = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: '/aws/sagemaker/TrainingJobs:*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.trainingRole = new Role(this, 'TrainingRole', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Training jobs of ${model}`,
    });
    this.trainingRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [props.lakeBucket.arnForObjects(`${datasetsPrefix}/*`), props.trainingCodeArn],
      }),
    );
    this.trainingRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.lakeBucket.bucketArn] }),
    );
    this.trainingRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.artifactsBucket.arnForObjects(`${trainingPrefix}/*`)],
      }),
    );
    this.trainingRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant'],
        resources: [props.key.keyArn],
      }),
    );
    this.trainingRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
        resources: [props.trainingImageRepositoryArn],
      }),
    );
    this.trainingRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    );
    this.trainingRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [trainingLogs],
      }),
    );
    this.trainingRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
    );
    const hyperparameters: Record<string, string> = {
      ...Object.fromEntries(Object.entries(manifest.training.hyperparameters).map(([k, v]) => [k, String(v)])),
      model_name: model,
      model_version: JsonPath.stringAt('$.version.name'),
      sagemaker_program: 'train.py',
      sagemaker_submit_directory: props.trainingCodeUri,
      sagemaker_region: stack.region,
    };
    // The version name is also the training job's name: one id from the registry back to the job and its logs.
    const nameVersion = new Pass(this, 'NameVersion', {
      parameters: { name: JsonPath.format(`${model.slice(0, 24)}-{}`, JsonPath.uuid()) },
      resultPath: '$.version',
    });
    const train = guard(
      new ScopedTrainingJob(this, 'Train', {
        trainingJobName: JsonPath.stringAt('$.version.name'),
        role: this.trainingRole,
        algorithmSpecification: {
          trainingImage: DockerImage.fromRegistry(props.trainingImageUri),
          trainingInputMode: InputMode.FILE,
        },
        hyperparameters,
        inputDataConfig: [
          {
            channelName: 'train',
            dataSource: {
              s3DataSource: { s3Location: new StatePathS3Location('$.dataset.trainUri') },
            },
          },
        ],
        outputDataConfig: {
          s3OutputLocation: S3Location.fromBucket(props.artifactsBucket, trainingPrefix),
          encryptionKey: props.key,
        },
        resourceConfig: {
          instanceCount: 1,
          instanceType: new InstanceType(manifest.training.instanceType.replace(/^ml\./, '')),
          volumeSize: Size.gibibytes(30),
          volumeEncryptionKey: props.key,
        },
        stoppingCondition: { maxRuntime: Duration.hours(props.maxTrainingHours) },
        integrationPattern: IntegrationPattern.RUN_JOB,
        resultSelector: {
          artifactUri: JsonPath.stringAt('$.ModelArtifacts.S3ModelArtifacts'),
          jobArn: JsonPath.stringAt('$.TrainingJobArn'),
        },
        resultPath: '$.training',
      }),
    );

    // ---- evaluate + gate
    const versionPrefix = JsonPath.format(
      `s3://${props.artifactsBucket.bucketName}/${modelVersionsPrefix(model)}/{}/`,
      JsonPath.stringAt('$.version.name'),
    );
    const evaluate = guard(
      this.lambda(
        'Evaluate',
        functions.evaluate,
        {
          modelName: model,
          version: JsonPath.stringAt('$.version.name'),
          trainingArtifactUri: JsonPath.stringAt('$.training.artifactUri'),
          datasetPrefix: JsonPath.stringAt('$.dataset.trainUri'),
          versionPrefix,
          features: manifest.features,
          label: manifest.label,
          gate: manifest.training.qualityGate,
          triton: {
            template: props.tritonTemplate,
            maxBatchSize: manifest.serving.maxBatchSize,
            maxQueueDelayMicroseconds: manifest.serving.maxQueueDelayMicroseconds,
            instanceType: props.servingInstanceType,
          },
        },
        '$.evaluation',
      ),
    );
    const gateFailed = new Pass(this, 'GateFailed', {
      parameters: {
        Error: 'QualityGateFailed',
        Cause: JsonPath.jsonToString(JsonPath.objectAt('$.evaluation.reasons')),
      },
      resultPath: '$.failure',
    }).next(failed('Gate'));

    // ---- register + approve
    const register = guard(
      new CallAwsService(this, 'Register', {
        service: 'sagemaker',
        action: 'createModelPackage',
        parameters: {
          ModelPackageGroupName: props.packageGroupName,
          ModelPackageDescription: JsonPath.format(
            `${model} {} (trigger {})`,
            JsonPath.stringAt('$.version.name'),
            JsonPath.stringAt('$.trigger'),
          ),
          ModelApprovalStatus: 'PendingManualApproval',
          InferenceSpecification: {
            Containers: [
              {
                Image: props.tritonImageUri,
                ModelDataUrl: JsonPath.stringAt('$.evaluation.modelDataUri'),
                Environment: { SAGEMAKER_TRITON_DEFAULT_MODEL_NAME: model },
              },
            ],
            SupportedContentTypes: ['application/json'],
            SupportedResponseMIMETypes: ['application/json'],
            SupportedRealtimeInferenceInstanceTypes: [props.servingInstanceType],
          },
          ModelMetrics: {
            ModelQuality: {
              Statistics: { ContentType: 'application/json', S3Uri: JsonPath.stringAt('$.evaluation.metricsUri') },
            },
            ModelDataQuality: {
              Statistics: { ContentType: 'application/json', S3Uri: JsonPath.stringAt('$.evaluation.statisticsUri') },
              Constraints: { ContentType: 'application/json', S3Uri: JsonPath.stringAt('$.evaluation.constraintsUri') },
            },
          },
          DriftCheckBaselines: {
            ModelDataQuality: {
              Statistics: { ContentType: 'application/json', S3Uri: JsonPath.stringAt('$.evaluation.statisticsUri') },
              Constraints: { ContentType: 'application/json', S3Uri: JsonPath.stringAt('$.evaluation.constraintsUri') },
            },
          },
          CustomerMetadataProperties: {
            version: JsonPath.stringAt('$.version.name'),
            artifactPrefix: JsonPath.stringAt('$.evaluation.versionPrefix'),
            trainingData: JsonPath.stringAt('$.dataset.trainUri'),
            trainingJob: JsonPath.stringAt('$.training.jobArn'),
            codeSha256: props.trainingCodeHash,
            trigger: JsonPath.stringAt('$.trigger'),
            executionArn: JsonPath.stringAt('$$.Execution.Id'),
          },
        },
        iamResources: [props.packageGroupArn, packageArnPattern(stack, props.packageGroupName)],
        resultSelector: { modelPackageArn: JsonPath.stringAt('$.ModelPackageArn') },
        resultPath: '$.registered',
      }),
    );
    const approve = guard(
      new CallAwsService(this, 'Approve', {
        service: 'sagemaker',
        action: 'updateModelPackage',
        parameters: {
          ModelPackageArn: JsonPath.stringAt('$.registered.modelPackageArn'),
          ModelApprovalStatus: 'Approved',
          ApprovalDescription:
            props.approval === 'auto'
              ? 'approved automatically: passed the quality gate'
              : 'approved through the approve API',
        },
        iamResources: [packageArnPattern(stack, props.packageGroupName)],
        resultPath: JsonPath.DISCARD,
      }),
    );
    let approval: INextable & State = approve;
    if (props.approval === 'manual') {
      const awaitApproval = guard(
        new LambdaInvoke(this, 'AwaitApproval', {
          lambdaFunction: functions.coordinate.function,
          integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
          payload: TaskInput.fromObject({
            action: 'await-approval',
            model,
            executionArn: JsonPath.stringAt('$$.Execution.Id'),
            taskToken: JsonPath.taskToken,
            version: JsonPath.stringAt('$.version.name'),
            modelPackageArn: JsonPath.stringAt('$.registered.modelPackageArn'),
          }),
          taskTimeout: Timeout.duration(approvalTimeout),
          resultPath: '$.approval',
        }),
        'Approval',
      );
      awaitApproval.next(approve);
      approval = awaitApproval;
    }

    // ---- deploy: pointer, stack update with the previous template, wait, reset the pointer on rollback
    const resetPointer = this.putPointer(
      'ResetPointer',
      props.championParameterName,
      props.championParameterArn,
      '$.champion.pointer',
    );
    resetPointer.addRetry({ errors: ['States.ALL'], maxAttempts: 5, interval: Duration.seconds(5), backoffRate: 2 });
    // A pointer that cannot be reset is reported as its own stage: the next deploy would serve the failed version.
    guard(resetPointer);
    resetPointer.next(failed('Deploy'));
    const movePointer = guard(
      this.putPointer(
        'MovePointer',
        props.championParameterName,
        props.championParameterArn,
        '$.evaluation.versionPrefix',
      ),
    );
    const deployment = this.modelsStackUpdate(props, {
      update: 'UpdateModelsStack',
      wait: 'WaitForDeployment',
      describe: 'DescribeModelsStack',
      done: 'DeploymentDone?',
      rolledBack: 'DeploymentRolledBack',
      result: '$.deployment',
      kept: 'the endpoint kept the previous champion',
      onError: resetPointer,
    });

    // ---- monitor baseline (moved by the same stack update), ModelDeployed, release
    // CloudFormation names the job definition (it is replaced with each champion): the schedule, whose name is fixed,
    // says which one is current.
    const readSchedule = guard(
      new CallAwsService(this, 'ReadMonitorSchedule', {
        service: 'sagemaker',
        action: 'describeMonitoringSchedule',
        parameters: { MonitoringScheduleName: props.dataQualityScheduleName },
        iamResources: [
          stack.formatArn({
            service: 'sagemaker',
            resource: 'monitoring-schedule',
            resourceName: props.dataQualityScheduleName,
          }),
        ],
        resultSelector: {
          jobDefinitionName: JsonPath.stringAt('$.MonitoringScheduleConfig.MonitoringJobDefinitionName'),
        },
        resultPath: '$.monitor',
      }),
      'MonitorBaseline',
    );
    const monitorJobDefinitions = stack.formatArn({
      service: 'sagemaker',
      resource: 'data-quality-job-definition',
      resourceName: '*',
    });
    const readBaseline = guard(
      new CallAwsService(this, 'ReadMonitorBaseline', {
        service: 'sagemaker',
        action: 'describeDataQualityJobDefinition',
        parameters: { JobDefinitionName: JsonPath.stringAt('$.monitor.jobDefinitionName') },
        iamResources: [monitorJobDefinitions],
        resultSelector: { statisticsUri: JsonPath.stringAt('$.DataQualityBaselineConfig.StatisticsResource.S3Uri') },
        resultPath: '$.monitor',
      }),
      'MonitorBaseline',
    );
    readSchedule.next(readBaseline);
    const monitorAcknowledgement = {
      [`Resource::${stack.resolve(monitorJobDefinitions)}`]:
        'Read-only describe of the job definition the schedule names: CloudFormation generates its name anew with each champion, and the models stack deploys after this one, so no narrower ARN exists here.',
    };
    const baselineMoved = new Choice(this, 'MonitorOnNewBaseline?');
    const baselineStale = new Pass(this, 'MonitorBaselineStale', {
      parameters: {
        Error: 'MonitorBaselineStale',
        Cause: JsonPath.format('the data-quality job still reads {}', JsonPath.stringAt('$.monitor.statisticsUri')),
      },
      resultPath: '$.failure',
    }).next(failed('MonitorBaseline'));
    const publishDeployed = guard(
      new EventBridgePutEvents(this, 'PublishDeployed', {
        entries: [
          {
            eventBus: props.bus,
            source: EVENT_SOURCES.retraining,
            detailType: 'ModelDeployed',
            detail: TaskInput.fromObject({
              version: EVENT_VERSION,
              data: {
                model,
                version: JsonPath.stringAt('$.version.name'),
                modelPackageArn: JsonPath.stringAt('$.registered.modelPackageArn'),
                artifactUri: JsonPath.stringAt('$.evaluation.versionPrefix'),
                executionArn: JsonPath.stringAt('$$.Execution.Id'),
              },
            }),
          },
        ],
        resultPath: JsonPath.DISCARD,
      }),
    );
    const release = this.lambda('ReleaseLock', functions.coordinate, {
      action: 'release',
      model,
      executionArn: JsonPath.stringAt('$$.Execution.Id'),
    });
    release.addRetry({ errors: ['States.ALL'], maxAttempts: 3 });

    const gateChoice = new Choice(this, 'PassedGate?')
      .when(Condition.booleanEquals('$.evaluation.passed', true), register)
      .otherwise(gateFailed);
    acquire.next(
      new Choice(this, 'LockAcquired?')
        .when(Condition.booleanEquals('$.lock.acquired', false), new Succeed(this, 'AlreadyRunningOrDebounced'))
        .otherwise(readChampion),
    );
    readChampion.next(buildDataset).next(prepareDataset).next(nameVersion).next(train).next(evaluate).next(gateChoice);
    if (props.shadow) register.next(this.shadowStep(props, props.shadow, model, guard, failed, approval));
    else register.next(approval);
    approve.next(movePointer);
    movePointer.next(deployment.update);
    deployment.onOutcome(readSchedule, resetPointer);
    readBaseline.next(
      baselineMoved
        .when(
          Condition.stringEqualsJsonPath('$.monitor.statisticsUri', '$.evaluation.statisticsUri'),
          publishDeployed.next(release).next(new Succeed(this, 'Deployed')),
        )
        .otherwise(baselineStale),
    );

    const artifacts = nagBucketArn(props.artifactsBucket);
    const lake = nagBucketArn(props.lakeBucket);
    acknowledgeWildcards(this.trainingRole.node.findChild('DefaultPolicy'), {
      'Resource::*':
        'ecr:GetAuthorizationToken and cloudwatch:PutMetricData (namespace-conditioned) have no resource-level permissions.',
      [`Resource::${lake}/${datasetsPrefix}/*`]:
        "Training reads the training set of its execution, inside this model's prefix.",
      [`Resource::${artifacts}/${trainingPrefix}/*`]:
        "SageMaker writes the job's output under its generated job name, inside this model's prefix.",
      [`Resource::${artifacts}/${trainingPrefix}*`]:
        'Granted by the CDK training task for the output location; same model prefix.',
      'Action::s3:Abort*': 'Granted by the CDK training task: multipart uploads of the job output.',
      'Action::s3:DeleteObject*': 'Granted by the CDK training task: SageMaker replaces partial output on retry.',
      'Action::kms:GenerateDataKey*': 'Granted by the CDK training task for the output key (one key, ours).',
      'Action::kms:ReEncrypt*': 'Granted by the CDK training task for the output key (one key, ours).',
      [`Resource::${Stack.of(this).resolve(trainingLogs)}`]:
        'Training jobs log to streams named after the generated job name.',
    });

    const logs = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: `Retraining of ${model}: dataset → train → evaluate → gate → register → approve → deploy → monitor`,
      definitionBody: DefinitionBody.fromChainable(acquire),
      tracingEnabled: true,
      // The approval wait plus a day for everything else (training is bounded by maxTrainingHours within it).
      timeout: Duration.seconds(approvalTimeout.toSeconds() + Duration.days(1).toSeconds()),
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
    });
    tagModelResource(this.stateMachine.node.defaultChild as CfnStateMachine, { model, role: 'retraining' });
    acknowledgeWildcards(this.stateMachine.role.node.findChild('DefaultPolicy'), monitorAcknowledgement);

    const fnRef = (fn: ServiceFunction) =>
      `<${Stack.of(fn).getLogicalId(fn.function.node.defaultChild as CfnElement)}.Arn>:*`;
    const database = props.athena.database;
    acknowledgeWildcards(this.stateMachine.role.node.findChild('DefaultPolicy'), {
      'Resource::*': 'X-Ray and CloudWatch Logs delivery (vended logs) have no resource-level permissions.',
      ...Object.fromEntries(
        [functions.coordinate, functions.prepareDataset, functions.evaluate].map((fn) => [
          `Resource::${fnRef(fn)}`,
          'Granted by the Lambda task: invoking published versions of this one function.',
        ]),
      ),
      ...athenaQueryAcknowledgements(stack, { database, ...props.athenaLocations }, 'dataset'),
      [`Resource::${stack.resolve(stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: '*' }))}`]:
        'Training job names are generated per execution (the version name); the CDK task scopes them to this account.',
      [`Resource::${stack.resolve(packageArnPattern(stack, props.packageGroupName))}`]:
        "Model package versions are numbered by SageMaker inside this model's package group.",
      [`Resource::${stack.resolve(modelsStackArn(stack, props.modelsStack.stackName))}`]:
        "The models stack's id suffix is assigned by CloudFormation; the name is fixed.",
      ...(props.shadow
        ? {
            [`Resource::${stack.resolve(props.shadow.comparisonFunctionArn)}:*`]:
              'Granted by the Lambda task: invoking published versions of the one shadow comparison function.',
          }
        : {}),
    });
  }

  /** ssm:PutParameter of a pointer from a path of the state. */
  /** GetParameter of a pointer into `{ pointer }` at `resultPath`. */
  private readPointer(id: string, name: string, arn: string, resultPath: string): CallAwsService {
    return new CallAwsService(this, id, {
      service: 'ssm',
      action: 'getParameter',
      parameters: { Name: name },
      iamResources: [arn],
      resultSelector: { pointer: JsonPath.stringAt('$.Parameter.Value') },
      resultPath,
    });
  }

  private putPointer(id: string, name: string, arn: string, valuePath: string): CallAwsService {
    return new CallAwsService(this, id, {
      service: 'ssm',
      action: 'putParameter',
      parameters: { Name: name, Value: JsonPath.stringAt(valuePath), Overwrite: true, Type: 'String' },
      iamResources: [arn],
      resultPath: JsonPath.DISCARD,
    });
  }

  /**
   * UpdateStack of the models stack with its previous template (every parameter UsePreviousValue, so CloudFormation
   * re-resolves the pointers and nothing else), then DescribeStacks every minute until it completes or rolls back.
   * The deploy step and the shadow step share it: each names its states and says what stays served on a rollback.
   */
  private modelsStackUpdate(
    props: RetrainingWorkflowProps,
    names: {
      update: string;
      wait: string;
      describe: string;
      done: string;
      rolledBack: string;
      /** Where the stack status goes in the state. */
      result: string;
      /** What a rollback leaves serving (the failure's cause). */
      kept: string;
      /** Where an error of the update or of polling goes (with $.failure set). */
      onError: State;
    },
  ): StackUpdateStates {
    const stackArn = modelsStackArn(Stack.of(this), props.modelsStack.stackName);
    const update = new CallAwsService(this, names.update, {
      service: 'cloudformation',
      action: 'updateStack',
      parameters: {
        StackName: props.modelsStack.stackName,
        UsePreviousTemplate: true,
        Parameters: Lazy.any({
          produce: () =>
            props.modelsStack.parameterKeys().map((key) => ({ ParameterKey: key, UsePreviousValue: true })),
        }),
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
        RoleARN: props.cloudFormationRoleArn,
      },
      iamResources: [stackArn],
      additionalIamStatements: [
        new PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [props.cloudFormationRoleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
        }),
      ],
      resultPath: JsonPath.DISCARD,
    });
    update.addCatch(names.onError, { errors: ['States.ALL'], resultPath: '$.failure' });
    const wait = new Wait(this, names.wait, { time: WaitTime.duration(Duration.minutes(1)) });
    const describe = new CallAwsService(this, names.describe, {
      service: 'cloudformation',
      action: 'describeStacks',
      parameters: { StackName: props.modelsStack.stackName },
      iamResources: [stackArn],
      resultSelector: { status: JsonPath.stringAt('$.Stacks[0].StackStatus') },
      resultPath: names.result,
    });
    describe.addRetry({ errors: ['States.ALL'], maxAttempts: 3, interval: Duration.seconds(10), backoffRate: 2 });
    describe.addCatch(names.onError, { errors: ['States.ALL'], resultPath: '$.failure' });
    update.next(wait);
    wait.next(describe);
    const status = `${names.result}.status`;
    return {
      update,
      describe,
      onOutcome: (complete, rolledBack) => {
        const failure = new Pass(this, names.rolledBack, {
          parameters: {
            Error: 'DeploymentRolledBack',
            Cause: JsonPath.format(`models stack ended in {}: ${names.kept}`, JsonPath.stringAt(status)),
          },
          resultPath: '$.failure',
        }).next(rolledBack);
        describe.next(
          new Choice(this, names.done)
            .when(Condition.stringEquals(status, 'UPDATE_COMPLETE'), complete)
            .when(
              Condition.or(Condition.stringMatches(status, '*ROLLBACK*'), Condition.stringMatches(status, '*FAILED')),
              failure,
            )
            .otherwise(wait),
        );
      },
    };
  }

  /**
   * The candidate in the shadow before approval: move the challenger pointer, update the models stack (the shadow's
   * model changes, the champion's does not), let it bake on live traffic, compare, and continue to approval only on
   * a passing verdict. A rollback resets the challenger pointer; a failing verdict leaves the champion untouched.
   */
  private shadowStep(
    props: RetrainingWorkflowProps,
    shadow: ShadowStepProps,
    model: string,
    guard: <T extends TaskStateBase>(task: T, stage?: string, next?: State) => T,
    failed: (stage: string) => Pass,
    approval: State,
  ): State {
    const readChallenger = guard(
      this.readPointer('ReadChallenger', shadow.challengerParameterName, shadow.challengerParameterArn, '$.challenger'),
      'Shadow',
    );
    const moveChallenger = guard(
      this.putPointer(
        'MoveChallenger',
        shadow.challengerParameterName,
        shadow.challengerParameterArn,
        '$.evaluation.versionPrefix',
      ),
      'Shadow',
    );
    // The shadow keeps serving what it served: the pointer must say so again, or the next deploy would load the
    // candidate that failed to deploy.
    const resetChallenger = this.putPointer(
      'ResetChallenger',
      shadow.challengerParameterName,
      shadow.challengerParameterArn,
      '$.challenger.pointer',
    );
    resetChallenger.addRetry({ errors: ['States.ALL'], maxAttempts: 5, interval: Duration.seconds(5), backoffRate: 2 });
    guard(resetChallenger, 'Shadow');
    resetChallenger.next(failed('Shadow'));
    const update = this.modelsStackUpdate(props, {
      update: 'UpdateShadowStack',
      wait: 'WaitForShadowDeployment',
      describe: 'DescribeShadowStack',
      done: 'ShadowDeploymentDone?',
      rolledBack: 'ShadowDeploymentRolledBack',
      result: '$.shadowDeployment',
      kept: 'the shadow kept the previous challenger',
      onError: resetChallenger,
    });
    const bake = new Wait(this, 'BakeShadow', { time: WaitTime.duration(Duration.minutes(shadow.bakeMinutes)) });
    const compare = guard(
      new LambdaInvoke(this, 'CompareShadow', {
        lambdaFunction: LambdaFunction.fromFunctionArn(this, 'ShadowComparison', shadow.comparisonFunctionArn),
        payload: TaskInput.fromObject({ trigger: 'pipeline', windowMinutes: shadow.bakeMinutes }),
        payloadResponseOnly: true,
        resultSelector: {
          passed: JsonPath.stringAt('$.passed'),
          reasons: JsonPath.stringAt('$.reasons'),
          pairs: JsonPath.stringAt('$.pairs'),
          agreement: JsonPath.stringAt('$.agreement'),
          scorePsi: JsonPath.stringAt('$.scorePsi'),
        },
        resultPath: '$.shadow',
      }),
      'Shadow',
    );
    compare.addRetry({ errors: ['Lambda.ServiceException', 'Lambda.TooManyRequestsException'], maxAttempts: 3 });
    const rejected = new Pass(this, 'ShadowRejected', {
      parameters: {
        Error: 'ShadowDisagrees',
        Cause: JsonPath.format(
          `${model} {} in the shadow vs the champion: {}`,
          JsonPath.stringAt('$.version.name'),
          JsonPath.jsonToString(JsonPath.objectAt('$.shadow.reasons')),
        ),
      },
      resultPath: '$.failure',
    }).next(failed('Shadow'));
    readChallenger.next(moveChallenger).next(update.update);
    update.onOutcome(bake, resetChallenger);
    bake
      .next(compare)
      .next(
        new Choice(this, 'ShadowAgrees?')
          .when(Condition.booleanEquals('$.shadow.passed', true), approval)
          .otherwise(rejected),
      );
    return readChallenger;
  }

  private lambda(
    id: string,
    fn: ServiceFunction,
    payload: Record<string, unknown>,
    resultPath = '$.lock',
  ): LambdaInvoke {
    return new LambdaInvoke(this, id, {
      lambdaFunction: fn.function,
      payload: TaskInput.fromObject(payload),
      payloadResponseOnly: true,
      resultPath: id.startsWith('Release') ? JsonPath.DISCARD : resultPath,
    });
  }
}

/** The models stack's ARN with any id suffix (CloudFormation assigns it; the name is fixed). */
/**
 * The Athena task with its role's grants replaced by what the query needs: CDK's defaults grant S3 reads and
 * CreateBucket on `*` and Glue writes, and miss StopQueryExecution (`.sync` stops the query when the execution
 * stops: https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html) and the key of SSE_KMS results.
 */
export class ScopedAthenaQuery extends AthenaStartQueryExecution {
  constructor(scope: Construct, id: string, grants: PolicyStatement[], props: AthenaStartQueryExecutionProps) {
    super(scope, id, props);
    this.taskPolicies?.splice(0, this.taskPolicies.length, ...grants);
  }
}

/** What the dataset query does with the state machine's credentials: catalog, table objects, results, the key. */
function datasetQueryGrants(stack: Stack, props: RetrainingWorkflowProps): PolicyStatement[] {
  return athenaQueryGrants(stack, {
    workGroup: props.athena.workGroup,
    database: props.athena.database,
    ...props.athenaLocations,
    key: props.key,
  });
}

/** An Athena query of the lake as a state machine runs it: what it reads, where it writes, the key of both. */
export interface AthenaQueryScope {
  readonly workGroup: string;
  readonly database: string;
  readonly reads: ReadonlyArray<{ readonly bucket: IBucket; readonly prefix: string }>;
  readonly results: { readonly bucket: IBucket; readonly prefix: string };
  readonly key: IKey;
}

/** What a lake query does with the state machine's credentials: catalog, table objects, results, the key. */
export function athenaQueryGrants(stack: Stack, scope: AthenaQueryScope): PolicyStatement[] {
  const { reads, results, database } = scope;
  const buckets = [...new Set([...reads.map((r) => r.bucket), results.bucket])];
  return [
    new PolicyStatement({
      actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution'],
      resources: [stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: scope.workGroup })],
    }),
    new PolicyStatement({
      actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      resources: [
        stack.formatArn({ service: 'glue', resource: 'catalog' }),
        stack.formatArn({ service: 'glue', resource: 'database', resourceName: database }),
        stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${database}/*` }),
      ],
    }),
    new PolicyStatement({
      actions: ['s3:GetObject'],
      resources: reads.map(({ bucket, prefix }) => bucket.arnForObjects(`${prefix}/*`)),
    }),
    new PolicyStatement({
      actions: ['s3:ListBucket', 's3:GetBucketLocation'],
      resources: buckets.map((b) => b.bucketArn),
    }),
    new PolicyStatement({
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [results.bucket.arnForObjects(`${results.prefix}/*`)],
    }),
    new PolicyStatement({ actions: ['s3:ListBucketMultipartUploads'], resources: [results.bucket.bucketArn] }),
    // The tables and the SSE_KMS results are under the data key; results are uploaded in parts (Decrypt too).
    new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [scope.key.keyArn] }),
  ];
}

/** Why the lake query's wildcard grants are narrow enough (cdk-nag IAM5 acknowledgements), for the `what` query. */
export function athenaQueryAcknowledgements(
  stack: Stack,
  scope: Pick<AthenaQueryScope, 'database' | 'reads' | 'results'>,
  what: string,
): Record<string, string> {
  return {
    [`Resource::${stack.resolve(stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${scope.database}/*` }))}`]:
      'Granted by the Athena task: tables of the one lake database the query reads.',
    ...Object.fromEntries(
      scope.reads.map(({ bucket, prefix }) => [
        `Resource::${nagBucketArn(bucket)}/${prefix}/*`,
        `The ${what} query reads the objects of one table location (partitioned by date).`,
      ]),
    ),
    [`Resource::${nagBucketArn(scope.results.bucket)}/${scope.results.prefix}/*`]:
      'Athena names result objects by query id; the workgroup writes under this one prefix.',
  };
}

/** The training task with sagemaker:ListTags scoped to this account's training jobs (CDK grants it on `*`). */
class ScopedTrainingJob extends SageMakerCreateTrainingJob {
  constructor(scope: Construct, id: string, props: SageMakerCreateTrainingJobProps) {
    super(scope, id, props);
    const policies = this.taskPolicies ?? [];
    const at = policies.findIndex((p) => p.actions.includes('sagemaker:ListTags') && p.resources.includes('*'));
    if (at < 0) throw new Error('expected the training task to grant sagemaker:ListTags on *: re-check the scoping');
    policies[at] = new PolicyStatement({
      actions: ['sagemaker:ListTags'],
      resources: [Stack.of(this).formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: '*' })],
    });
  }
}

/**
 * A training channel at a path of the state. S3Location.fromJsonExpression also grants the training role
 * s3:GetObject and s3:ListBucket on `*`; the role already reads its training set's prefix.
 */
class StatePathS3Location extends S3Location {
  constructor(private readonly path: string) {
    super();
  }

  public bind(): S3LocationConfig {
    return { uri: JsonPath.stringAt(this.path) };
  }
}

function modelsStackArn(stack: Stack, stackName: string): string {
  return stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${stackName}/*` });
}

function packageArnPattern(stack: Stack, group: string): string {
  return stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${group}/*` });
}
