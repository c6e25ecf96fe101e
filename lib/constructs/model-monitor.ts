// Model Monitor for one endpoint: data-quality (hourly, against the training baseline) and model-quality (fed by
// ground truth joined on the inference id) schedules, drift alarms, and alarm state → ModelDriftDetected on the bus.
import * as path from 'node:path';
import { ArnFormat, CfnMapping, Duration, Fn, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import {
  CfnDataQualityJobDefinition,
  type CfnEndpoint,
  CfnModelQualityJobDefinition,
  CfnMonitoringSchedule,
} from 'aws-cdk-lib/aws-sagemaker';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeWildcards, nagBucketArn } from './model-registry.js';
import { PROJECT_ROOT, ServiceFunction } from './service-function.js';

/** Accounts of the `sagemaker-model-monitor-analyzer` image per region (SageMaker Python SDK image_uris). */
export const MODEL_MONITOR_ACCOUNTS: Readonly<Record<string, string>> = {
  'us-east-1': '156813124566',
  'us-east-2': '777275614652',
  'us-west-1': '890145073186',
  'us-west-2': '159807026194',
  'ca-central-1': '536280801234',
  'sa-east-1': '539772159869',
  'eu-west-1': '468650794304',
  'eu-west-2': '749857270468',
  'eu-west-3': '680080141114',
  'eu-central-1': '048819808253',
  'eu-north-1': '895015795356',
  'ap-south-1': '126357580389',
  'ap-east-1': '001633400207',
  'ap-northeast-1': '574779866223',
  'ap-northeast-2': '709848358524',
  'ap-southeast-1': '245545462676',
  'ap-southeast-2': '563025443158',
  'me-south-1': '607024016150',
};

/**
 * SageMaker's limits on a monitoring container's Environment (API reference, DataQualityAppSpecification.Environment:
 * at most 50 entries, values at most 256 characters; the CloudFormation registry schema carries the 256 too).
 */
export const MONITOR_ENVIRONMENT_LIMITS = { entries: 50, valueLength: 256 } as const;
/** Prefix of the variables that carry the feature names, in order: FEATURE_NAMES_0, FEATURE_NAMES_1, … */
export const FEATURE_NAMES_PREFIX = 'FEATURE_NAMES_';

/**
 * The feature names as numbered comma-separated variables, each within the value limit, never splitting a name; the
 * record preprocessor joins them back in index order. One list (the manifest's) stays the only source of truth.
 */
export function featureNamesEnvironment(features: readonly string[]): Record<string, string> {
  const chunks: string[] = [];
  let current = '';
  for (const name of features) {
    if (name.length === 0 || name.includes(',')) {
      throw new Error(`features: expected non-empty names without commas, got '${name}'`);
    }
    if (name.length > MONITOR_ENVIRONMENT_LIMITS.valueLength) {
      throw new Error(
        `features: '${name.slice(0, 32)}…' is ${name.length} characters; a monitoring environment value holds at most ${MONITOR_ENVIRONMENT_LIMITS.valueLength}`,
      );
    }
    const joined = current === '' ? name : `${current},${name}`;
    if (joined.length <= MONITOR_ENVIRONMENT_LIMITS.valueLength) {
      current = joined;
    } else {
      chunks.push(current);
      current = name;
    }
  }
  if (current !== '') chunks.push(current);
  if (chunks.length > MONITOR_ENVIRONMENT_LIMITS.entries) {
    throw new Error(
      `features: ${features.length} names need ${chunks.length} environment variables; a monitoring job takes at most ${MONITOR_ENVIRONMENT_LIMITS.entries}`,
    );
  }
  return Object.fromEntries(chunks.map((chunk, i) => [`${FEATURE_NAMES_PREFIX}${i}`, chunk]));
}

/**
 * The data-quality schedule's name. MonitoringScheduleName is required and its only create-only property, so the name
 * is fixed and the retraining workflow finds the current job definition through the schedule.
 */
export const dataQualityScheduleName = (endpointName: string) => `${endpointName}-data-quality`;

/**
 * A job definition's name from its Ref (the ARN `…:data-quality-job-definition/<name>`): the type has no name
 * attribute, and CloudFormation generates the name when the template sets none.
 */
const jobDefinitionName = (arn: string) => Fn.select(1, Fn.split('/', arn));

const SCHEDULES = { hourly: 'cron(0 * ? * * *)', daily: 'cron(0 0 ? * * *)' } as const;
/** Model quality needs labels, which arrive days later: it runs once a day whatever the data-quality cadence. */
const MODEL_QUALITY_SCHEDULE = 'cron(0 6 ? * * *)';

export interface ModelMonitorProps {
  readonly modelName: string;
  readonly endpoint: CfnEndpoint;
  readonly endpointName: string;
  /** Feature names in model-input order (the record preprocessor names the v2 tensor's columns with them). */
  readonly features: readonly string[];
  readonly schedule: keyof typeof SCHEDULES;
  /** Baseline S3 URIs (may be CloudFormation expressions over the champion pointer). */
  readonly baseline: { readonly statisticsUri: string; readonly constraintsUri: string };
  /** Object ARNs (patterns) the jobs may read the baseline from. */
  readonly baselineArns: readonly string[];
  readonly captureBucket: IBucket;
  /** `s3://<capture bucket>/<model>` as the endpoint writes it. */
  readonly captureUri: string;
  readonly monitoringBucket: IBucket;
  /** Key prefix of the ground truth in the monitoring bucket. */
  readonly groundTruthPrefix: string;
  /** The data key: buckets, reports and job volumes. */
  readonly key: IKey;
  /** Model Monitor's distance (not PSI) above which a feature alarm fires. Features: the ones to alarm on. */
  readonly driftAlarms: { readonly distanceThreshold: number; readonly features: readonly string[] };
  readonly bus: IEventBus;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Dead-letter queue of the alarm → bus rule target. */
  readonly deadLetterQueue: IQueue;
  /** Further IAM5 findings of the jobs' policy to acknowledge (finding → reason). @default - none */
  readonly wildcardAcknowledgements?: Readonly<Record<string, string>>;
  /** @default 'ml.m5.xlarge' */
  readonly instanceType?: string;
}

export class ModelMonitor extends Construct {
  public readonly role: Role;
  public readonly dataQualityJobDefinition: CfnDataQualityJobDefinition;
  public readonly modelQualityJobDefinition: CfnModelQualityJobDefinition;
  public readonly dataQualitySchedule: CfnMonitoringSchedule;
  public readonly modelQualitySchedule: CfnMonitoringSchedule;
  public readonly driftAlarms: readonly Alarm[];
  /** Republishes drift alarms as ModelDriftDetected. */
  public readonly alarmRelay: ServiceFunction;

  constructor(scope: Construct, id: string, props: ModelMonitorProps) {
    super(scope, id);
    const stack = Stack.of(this);
    for (const feature of props.driftAlarms.features) {
      if (!props.features.includes(feature)) {
        throw new Error(`driftAlarms.features: '${feature}' is not one of the model's features`);
      }
    }
    const accounts = new CfnMapping(this, 'AnalyzerAccounts', {
      mapping: Object.fromEntries(Object.entries(MODEL_MONITOR_ACCOUNTS).map(([r, a]) => [r, { account: a }])),
      lazy: true,
    });
    const analyzerAccount = accounts.findInMap(stack.region, 'account');
    const imageUri = `${analyzerAccount}.dkr.ecr.${stack.region}.${stack.urlSuffix}/sagemaker-model-monitor-analyzer`;
    const preprocessor = new Asset(this, 'RecordPreprocessor', {
      path: path.join(PROJECT_ROOT, 'lambdas/drift/monitor/record_preprocessor.py'),
    });

    const reportsPrefix = `monitoring/${props.modelName}`;
    const processingLogs = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: '/aws/sagemaker/ProcessingJobs:*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Model Monitor jobs of ${props.endpointName}`,
    });
    const policy = new Policy(this, 'Policy', {
      roles: [this.role],
      statements: [
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [
            props.captureBucket.arnForObjects(`${props.modelName}/*`),
            props.monitoringBucket.arnForObjects(`${props.groundTruthPrefix}/*`),
            preprocessor.bucket.arnForObjects(preprocessor.s3ObjectKey),
            ...props.baselineArns,
          ],
        }),
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [props.captureBucket.bucketArn, props.monitoringBucket.bucketArn],
        }),
        new PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [props.monitoringBucket.arnForObjects(`${reportsPrefix}/*`)],
        }),
        new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.key.keyArn] }),
        new PolicyStatement({
          actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
          resources: [
            `arn:${stack.partition}:ecr:${stack.region}:${analyzerAccount}:repository/sagemaker-model-monitor-analyzer`,
          ],
        }),
        // GetAuthorizationToken and PutMetricData have no resource-level permissions.
        new PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
        new PolicyStatement({
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringLike: { 'cloudwatch:namespace': 'aws/sagemaker/Endpoints/*' } },
        }),
        new PolicyStatement({
          actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [processingLogs],
        }),
      ],
    });

    acknowledgeWildcards(policy, {
      'Resource::*':
        'ecr:GetAuthorizationToken and cloudwatch:PutMetricData (namespace-conditioned) have no resource-level permissions.',
      [`Resource::${nagBucketArn(props.captureBucket)}/${props.modelName}/*`]:
        "The jobs read the hours of capture SageMaker selects, inside this model's capture prefix only.",
      [`Resource::${nagBucketArn(props.monitoringBucket)}/${props.groundTruthPrefix}/*`]:
        'Model quality merges the ground truth of the hours it analyses; read-only, inside the ground-truth prefix.',
      [`Resource::${nagBucketArn(props.monitoringBucket)}/${reportsPrefix}/*`]:
        "SageMaker names each execution's report objects; writes stay inside this model's reports prefix.",
      [`Resource::${stack.resolve(processingLogs)}`]: 'Monitoring executions are processing jobs with generated names.',
      ...(props.wildcardAcknowledgements ?? {}),
    });

    const resources = {
      clusterConfig: {
        instanceCount: 1,
        instanceType: props.instanceType ?? 'ml.m5.xlarge',
        volumeSizeInGb: 20,
        volumeKmsKeyId: props.key.keyArn,
      },
    };
    const output = (kind: string) => ({
      kmsKeyId: props.key.keyArn,
      monitoringOutputs: [
        {
          s3Output: {
            localPath: '/opt/ml/processing/output',
            s3Uri: `s3://${props.monitoringBucket.bucketName}/${reportsPrefix}/${kind}`,
            s3UploadMode: 'EndOfJob',
          },
        },
      ],
    });
    const endpointInput = {
      endpointName: props.endpointName,
      localPath: '/opt/ml/processing/input/endpoint',
      s3InputMode: 'File',
      s3DataDistributionType: 'FullyReplicated',
    };
    const stoppingCondition = { maxRuntimeInSeconds: 3600 };
    const networkConfig = { enableInterContainerTrafficEncryption: true };

    // No JobDefinitionName: every property of a job definition is create-only and the baseline follows the champion
    // pointer, so each promotion replaces it, which CloudFormation refuses for a custom-named resource.
    this.dataQualityJobDefinition = new CfnDataQualityJobDefinition(this, 'DataQuality', {
      dataQualityAppSpecification: {
        imageUri,
        recordPreprocessorSourceUri: preprocessor.s3ObjectUrl,
        environment: featureNamesEnvironment(props.features),
      },
      dataQualityBaselineConfig: {
        constraintsResource: { s3Uri: props.baseline.constraintsUri },
        statisticsResource: { s3Uri: props.baseline.statisticsUri },
      },
      dataQualityJobInput: { endpointInput },
      dataQualityJobOutputConfig: output('data-quality'),
      jobResources: resources,
      networkConfig,
      roleArn: this.role.roleArn,
      stoppingCondition,
      endpointName: props.endpointName,
    });
    this.modelQualityJobDefinition = new CfnModelQualityJobDefinition(this, 'ModelQuality', {
      modelQualityAppSpecification: { imageUri, problemType: 'BinaryClassification' },
      modelQualityJobInput: {
        endpointInput: {
          ...endpointInput,
          // JMESPath into the v2 JSON response; the score is a fraud probability.
          probabilityAttribute: 'outputs[0].data[0]',
          probabilityThresholdAttribute: 0.5,
        },
        groundTruthS3Input: { s3Uri: `s3://${props.monitoringBucket.bucketName}/${props.groundTruthPrefix}` },
      },
      modelQualityJobOutputConfig: output('model-quality'),
      jobResources: resources,
      networkConfig,
      roleArn: this.role.roleArn,
      stoppingCondition,
      endpointName: props.endpointName,
    });
    for (const definition of [this.dataQualityJobDefinition, this.modelQualityJobDefinition]) {
      definition.node.addDependency(policy);
      // The endpoint name is a literal, so CloudFormation sees no reference: order it explicitly.
      definition.node.addDependency(props.endpoint);
    }

    this.dataQualitySchedule = new CfnMonitoringSchedule(this, 'DataQualitySchedule', {
      monitoringScheduleName: dataQualityScheduleName(props.endpointName),
      endpointName: props.endpointName,
      monitoringScheduleConfig: {
        monitoringJobDefinitionName: jobDefinitionName(this.dataQualityJobDefinition.ref),
        monitoringType: 'DataQuality',
        scheduleConfig: { scheduleExpression: SCHEDULES[props.schedule] },
      },
    });
    this.modelQualitySchedule = new CfnMonitoringSchedule(this, 'ModelQualitySchedule', {
      monitoringScheduleName: `${props.endpointName}-model-quality`,
      endpointName: props.endpointName,
      monitoringScheduleConfig: {
        monitoringJobDefinitionName: jobDefinitionName(this.modelQualityJobDefinition.ref),
        monitoringType: 'ModelQuality',
        scheduleConfig: { scheduleExpression: MODEL_QUALITY_SCHEDULE },
      },
    });

    this.driftAlarms = props.driftAlarms.features.map(
      (feature) =>
        new Alarm(this, `Drift-${feature}`, {
          alarmDescription: `${props.modelName}: Model Monitor baseline drift of ${feature}`,
          metric: new Metric({
            namespace: 'aws/sagemaker/Endpoints/data-metrics',
            metricName: `feature_baseline_drift_${feature}`,
            dimensionsMap: {
              Endpoint: props.endpointName,
              MonitoringSchedule: dataQualityScheduleName(props.endpointName),
            },
            statistic: 'Maximum',
            period: Duration.hours(1),
          }),
          threshold: props.driftAlarms.distanceThreshold,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
    );

    this.alarmRelay = new ServiceFunction(this, 'AlarmRelay', {
      entry: 'lambdas/drift/alarm-handler.ts',
      serviceName: 'model-drift-alarms',
      metricsNamespace: 'AIMS/Models',
      description: `Republishes ${props.modelName} drift alarms as ModelDriftDetected on the app bus`,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      environment: {
        EVENT_BUS_NAME: props.bus.eventBusName,
        MODEL_NAME: props.modelName,
        DISTANCE_THRESHOLD: String(props.driftAlarms.distanceThreshold),
      },
    });
    this.alarmRelay.allowPutEvents(props.bus);
    if (this.driftAlarms.length > 0) {
      new Rule(this, 'DriftAlarmRule', {
        description: `${props.modelName} drift alarms entering ALARM`,
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: this.driftAlarms.map((a) => a.alarmArn),
          detail: { state: { value: ['ALARM'] } },
        },
        targets: [this.alarmRelay.asEventTarget(props.deadLetterQueue, { retryAttempts: 4 })],
      });
    }
  }
}
