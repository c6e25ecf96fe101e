// One model's registry: its SageMaker model package group, the champion pointer (SSM) the models stack serves and,
// where the environment runs a shadow, the challenger pointer its shadow variant serves.
import { createHash } from 'node:crypto';
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { CfnModelPackageGroup } from 'aws-cdk-lib/aws-sagemaker';
import { ParameterTier, StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct, type IConstruct } from 'constructs';

/**
 * The pointer's value before any retraining: "serve the model bundled with the models stack". It is a constant, so
 * later deploys never rewrite the parameter (CloudFormation only updates a resource whose template input changed).
 */
export const BOOTSTRAP_POINTER = 'bootstrap';

/**
 * The champion pointer's name. A physical name on purpose: the models stack reads it through an SSM-typed
 * CloudFormation parameter, whose default must be a literal (a cross-stack token is not allowed there).
 */
export function championParameterName(stageName: string, modelName: string): string {
  return `/aims/${stageName.toLowerCase()}/models/${modelName}/champion`;
}

/** The challenger pointer's name: what the shadow variant serves (same sentinel, same layout as the champion). */
export function challengerParameterName(stageName: string, modelName: string): string {
  return `/aims/${stageName.toLowerCase()}/models/${modelName}/challenger`;
}

/** The S3 layout of one registered version under the artifacts bucket: the pointer holds `<prefix>/`. */
export const VERSION_LAYOUT = {
  /** Triton model repository archive (the endpoint's ModelDataUrl). */
  modelData: 'model.tar.gz',
  statistics: 'baseline/statistics.json',
  constraints: 'baseline/constraints.json',
  psiBins: 'baseline/psi-bins.json',
  metrics: 'metrics.json',
  modelCard: 'model-card.json',
  evaluation: 'evaluation.json',
} as const;

/** Key prefix (no trailing slash) of a model's versions in the artifacts bucket. */
export const modelVersionsPrefix = (modelName: string) => `models/${modelName}/versions`;

export interface ModelRegistryProps {
  readonly modelName: string;
  /** The stage name (Dev, Staging, Prod): part of the pointer's name. */
  readonly stageName: string;
  readonly description: string;
  /** Create the challenger pointer the shadow variant serves. @default false - no shadow, no challenger pointer */
  readonly challenger?: boolean;
}

export class ModelRegistry extends Construct {
  public readonly packageGroup: CfnModelPackageGroup;
  /** `s3://<artifacts>/models/<name>/versions/<version>/` of the approved champion, or `bootstrap`. */
  public readonly championPointer: StringParameter;
  /** The version the shadow variant serves (`bootstrap` until the pipeline moves it); undefined without a shadow. */
  public readonly challengerPointer?: StringParameter;
  public readonly packageGroupName: string;
  public readonly packageGroupArn: string;

  constructor(scope: Construct, id: string, props: ModelRegistryProps) {
    super(scope, id);
    this.packageGroup = new CfnModelPackageGroup(this, 'PackageGroup', {
      // SageMaker names the group from this property only; the stage keeps environments in one account apart.
      modelPackageGroupName: `aims-${props.stageName.toLowerCase()}-${props.modelName}`,
      modelPackageGroupDescription: props.description.slice(0, 1000),
    });
    this.packageGroupName = this.packageGroup.modelPackageGroupName;
    this.packageGroupArn = this.packageGroup.attrModelPackageGroupArn;
    this.championPointer = new StringParameter(this, 'ChampionPointer', {
      parameterName: championParameterName(props.stageName, props.modelName),
      description: `Champion of ${props.modelName}: the approved version's artifact prefix, or '${BOOTSTRAP_POINTER}' for the bundled model. Written by the retraining state machine only.`,
      stringValue: BOOTSTRAP_POINTER,
      tier: ParameterTier.STANDARD,
    });
    if (props.challenger) {
      // Same rule as the champion: a constant value, so deploys never overwrite what the pipeline wrote.
      this.challengerPointer = new StringParameter(this, 'ChallengerPointer', {
        parameterName: challengerParameterName(props.stageName, props.modelName),
        description: `Challenger of ${props.modelName} (served by the shadow variant): a candidate version's artifact prefix, or '${BOOTSTRAP_POINTER}'. Written by the retraining state machine only.`,
        stringValue: BOOTSTRAP_POINTER,
        tier: ParameterTier.STANDARD,
      });
    }
  }

  /** ARN of a version prefix pattern, for IAM. */
  public static versionsArnPattern(bucketArn: string, modelName: string): string {
    return `${bucketArn}/${modelVersionsPrefix(modelName)}/*`;
  }

  /** The stack-qualified ARN of a parameter named `name` (for grants that must not depend on the resource). */
  public static parameterArn(scope: Construct, name: string): string {
    return Stack.of(scope).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
  }
}

const producers = new Map<string, Stack>();

/**
 * How cdk-nag prints a bucket's ARN token in finding ids: `<LogicalId.Arn>`. The bucket's stack is remembered so
 * acknowledgeWildcards can also name the form a cross-stack reference takes once synthesized.
 */
export function nagBucketArn(bucket: IBucket): string {
  const stack = Stack.of(bucket);
  const id = stack.getLogicalId(bucket.node.defaultChild as CfnElement);
  producers.set(id, stack);
  return `<${id}.Arn>`;
}

/**
 * The `Fn::GetStackOutput` a weak cross-stack reference to `<id>.Arn` becomes at synthesis, as cdk-nag prints it.
 * The output's logical id is CDK's unique id of `Publish/Output<reference>` in the producing stack.
 */
function crossStackArn(id: string, producer: Stack): string {
  const components = ['Publish', `Output${JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })}`];
  const human = components.map((c) => c.replace(/[^A-Za-z0-9]/g, '')).join('');
  const hash = createHash('md5').update(components.join('/')).digest('hex').slice(0, 8).toUpperCase();
  return JSON.stringify({
    'Fn::GetStackOutput': { StackName: producer.stackName, Region: producer.region, OutputName: `${human}${hash}` },
  });
}

/**
 * Acknowledges AwsSolutions-IAM5 for named wildcard resources/actions of one policy, each with its reason. Anything
 * not listed still fails the nag gate. Bucket ARNs from another stack are acknowledged in both forms nag may see
 * (before synthesis in unit tests, after it in `cdk synth`).
 */
export function acknowledgeWildcards(policy: IConstruct, findings: Readonly<Record<string, string>>): void {
  const consumer = Stack.of(policy);
  for (const [finding, reason] of Object.entries(findings)) {
    Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    const crossStack = finding.replace(/<(\w+)\.Arn>/g, (whole, id: string) => {
      const producer = producers.get(id);
      return producer && producer !== consumer ? crossStackArn(id, producer) : whole;
    });
    if (crossStack !== finding) Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${crossStack}]`, reason });
  }
}
