// A SageMaker real-time endpoint on the Triton image: model, endpoint config with encrypted data capture, endpoint
// with a blue/green canary that rolls back on alarms, and target-tracking autoscaling on the (stable) variant.
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { CfnScalableTarget, CfnScalingPolicy } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Alarm, ComparisonOperator, type IAlarm, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { CfnEndpoint, CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { tagModelResource } from './model-metadata.js';
import { acknowledgeWildcards, nagBucketArn } from './model-registry.js';

/** The production variant's name: stable, so the autoscaling target (endpoint/<name>/variant/<this>) survives updates. */
export const CHAMPION_VARIANT = 'champion';
export const SHADOW_VARIANT = 'shadow';
/** Where the stream drift check publishes the served score's PSI (the rollback alarm reads it). */
export const DRIFT_METRICS = { namespace: 'AIMS/Models', service: 'model-drift' } as const;
/** Where the shadow comparison publishes pairs, agreement and score PSI of the shadow vs the champion. */
export const SHADOW_METRICS = { namespace: 'AIMS/Models', service: 'shadow-compare' } as const;

export interface ModelEndpointProps {
  /** The manifest name: Triton's default model name and the capture prefix. */
  readonly modelName: string;
  /** The literal endpoint name (derived from stage and model; breaks the cycle with the rollback alarms). */
  readonly endpointName: string;
  /** Triton image URI for the stack's region. */
  readonly imageUri: string;
  /** ECR repository ARN of the image (for the pull grant). */
  readonly imageRepositoryArn: string;
  /** S3 URI of the champion's Triton archive (may be a CloudFormation expression over the pointer). */
  readonly modelDataUrl: string;
  /** S3 object ARNs (patterns) the model may read its archive from. */
  readonly modelDataArns: readonly string[];
  /** Keys that decrypt the model archive. */
  readonly modelDataKeys: readonly IKey[];
  readonly instanceType: string;
  readonly capacity: { readonly min: number; readonly max: number };
  readonly captureBucket: IBucket;
  /** Encrypts captured requests (DataCaptureConfig.KmsKeyId: ml.g5 rejects the top-level KmsKeyId). */
  readonly captureKey: IKey;
  readonly capturePercent: number;
  readonly canary: { readonly capacityPercent: number; readonly bakeMinutes: number };
  readonly alarms: {
    readonly invocation5xxPerMinute: number;
    readonly modelLatencyP99Ms: number;
    readonly scoreShiftPsi: number;
  };
  readonly invocationsPerInstanceTarget: number;
  /** Further IAM5 findings of the execution policy to acknowledge (finding → reason), e.g. the versions prefix. @default - none */
  readonly wildcardAcknowledgements?: Readonly<Record<string, string>>;
  /** Serve a shadow variant (the challenger pointer's model) whose answers are captured beside the champion's.
   *  @default - no shadow variant */
  readonly shadowModelDataUrl?: string;
}

export class ModelEndpoint extends Construct {
  public readonly role: Role;
  public readonly model: CfnModel;
  public readonly endpointConfig: CfnEndpointConfig;
  public readonly endpoint: CfnEndpoint;
  public readonly endpointName: string;
  /** Alarms that roll a deployment back: invocation 5xx, model latency p99, score-distribution shift. */
  public readonly rollbackAlarms: readonly Alarm[];
  public readonly scalableTarget: CfnScalableTarget;
  /** `s3://<capture bucket>/<model>`: SageMaker appends `/<endpoint>/<variant>/yyyy/mm/dd/hh/`. */
  public readonly captureUri: string;

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    validate(props);
    const stack = Stack.of(this);
    this.endpointName = props.endpointName;
    this.captureUri = `s3://${props.captureBucket.bucketName}/${props.modelName}`;

    const logGroupArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `/aws/sagemaker/Endpoints/${props.endpointName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Execution role of the ${props.endpointName} endpoint`,
    });
    const policy = new Policy(this, 'Policy', {
      roles: [this.role],
      statements: [
        new PolicyStatement({ actions: ['s3:GetObject'], resources: [...props.modelDataArns] }),
        new PolicyStatement({ actions: ['kms:Decrypt'], resources: props.modelDataKeys.map((k) => k.keyArn) }),
        new PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [props.captureBucket.arnForObjects(`${props.modelName}/*`)],
        }),
        new PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.captureKey.keyArn] }),
        new PolicyStatement({
          actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
          resources: [props.imageRepositoryArn],
        }),
        // GetAuthorizationToken and PutMetricData have no resource-level permissions.
        new PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
        new PolicyStatement({
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/*', 'AWS/SageMaker'] } },
        }),
        new PolicyStatement({
          actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [logGroupArn],
        }),
      ],
    });

    acknowledgeWildcards(policy, {
      'Resource::*':
        'ecr:GetAuthorizationToken and cloudwatch:PutMetricData (namespace-conditioned) have no resource-level permissions.',
      [`Resource::${nagBucketArn(props.captureBucket)}/${props.modelName}/*`]:
        "SageMaker names capture objects by endpoint, variant and hour; writes stay inside this model's prefix.",
      [`Resource::${stack.resolve(logGroupArn)}`]:
        'SageMaker creates one log stream per instance in the endpoint log group.',
      ...(props.wildcardAcknowledgements ?? {}),
    });

    const environment = { SAGEMAKER_TRITON_DEFAULT_MODEL_NAME: props.modelName };
    this.model = new CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: { image: props.imageUri, modelDataUrl: props.modelDataUrl, environment },
    });
    tagModelResource(this.model, { model: props.modelName, role: 'model' });
    // SageMaker checks the role's access while creating the model.
    this.model.node.addDependency(policy);
    let shadowModel: CfnModel | undefined;
    if (props.shadowModelDataUrl) {
      shadowModel = new CfnModel(this, 'ShadowModel', {
        executionRoleArn: this.role.roleArn,
        primaryContainer: { image: props.imageUri, modelDataUrl: props.shadowModelDataUrl, environment },
      });
      tagModelResource(shadowModel, { model: props.modelName, role: 'shadow-model' });
      shadowModel.node.addDependency(policy);
    }

    this.endpointConfig = new CfnEndpointConfig(this, 'Config', {
      productionVariants: [
        {
          variantName: CHAMPION_VARIANT,
          modelName: this.model.attrModelName,
          instanceType: props.instanceType,
          initialInstanceCount: props.capacity.min,
          initialVariantWeight: 1,
        },
      ],
      shadowProductionVariants: shadowModel
        ? [
            {
              variantName: SHADOW_VARIANT,
              modelName: shadowModel.attrModelName,
              instanceType: props.instanceType,
              initialInstanceCount: 1,
              initialVariantWeight: 1,
            },
          ]
        : undefined,
      dataCaptureConfig: {
        enableCapture: true,
        initialSamplingPercentage: props.capturePercent,
        destinationS3Uri: this.captureUri,
        kmsKeyId: props.captureKey.keyArn,
        captureOptions: [{ captureMode: 'Input' }, { captureMode: 'Output' }],
        captureContentTypeHeader: { jsonContentTypes: ['application/json'] },
      },
    });

    tagModelResource(this.endpointConfig, { model: props.modelName, role: 'endpoint-config' });

    const dims = { EndpointName: props.endpointName, VariantName: CHAMPION_VARIANT };
    const errors = new Alarm(this, 'Invocation5xxAlarm', {
      alarmDescription: `${props.endpointName}: invocation 5xx errors (rolls a deployment back)`,
      metric: new Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'Invocation5XXErrors',
        dimensionsMap: dims,
        statistic: 'Sum',
        period: Duration.minutes(1),
      }),
      threshold: props.alarms.invocation5xxPerMinute,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const latency = new Alarm(this, 'ModelLatencyAlarm', {
      alarmDescription: `${props.endpointName}: model latency p99 (rolls a deployment back)`,
      metric: new Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'ModelLatency',
        dimensionsMap: dims,
        statistic: 'p99',
        period: Duration.minutes(1),
      }),
      // ModelLatency is reported in microseconds.
      threshold: props.alarms.modelLatencyP99Ms * 1000,
      evaluationPeriods: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const scoreShift = new Alarm(this, 'ScoreShiftAlarm', {
      alarmDescription: `${props.endpointName}: served score distribution vs the training baseline (PSI)`,
      metric: new Metric({
        namespace: DRIFT_METRICS.namespace,
        metricName: 'ScoreShiftPsi',
        dimensionsMap: { service: DRIFT_METRICS.service, model: props.modelName },
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      threshold: props.alarms.scoreShiftPsi,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.rollbackAlarms = [errors, latency, scoreShift];

    const bake = props.canary.bakeMinutes * 60;
    this.endpoint = new CfnEndpoint(this, 'Endpoint', {
      endpointName: props.endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
      deploymentConfig: {
        blueGreenUpdatePolicy: {
          trafficRoutingConfiguration: {
            type: 'CANARY',
            canarySize: { type: 'CAPACITY_PERCENT', value: props.canary.capacityPercent },
            waitIntervalInSeconds: bake,
          },
          terminationWaitInSeconds: bake,
          maximumExecutionTimeoutInSeconds: Math.min(14_400, Math.max(600, bake * 4 + 1800)),
        },
        autoRollbackConfiguration: { alarms: this.rollbackAlarms.map((a: IAlarm) => ({ alarmName: a.alarmName })) },
      },
    });

    tagModelResource(this.endpoint, { model: props.modelName, role: 'endpoint' });

    this.scalableTarget = new CfnScalableTarget(this, 'ScalableTarget', {
      serviceNamespace: 'sagemaker',
      resourceId: `endpoint/${props.endpointName}/variant/${CHAMPION_VARIANT}`,
      scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      minCapacity: props.capacity.min,
      maxCapacity: props.capacity.max,
    });
    this.scalableTarget.node.addDependency(this.endpoint);
    new CfnScalingPolicy(this, 'InvocationsScaling', {
      policyName: `${props.endpointName}-invocations`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: this.scalableTarget.ref,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: props.invocationsPerInstanceTarget,
        predefinedMetricSpecification: { predefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        scaleInCooldown: 300,
        scaleOutCooldown: 60,
      },
    });
  }
}

function validate(props: ModelEndpointProps): void {
  if (props.capacity.min < 1) {
    throw new Error(`capacity.min must be at least 1 for an instance-backed endpoint, got ${props.capacity.min}`);
  }
  if (props.capacity.max < props.capacity.min) {
    throw new Error(`capacity.max must be >= capacity.min, got ${props.capacity.max} < ${props.capacity.min}`);
  }
  if (props.capturePercent < 0 || props.capturePercent > 100) {
    throw new Error(`capturePercent must be from 0 to 100, got ${props.capturePercent}`);
  }
  if (props.canary.capacityPercent < 1 || props.canary.capacityPercent > 50) {
    throw new Error(`canary.capacityPercent must be from 1 to 50, got ${props.canary.capacityPercent}`);
  }
  if (props.canary.bakeMinutes < 1 || props.canary.bakeMinutes > 60) {
    throw new Error(`canary.bakeMinutes must be from 1 to 60, got ${props.canary.bakeMinutes}`);
  }
  if (props.invocationsPerInstanceTarget <= 0) {
    throw new Error(`invocationsPerInstanceTarget must be positive, got ${props.invocationsPerInstanceTarget}`);
  }
}
