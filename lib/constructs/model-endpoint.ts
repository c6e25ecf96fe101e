// A SageMaker real-time endpoint on the Triton image: model, endpoint config with encrypted data capture, and one of
// two shapes (docs/decisions/0005-idle-endpoints.md):
// - always on: the model on the production variant, a blue/green canary that rolls back on alarms, target-tracking
//   autoscaling of the variant's instances, optionally a shadow variant;
// - idle to zero: the model in an inference component on managed instance scaling with a floor of 0 instances; its
//   copies scale to 0 after a quiet period and back to 1 on the first request that finds none, and a model change rolls
//   through the component with the same rollback alarms.
import { ArnFormat, type CfnResource, Duration, Stack } from 'aws-cdk-lib';
import { CfnScalableTarget, CfnScalingPolicy } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Alarm, ComparisonOperator, type IAlarm, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { CfnEndpoint, CfnEndpointConfig, CfnInferenceComponent, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { tagModelResource } from './model-metadata.js';
import { acknowledgeWildcards, nagBucketArn } from './model-registry.js';

/** The production variant's name: stable, so the autoscaling target (endpoint/<name>/variant/<this>) survives updates. */
export const CHAMPION_VARIANT = 'champion';
export const SHADOW_VARIANT = 'shadow';
/** The inference component of an endpoint that idles to zero: a literal derived from the endpoint's name, because the
 *  rollback alarms and the scalable target need it before it exists; callers name it in InvokeEndpoint. */
export function inferenceComponentName(endpointName: string): string {
  return `${endpointName}-${CHAMPION_VARIANT}`;
}
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
  /** Serve a shadow variant (the challenger pointer's model) whose answers are captured beside the champion's; not
   *  with `idle` (an endpoint of inference components has no shadow variant). @default - no shadow variant */
  readonly shadowModelDataUrl?: string;
  /** Scale to zero when idle: the model runs as an inference component whose copies (and, through managed instance
   *  scaling, instances) drop to 0 after `scaleInAfterMinutes` without an invocation and come back on the first
   *  request that finds no copy (that request fails: callers answer with their baseline).
   *  @default - always on: at least `capacity.min` instances */
  readonly idle?: IdleSettings;
}

/** Scale to zero after this many minutes without an invocation (1 to 1440). */
export interface IdleSettings {
  readonly scaleInAfterMinutes: number;
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
  /** The inference component serving the model when the endpoint idles to zero (callers name it in InvokeEndpoint).
   *  @default - none: the always-on shape */
  public readonly inferenceComponent?: CfnInferenceComponent;
  /** The inference component's literal name (derived from the endpoint's: the rollback alarms need it first). */
  public readonly inferenceComponentName?: string;

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

    const componentName = props.idle ? inferenceComponentName(props.endpointName) : undefined;
    this.endpointConfig = new CfnEndpointConfig(this, 'Config', {
      // With inference components the model is not on the variant: the endpoint config carries the execution role.
      executionRoleArn: props.idle ? this.role.roleArn : undefined,
      productionVariants: [
        props.idle
          ? {
              variantName: CHAMPION_VARIANT,
              instanceType: props.instanceType,
              initialInstanceCount: 1,
              managedInstanceScaling: { status: 'ENABLED', minInstanceCount: 0, maxInstanceCount: props.capacity.max },
              routingConfig: { routingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
            }
          : {
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
              // A copy of every request reaches the shadow, which does not autoscale: the champion's floor carries it.
              initialInstanceCount: props.capacity.min,
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
    // SageMaker checks the role's access while creating the endpoint config's instances.
    if (props.idle) this.endpointConfig.node.addDependency(policy);

    tagModelResource(this.endpointConfig, { model: props.modelName, role: 'endpoint-config' });

    // An inference component reports its invocations under its own name; a variant under endpoint and variant.
    const dims: Record<string, string> = componentName
      ? { InferenceComponentName: componentName }
      : { EndpointName: props.endpointName, VariantName: CHAMPION_VARIANT };
    this.rollbackAlarms = this.createRollbackAlarms(props, dims);
    const rollback = { alarms: this.rollbackAlarms.map((a: IAlarm) => ({ alarmName: a.alarmName })) };

    const bake = props.canary.bakeMinutes * 60;
    const maximumExecutionTimeoutInSeconds = Math.min(14_400, Math.max(600, bake * 4 + 1800));
    this.endpoint = new CfnEndpoint(this, 'Endpoint', {
      endpointName: props.endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
      // With inference components a new model rolls through the component (below), not a new endpoint config.
      deploymentConfig: componentName
        ? undefined
        : {
            blueGreenUpdatePolicy: {
              trafficRoutingConfiguration: {
                type: 'CANARY',
                canarySize: { type: 'CAPACITY_PERCENT', value: props.canary.capacityPercent },
                waitIntervalInSeconds: bake,
              },
              terminationWaitInSeconds: bake,
              maximumExecutionTimeoutInSeconds,
            },
            autoRollbackConfiguration: rollback,
          },
    });

    tagModelResource(this.endpoint, { model: props.modelName, role: 'endpoint' });

    if (componentName && props.idle) {
      this.inferenceComponentName = componentName;
      this.inferenceComponent = new CfnInferenceComponent(this, 'Component', {
        inferenceComponentName: componentName,
        endpointName: this.endpoint.attrEndpointName,
        variantName: CHAMPION_VARIANT,
        specification: {
          modelName: this.model.attrModelName,
          // One copy per instance: the model server takes the instance's cores (dynamic batching, docs/capacity.md).
          computeResourceRequirements: { numberOfCpuCoresRequired: 1, minMemoryRequiredInMb: 1024 },
        },
        runtimeConfig: { copyCount: 1 },
        deploymentConfig: {
          // The canary share of copies first, baked, then the rest; the same alarms roll it back.
          rollingUpdatePolicy: {
            maximumBatchSize: { type: 'CAPACITY_PERCENT', value: props.canary.capacityPercent },
            waitIntervalInSeconds: bake,
            maximumExecutionTimeoutInSeconds,
            rollbackMaximumBatchSize: { type: 'CAPACITY_PERCENT', value: 100 },
          },
          autoRollbackConfiguration: rollback,
        },
      });
      tagModelResource(this.inferenceComponent, { model: props.modelName, role: 'inference-component' });
      this.scalableTarget = this.scaleComponentToZero(props, componentName, this.inferenceComponent, props.idle);
    } else {
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

  /** Invocation 5xx, model latency p99 (of the variant or the component, by `dims`) and the served score's shift. */
  private createRollbackAlarms(props: ModelEndpointProps, dims: Record<string, string>): Alarm[] {
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
    return [errors, latency, scoreShift];
  }

  /**
   * The component's copies between 0 and `capacity.max`: target tracking adds copies under load (its own scale-in is
   * off, so the quiet period alone decides when copies go); no invocation for `scaleInAfterMinutes` sets 0 copies
   * (managed instance scaling then releases the instances); a request that finds no copy counts as a
   * NoCapacityInvocationFailure, whose alarm brings one copy back (minutes on AWS: that request and those until then fail).
   */
  private scaleComponentToZero(
    props: ModelEndpointProps,
    componentName: string,
    component: CfnInferenceComponent,
    idle: IdleSettings,
  ): CfnScalableTarget {
    const target = new CfnScalableTarget(this, 'ScalableTarget', {
      serviceNamespace: 'sagemaker',
      resourceId: `inference-component/${componentName}`,
      scalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
      minCapacity: 0,
      maxCapacity: props.capacity.max,
    });
    target.node.addDependency(component);
    new CfnScalingPolicy(this, 'InvocationsScaling', {
      policyName: `${componentName}-invocations`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: target.ref,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: props.invocationsPerInstanceTarget,
        predefinedMetricSpecification: { predefinedMetricType: 'SageMakerInferenceComponentInvocationsPerCopy' },
        disableScaleIn: true,
        scaleOutCooldown: 60,
      },
    });
    // A breaching alarm's value minus its threshold: below 0 for the idle alarm, 0 or more for the no-capacity one.
    const stepPolicy = (id: string, adjustmentType: string, scalingAdjustment: number, below: boolean) =>
      new CfnScalingPolicy(this, id, {
        policyName: `${componentName}-${id.toLowerCase()}`,
        policyType: 'StepScaling',
        scalingTargetId: target.ref,
        stepScalingPolicyConfiguration: {
          adjustmentType,
          cooldown: 60,
          metricAggregationType: 'Maximum',
          stepAdjustments: [
            below
              ? { metricIntervalUpperBound: 0, scalingAdjustment }
              : { metricIntervalLowerBound: 0, scalingAdjustment },
          ],
        },
      });
    const dims = { InferenceComponentName: componentName };
    const idleAlarm = new Alarm(this, 'IdleAlarm', {
      alarmDescription: `${props.endpointName}: no invocation for ${idle.scaleInAfterMinutes} min (scales to zero)`,
      metric: new Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'Invocations',
        dimensionsMap: dims,
        statistic: 'Sum',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: idle.scaleInAfterMinutes,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // No invocation publishes no datapoint: missing data is the idle case.
      treatMissingData: TreatMissingData.BREACHING,
    });
    idleAlarm.addAlarmAction({
      bind: () => ({ alarmActionArn: stepPolicy('ScaleToZero', 'ExactCapacity', 0, true).ref }),
    });
    tagModelResource(idleAlarm.node.defaultChild as CfnResource, { model: props.modelName, role: 'scale-to-zero' });
    const wakeAlarm = new Alarm(this, 'NoCapacityAlarm', {
      alarmDescription: `${props.endpointName}: a request found no copy (scales out from zero)`,
      metric: new Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'NoCapacityInvocationFailures',
        dimensionsMap: dims,
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    wakeAlarm.addAlarmAction({
      bind: () => ({ alarmActionArn: stepPolicy('ScaleOutFromZero', 'ChangeInCapacity', 1, false).ref }),
    });
    return target;
  }
}

function validate(props: ModelEndpointProps): void {
  if (props.idle) {
    const minutes = props.idle.scaleInAfterMinutes;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      throw new Error(`idle.scaleInAfterMinutes must be a whole number from 1 to 1440, got ${minutes}`);
    }
    if (props.shadowModelDataUrl !== undefined) {
      throw new Error('an endpoint that idles to zero has no shadow variant: set idle or shadowModelDataUrl, not both');
    }
    const component = inferenceComponentName(props.endpointName);
    if (component.length > 63) throw new Error(`inference component name '${component}' is longer than 63 characters`);
  }
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
