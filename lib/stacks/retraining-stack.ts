// Retraining: per model the registry (package group + champion pointer), the state machine and its triggers
// (drift events, a schedule); the task functions (the lock shared, the S3 tasks per model, built with its module), the
// lock table, and the Glue/Athena view of the lake.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  ArnFormat,
  AssetHashType,
  BundlingOutput,
  type DefaultStackSynthesizer,
  DockerImage,
  Duration,
  Fn,
  type RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { FactName } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import { writeTarGz } from '../../lambdas/retraining/tar.js';
import { ENTITY_LABELS_PREFIX, PREDICTIONS_PREFIX } from '../../lambdas/shared/contracts/api.js';
import { DETAIL_TYPES } from '../../lambdas/shared/contracts/events.js';
import { ENTITY_LABELS_TABLE, PREDICTIONS_TABLE } from '../../models/shared/contracts/entity-label.js';
import { trainingCodeHash, trainingSources } from '../../models/shared/training.js';
import { TRITON_CONFIG_TEMPLATE } from '../../models/shared/triton/package.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import { type ModelDeclaration, modelEndpointName, modelModulePath, moduleOf } from '../config/models.js';
import type { BatchLake } from '../constructs/batch-inference.js';
import { deadLetterQueue } from '../constructs/dead-letter-queue.js';
import type { ModelResourceTag } from '../constructs/model-metadata.js';
import { dataQualityScheduleName } from '../constructs/model-monitor.js';
import {
  acknowledgeWildcards,
  challengerParameterName,
  championParameterName,
  ModelRegistry,
  nagBucketArn,
} from '../constructs/model-registry.js';
import { type RetrainingFunctions, RetrainingWorkflow } from '../constructs/retraining-workflow.js';
import { PROJECT_ROOT, ServiceFunction } from '../constructs/service-function.js';
import { BUCKET_LAYOUT } from './data-stack.js';
import { shadowComparisonFunctionName, TRITON_IMAGE_TAG } from './models-stack.js';

/** The SageMaker PyTorch training image (script mode), the same torch major as the local Debian build. */
export const PYTORCH_TRAINING_IMAGE = 'pytorch-training:1.13.1-gpu-py39';
/** Days after a decision before a missing fraud label counts as a legitimate transaction. */
export const LABEL_MATURITY_DAYS = 7;

export interface RetrainingData {
  readonly key: IKey;
  readonly lakeBucket: IBucket;
  readonly artifactsBucket: IBucket;
  readonly monitoringBucket: IBucket;
  readonly bus: IEventBus;
}

export interface RetrainingStackProps extends StackProps {
  readonly stageName: string;
  readonly data: RetrainingData;
  readonly models: readonly ModelDeclaration[];
  readonly settings: EnvironmentConfig['lifecycle'];
  /** The stack the deploy step updates; read for its name and parameter keys only (no CloudFormation reference). */
  readonly modelsStack: { readonly stackName: string; readonly parameterKeys: readonly string[] };
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly memorySize: number;
}

export class RetrainingStack extends Stack {
  public readonly registries: Readonly<Record<string, ModelRegistry>>;
  public readonly workflows: Readonly<Record<string, RetrainingWorkflow>>;
  /** One item per model: the run lock, last start (drift debounce) and the parked approval token. */
  public readonly lockTable: Table;
  /** The task functions of each model's workflow, by model name (the lock task is one for all). */
  public readonly functions: Readonly<Record<string, RetrainingFunctions>>;
  public readonly database: CfnDatabase;
  public readonly workGroup: CfnWorkGroup;
  public readonly deadLetterQueue: Queue;
  /** The lake as Athena queries it (workgroup, database, table locations, results): what batch runs query too. */
  public readonly lake: BatchLake;

  constructor(scope: Construct, id: string, props: RetrainingStackProps) {
    super(scope, id, props);
    const { data, settings } = props;
    const stage = props.stageName.toLowerCase();

    this.lockTable = new Table(this, 'LockTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: data.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy,
    });
    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue', {
      removalPolicy: props.removalPolicy,
      key: data.key,
      acknowledgement:
        'This queue is the dead-letter queue of the retraining triggers; nag recognises only RedrivePolicy DLQs.',
    });

    const lockEnvironment = {
      LOCK_TABLE_NAME: this.lockTable.tableName,
      LEASE_HOURS: String(8 * 24 + 1),
      DRIFT_DEBOUNCE_HOURS: String(settings.retraining.driftDebounceHours),
    };
    const fn = (
      fnId: string,
      handler: string,
      description: string,
      memorySize: number,
      timeout: Duration,
      model?: { readonly module: string; readonly tag: ModelResourceTag },
    ) =>
      new ServiceFunction(this, fnId, {
        // The lock task and the S3 tasks are separate bundles, so neither carries the other's AWS calls.
        entry:
          handler === 'coordinateHandler'
            ? 'lambdas/retraining/handler.ts'
            : 'lambdas/retraining/object-tasks-handler.ts',
        handler,
        serviceName: 'retraining',
        metricsNamespace: 'AIMS/Retraining',
        description,
        logRetention: props.logRetention,
        logRemovalPolicy: props.removalPolicy,
        memorySize,
        timeout,
        environment: handler === 'coordinateHandler' ? lockEnvironment : {},
        ...(model === undefined ? {} : { modelModule: model.module, modelTag: model.tag }),
      });
    // One lock task for every model (its items are keyed by model); the S3 tasks run a model's own code (its request
    // schema, baseline and gate), so each model has its own bundle of them.
    const coordinate = fn(
      'Coordinate',
      'coordinateHandler',
      'Retraining lock, drift debounce, approval token',
      props.memorySize,
      Duration.seconds(10),
    );
    coordinate.allowTable(this.lockTable, ['GetItem', 'UpdateItem']);
    const resultsPrefix = 'athena-results';
    const lake = nagBucketArn(data.lakeBucket);
    const artifacts = nagBucketArn(data.artifactsBucket);
    const objectTasks = (declaration: ModelDeclaration) => {
      const name = declaration.manifest.name;
      const modelModule = modelModulePath(declaration, PROJECT_ROOT);
      const prepareDataset = fn(
        `${name}-PrepareDataset`,
        'prepareDatasetHandler',
        `Athena result → train/validation/test.csv (${name})`,
        3008,
        Duration.minutes(10),
        { module: modelModule, tag: { model: name, role: 'prepare-dataset' } },
      );
      const evaluate = fn(
        `${name}-Evaluate`,
        'evaluateHandler',
        `Challenger vs champion, quality gate, Triton package (${name})`,
        2048,
        Duration.minutes(5),
        { module: modelModule, tag: { model: name, role: 'evaluate' } },
      );
      prepareDataset.allow(
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [data.lakeBucket.arnForObjects(`${resultsPrefix}/*`)],
        }),
      );
      prepareDataset.allow(
        new PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [data.lakeBucket.arnForObjects('training-sets/*')],
        }),
      );
      evaluate.allow(
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [
            data.artifactsBucket.arnForObjects('training/*'),
            data.lakeBucket.arnForObjects('training-sets/*'),
          ],
        }),
      );
      evaluate.allow(
        new PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [data.artifactsBucket.arnForObjects('models/*/versions/*')],
        }),
      );
      for (const f of [prepareDataset, evaluate]) {
        f.allow(new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [data.key.keyArn] }));
      }
      acknowledgeWildcards(prepareDataset.role.node.findChild('DefaultPolicy'), {
        [`Resource::${lake}/${resultsPrefix}/*`]:
          'Athena names result objects by query id; read-only, results prefix only.',
        [`Resource::${lake}/training-sets/*`]:
          'Each execution writes its own training set under the training-sets prefix.',
      });
      acknowledgeWildcards(evaluate.role.node.findChild('DefaultPolicy'), {
        [`Resource::${lake}/training-sets/*`]:
          'Reads the holdout of the execution being evaluated; training-sets prefix only.',
        [`Resource::${artifacts}/training/*`]: 'Reads the output of the generated training job; training prefix only.',
        [`Resource::${artifacts}/models/*/versions/*`]:
          'Writes the files of the version it packages; model versions prefix only.',
      });
      return { coordinate, prepareDataset, evaluate };
    };

    // ---- the lake as Athena sees it: decisions (Firehose JSON lines), ground truth (Model Monitor jsonlines), the
    // models' entity labels and batch models' predictions
    this.database = new CfnDatabase(this, 'Lake', {
      catalogId: this.account,
      databaseInput: { name: `aims_${stage}_lake`, description: 'AIMS lake: decisions and ground truth' },
    });
    /** A JSON-lines table of the lake with partition projection: the columns Athena reads, the partitions from keys. */
    const lakeTable = (
      tableId: string,
      name: string,
      location: string,
      table: {
        readonly partitions: readonly string[];
        /** projection.<partition>.* parameters. */
        readonly projection: Readonly<Record<string, string>>;
        /** The key template below `location`, e.g. `dt=${dt}/`. */
        readonly template: string;
        readonly columns: readonly { readonly name: string; readonly type: string }[];
        /** OpenX JSON SerDe parameters. @default - none */
        readonly serde?: Readonly<Record<string, string>>;
      },
    ) => {
      const cfn = new CfnTable(this, tableId, {
        catalogId: this.account,
        databaseName: `aims_${stage}_lake`,
        tableInput: {
          name,
          tableType: 'EXTERNAL_TABLE',
          parameters: {
            classification: 'json',
            'projection.enabled': 'true',
            ...table.projection,
            'storage.location.template': `${location}${table.template}`,
          },
          partitionKeys: table.partitions.map((p) => ({ name: p, type: 'string' })),
          storageDescriptor: {
            inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
            serdeInfo: {
              serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
              ...(table.serde ? { parameters: table.serde } : {}),
            },
            location,
            columns: [...table.columns],
          },
        },
      });
      cfn.node.addDependency(this.database);
      return cfn;
    };
    const days = (partition: string, range = 'NOW-3YEARS,NOW') => ({
      [`projection.${partition}.type`]: 'date',
      [`projection.${partition}.format`]: 'yyyy-MM-dd',
      [`projection.${partition}.range`]: range,
    });
    const lakeLocation = (prefix: string) => `s3://${data.lakeBucket.bucketName}/${prefix.replace(/\/$/, '')}/`;
    const decisions = lakeTable('DecisionsTable', 'decisions', lakeLocation(BUCKET_LAYOUT.decisionLog), {
      partitions: ['dt'],
      projection: days('dt'),
      template: `dt=\${dt}/`,
      columns: [
        { name: 'transactionid', type: 'string' },
        { name: 'customerid', type: 'string' },
        // The transaction object as JSON text: the dataset step recomputes the rules score from it.
        { name: 'transaction', type: 'string' },
        { name: 'decision', type: 'string' },
        { name: 'score', type: 'double' },
        { name: 'degraded', type: 'boolean' },
        { name: 'model', type: 'struct<name:string,version:string>' },
        { name: 'features', type: 'map<string,double>' },
        { name: 'decidedat', type: 'string' },
      ],
    });
    const truthLocation = `s3://${data.monitoringBucket.bucketName}/${BUCKET_LAYOUT.groundTruth}/`;
    const groundTruth = lakeTable('GroundTruthTable', 'ground_truth', truthLocation, {
      partitions: ['hour'],
      projection: {
        'projection.hour.type': 'date',
        'projection.hour.format': 'yyyy/MM/dd/HH',
        'projection.hour.interval': '1',
        'projection.hour.interval.unit': 'HOURS',
        'projection.hour.range': 'NOW-3YEARS,NOW',
      },
      template: `\${hour}/`,
      columns: [
        { name: 'groundtruthdata', type: 'struct<data:string,encoding:string>' },
        { name: 'eventmetadata', type: 'struct<eventid:string>' },
        { name: 'eventversion', type: 'string' },
      ],
    });
    // Entity-level labels (POST /v1/models/<name>/labels), one JSON object per report, by model and the day it is
    // about. A query names its model (`WHERE model = '…'`, projection type injected): Athena reads only its objects.
    const entityLabels = lakeTable('EntityLabelsTable', ENTITY_LABELS_TABLE, lakeLocation(ENTITY_LABELS_PREFIX), {
      partitions: ['model', 'dt'],
      projection: { 'projection.model.type': 'injected', ...days('dt', 'NOW-3YEARS,NOW+1DAYS') },
      template: `model=\${model}/dt=\${dt}/`,
      columns: [
        { name: 'entityid', type: 'string' },
        { name: 'day', type: 'string' },
        { name: 'outcome', type: 'boolean' },
        { name: 'reportedat', type: 'string' },
        { name: 'source', type: 'string' },
        { name: 'receivedat', type: 'string' },
      ],
    });
    // Batch models' nightly predictions (one folder per model and day): what a champion served for each request of the
    // day, joined to the holdout so a challenger is compared with the champion on the same rows. Each folder's
    // summary.json is one pretty-printed object, not a line of rows: the SerDe skips it.
    const predictions = lakeTable('PredictionsTable', PREDICTIONS_TABLE, lakeLocation(PREDICTIONS_PREFIX), {
      partitions: ['model', 'dt'],
      projection: { 'projection.model.type': 'injected', ...days('dt') },
      template: `\${model}/date=\${dt}/`,
      columns: [
        { name: 'id', type: 'string' },
        { name: 'score', type: 'double' },
        { name: 'outcome', type: 'string' },
      ],
      serde: { 'ignore.malformed.json': 'true' },
    });
    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: `aims-${stage}-retraining`,
      description: 'Training-set queries of the retraining state machines',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: 50 * 1024 ** 3,
        resultConfiguration: {
          outputLocation: `s3://${data.lakeBucket.bucketName}/${resultsPrefix}/`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: data.key.keyArn },
        },
      },
    });

    this.lake = {
      workGroup: this.workGroup,
      database: `aims_${stage}_lake`,
      reads: [
        { bucket: data.lakeBucket, prefix: BUCKET_LAYOUT.decisionLog },
        { bucket: data.monitoringBucket, prefix: BUCKET_LAYOUT.groundTruth },
        { bucket: data.lakeBucket, prefix: ENTITY_LABELS_PREFIX },
        { bucket: data.lakeBucket, prefix: PREDICTIONS_PREFIX.replace(/\/$/, '') },
      ],
      results: { bucket: data.lakeBucket, prefix: resultsPrefix },
    };

    // ---- images and code
    const dlcAccount = this.regionalFact(FactName.DLC_REPOSITORY_ACCOUNT);
    const ecr = `${dlcAccount}.dkr.ecr.${this.region}.${this.urlSuffix}`;
    const trainingRepository = PYTORCH_TRAINING_IMAGE.split(':')[0] as string;

    const registries: Record<string, ModelRegistry> = {};
    const workflows: Record<string, RetrainingWorkflow> = {};
    const functions: Record<string, RetrainingFunctions> = {};
    // The bootstrap's execution role (what `cdk deploy` uses): the synthesizer's ARN carries ${AWS::…} placeholders.
    const cfnRole = Fn.sub((this.synthesizer as DefaultStackSynthesizer).cloudFormationExecutionRoleArn);
    for (const declaration of props.models) {
      const { manifest, dir } = declaration;
      const name = manifest.name;
      const registry = new ModelRegistry(this, `${name}-Registry`, {
        modelName: name,
        stageName: props.stageName,
        description: manifest.description,
        challenger: settings.shadow !== false,
      });
      registries[name] = registry;
      const code = trainingCodeAsset(this, `${name}-TrainingCode`, dir);
      functions[name] = objectTasks(declaration);
      const workflow = new RetrainingWorkflow(this, `${name}-Workflow`, {
        manifest,
        tritonTemplate: readFileSync(TRITON_CONFIG_TEMPLATE, 'utf8'),
        servingInstanceType: manifest.serving.instanceType[settings.profile],
        tritonImageUri: `${ecr}/sagemaker-tritonserver:${TRITON_IMAGE_TAG}`,
        trainingImageUri: `${ecr}/${PYTORCH_TRAINING_IMAGE}`,
        trainingImageRepositoryArn: `arn:${this.partition}:ecr:${this.region}:${dlcAccount}:repository/${trainingRepository}`,
        trainingCodeUri: code.asset.s3ObjectUrl,
        trainingCodeHash: code.hash,
        trainingCodeArn: code.asset.bucket.arnForObjects(code.asset.s3ObjectKey),
        packageGroupName: registry.packageGroupName,
        packageGroupArn: registry.packageGroupArn,
        // Literals, not the parameter's tokens: the ASL stays readable and the local stage needs no resolution.
        championParameterName: championParameterName(props.stageName, name),
        championParameterArn: ModelRegistry.parameterArn(this, championParameterName(props.stageName, name)),
        modelsStack: { stackName: props.modelsStack.stackName, parameterKeys: () => props.modelsStack.parameterKeys },
        cloudFormationRoleArn: cfnRole,
        dataQualityScheduleName: dataQualityScheduleName(modelEndpointName(props.stageName, name)),
        athena: {
          workGroup: this.workGroup.name,
          database: `aims_${stage}_lake`,
          query: trainingSetQuery(declaration, settings.retraining.lookbackDays),
        },
        lakeBucket: data.lakeBucket,
        artifactsBucket: data.artifactsBucket,
        key: data.key,
        athenaLocations: { reads: this.lake.reads, results: this.lake.results },
        bus: data.bus,
        functions: functions[name],
        approval: settings.approval,
        ...(settings.approvalTimeoutSeconds === undefined
          ? {}
          : { approvalTimeout: Duration.seconds(settings.approvalTimeoutSeconds) }),
        maxTrainingHours: settings.retraining.maxTrainingHours,
        logRetention: props.logRetention,
        removalPolicy: props.removalPolicy,
        ...(settings.shadow
          ? {
              shadow: {
                challengerParameterName: challengerParameterName(props.stageName, name),
                challengerParameterArn: ModelRegistry.parameterArn(
                  this,
                  challengerParameterName(props.stageName, name),
                ),
                comparisonFunctionArn: this.formatArn({
                  service: 'lambda',
                  resource: 'function',
                  resourceName: shadowComparisonFunctionName(props.stageName, name),
                  arnFormat: ArnFormat.COLON_RESOURCE_NAME,
                }),
                bakeMinutes: settings.shadow.bakeMinutes,
              },
            }
          : {}),
      });
      workflow.node.addDependency(this.workGroup, decisions, groundTruth, entityLabels, predictions);
      workflows[name] = workflow;

      const target = (trigger: string) =>
        new SfnStateMachine(workflow.stateMachine, {
          input: RuleTargetInput.fromObject({ trigger }),
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 4,
        });
      new Rule(this, `${name}-DriftTrigger`, {
        description: `Starts retraining of ${name} on drift (debounced by the lock step)`,
        eventBus: data.bus,
        eventPattern: { detailType: [DETAIL_TYPES.ModelDriftDetected], detail: { data: { model: [name] } } },
        targets: [target('drift')],
      });
      new Rule(this, `${name}-ScheduleTrigger`, {
        description: `Routine retraining of ${name}`,
        schedule: Schedule.expression(settings.retraining.schedule),
        targets: [target('schedule')],
      });
    }
    this.registries = registries;
    this.workflows = workflows;
    this.functions = functions;
  }
}

/**
 * A model's training-set query: its module's own lake query when its features are rebuilt from requests (a batch
 * model's merchant-days, say), else the decision log's logged features (`datasetQuery`).
 */
export function trainingSetQuery(declaration: ModelDeclaration, lookbackDays: number): string {
  const { manifest } = declaration;
  const lakeQuery = moduleOf(declaration).training.lakeQuery;
  return lakeQuery
    ? lakeQuery({ lookbackDays, maturityDays: LABEL_MATURITY_DAYS })
    : datasetQuery(manifest.features, manifest.label, lookbackDays);
}

/**
 * The training set: decisions of the lookback window old enough for labels to have arrived, with the newest label
 * per transaction (no label = legitimate), the features the model was served, and the champion's served score.
 * The decision log is written at least once (the outbox relays a decision again after a retry), so a transaction
 * may have several identical lines, possibly in neighbouring `dt` partitions: one row per transactionId is kept.
 */
export function datasetQuery(features: readonly string[], label: string, lookbackDays: number): string {
  const columns = features.map((f) => `d.features['${f}'] AS ${f}`).join(', ');
  return [
    'WITH labels AS (',
    '  SELECT eventmetadata.eventid AS transaction_id, max_by(groundtruthdata.data, "hour") AS label FROM ground_truth',
    `  WHERE "hour" >= date_format(current_timestamp - interval '${lookbackDays}' day, '%Y/%m/%d/%H') GROUP BY 1`,
    '), decided AS (',
    '  SELECT *, row_number() OVER (PARTITION BY transactionid ORDER BY dt) AS copy FROM decisions',
    `  WHERE dt >= date_format(current_date - interval '${lookbackDays}' day, '%Y-%m-%d')`,
    `    AND dt <= date_format(current_date - interval '${LABEL_MATURITY_DAYS}' day, '%Y-%m-%d')`,
    ')',
    `SELECT d.transactionid AS transaction_id, ${columns}, CAST(coalesce(l.label, '0') AS integer) AS ${label},`,
    '  d.decidedat AS event_time, CASE WHEN d.degraded THEN NULL ELSE d.score END AS champion_score,',
    '  d.transaction AS transaction_json',
    'FROM decided d LEFT JOIN labels l ON l.transaction_id = d.transactionid',
    'WHERE d.copy = 1',
  ].join('\n');
}

/** train.py and the shared trainer it imports, packed as the script-mode source tarball (sagemaker_submit_directory). */
function trainingCodeAsset(scope: Construct, id: string, modelDir: string): { asset: Asset; hash: string } {
  const sources = trainingSources(modelDir);
  const hash = trainingCodeHash(sources);
  const asset = new Asset(scope, id, {
    path: modelDir,
    assetHash: hash,
    assetHashType: AssetHashType.CUSTOM,
    bundling: {
      image: DockerImage.fromRegistry('scratch'),
      outputType: BundlingOutput.SINGLE_FILE,
      local: {
        tryBundle(outputDir: string) {
          mkdirSync(outputDir, { recursive: true });
          writeFileSync(path.join(outputDir, 'sourcedir.tar.gz'), writeTarGz(sources));
          return true;
        },
      },
    },
  });
  return { asset, hash };
}
