// Deterministic local physical names, ids and ARNs per CloudFormation resource type (the scheme is in ./index.ts).
import { createHash } from 'node:crypto';

/** What a resource type needs to compute its local identity. */
export interface IdentityContext {
  readonly stageName: string;
  readonly stackName: string;
  readonly logicalId: string;
  readonly type: string;
  readonly account: string;
  readonly region: string;
  /** Base URL of the local SQS server (queue URLs are `<sqsBaseUrl>/<account>/<name>`). */
  readonly sqsBaseUrl: string;
  /** Base URL of the local API server, which also serves the local Cognito issuer. */
  readonly apiBaseUrl: string;
  /** The resolved value of one of the resource's properties, or undefined when absent. */
  prop(name: string): unknown;
}

export interface Identity {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const MIXED_ALNUM = `ABCDEFGHIJKLMNOPQRSTUVWXYZ${LOWER_ALNUM}`;

/** A stable id of `length` characters from `alphabet`, derived from the resource's place in the stage. */
export function stableId(seed: string, length: number, alphabet: string = LOWER_ALNUM): string {
  let out = '';
  let counter = 0;
  while (out.length < length) {
    const bytes = createHash('sha256').update(`${seed}#${counter}`).digest();
    for (const byte of bytes) {
      if (out.length >= length) break;
      out += alphabet[byte % alphabet.length];
    }
    counter += 1;
  }
  return out;
}

/** A stable UUID (v4 layout) for ids AWS hands out as UUIDs (KMS keys, event-source mappings, WAF ACLs). */
export function stableUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** `<StackName>-<LogicalId>`, shortened to `maxLength` with a hash suffix so two long names never collide. */
export function defaultPhysicalName(stackName: string, logicalId: string, maxLength: number): string {
  const full = `${stackName}-${logicalId}`;
  if (full.length <= maxLength) return full;
  const suffix = stableId(full, 8, UPPER_ALNUM);
  return `${full.slice(0, maxLength - suffix.length - 1)}-${suffix}`;
}

/** S3 rules: lower case, [a-z0-9.-], 3–63 characters, starting and ending with a letter or digit. */
export function bucketName(stackName: string, logicalId: string): string {
  const full = `${stackName}-${logicalId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-');
  if (full.length <= 63) return full.replace(/^-|-$/g, '');
  const suffix = stableId(full, 8);
  return `${full.slice(0, 63 - suffix.length - 1).replace(/-$/, '')}-${suffix}`;
}

function stringProp(ctx: IdentityContext, name: string): string | undefined {
  const value = ctx.prop(name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new Error(`${ctx.stackName}/${ctx.logicalId} (${ctx.type}): property ${name} must resolve to a string`);
  }
  return value;
}

function named(ctx: IdentityContext, nameProperty: string, maxLength: number): string {
  return stringProp(ctx, nameProperty) ?? defaultPhysicalName(ctx.stackName, ctx.logicalId, maxLength);
}

function seed(ctx: IdentityContext, kind: string): string {
  return `${ctx.stageName}/${ctx.stackName}/${ctx.logicalId}/${kind}`;
}

function arn(ctx: IdentityContext, service: string, resource: string, options: { global?: boolean } = {}): string {
  return options.global
    ? `arn:aws:${service}::${ctx.account}:${resource}`
    : `arn:aws:${service}:${ctx.region}:${ctx.account}:${resource}`;
}

/** The part after the last `/` or `:` of an ARN, or the value itself when it is a plain name. */
function nameOf(value: string): string {
  if (!value.startsWith('arn:')) return value;
  const parts = value.split(/[:/]/);
  return parts[parts.length - 1] ?? value;
}

/** The label of every local table stream: a table has one stream locally, so its ARN never changes. */
export const LOCAL_STREAM_LABEL = '1970-01-01T00:00:00.000';

/** A table's `StreamArn` as the local stage gives it (`GetAtt Table.StreamArn` and the local stream agree on it). */
export function tableStreamArn(tableArn: string): string {
  return `${tableArn}/stream/${LOCAL_STREAM_LABEL}`;
}

function opaque(ctx: IdentityContext, length = 12): Identity {
  return { ref: stableId(seed(ctx, 'id'), length), attributes: {} };
}

type IdentityFn = (ctx: IdentityContext) => Identity;

const IDENTITIES: Record<string, IdentityFn> = {
  'AWS::DynamoDB::Table': (ctx) => {
    const name = named(ctx, 'TableName', 255);
    const tableArn = arn(ctx, 'dynamodb', `table/${name}`);
    return { ref: name, attributes: { Arn: tableArn, StreamArn: tableStreamArn(tableArn) } };
  },
  'AWS::Kinesis::Stream': (ctx) => {
    const name = named(ctx, 'Name', 128);
    return { ref: name, attributes: { Arn: arn(ctx, 'kinesis', `stream/${name}`) } };
  },
  'AWS::S3::Bucket': (ctx) => {
    const name = stringProp(ctx, 'BucketName') ?? bucketName(ctx.stackName, ctx.logicalId);
    return {
      ref: name,
      attributes: {
        Arn: `arn:aws:s3:::${name}`,
        DomainName: `${name}.s3.amazonaws.com`,
        RegionalDomainName: `${name}.s3.${ctx.region}.amazonaws.com`,
        DualStackDomainName: `${name}.s3.dualstack.${ctx.region}.amazonaws.com`,
        WebsiteURL: `http://${name}.s3-website-${ctx.region}.amazonaws.com`,
      },
    };
  },
  'AWS::Events::EventBus': (ctx) => {
    const name = named(ctx, 'Name', 256);
    return { ref: name, attributes: { Name: name, Arn: arn(ctx, 'events', `event-bus/${name}`) } };
  },
  'AWS::Events::Rule': (ctx) => {
    const name = named(ctx, 'Name', 64);
    const bus = stringProp(ctx, 'EventBusName');
    const busName = bus === undefined ? 'default' : nameOf(bus);
    // CloudFormation's Ref of a rule on a custom bus is `<bus>|<rule>` and its ARN carries the bus name.
    if (busName === 'default') return { ref: name, attributes: { Arn: arn(ctx, 'events', `rule/${name}`) } };
    return { ref: `${busName}|${name}`, attributes: { Arn: arn(ctx, 'events', `rule/${busName}/${name}`) } };
  },
  'AWS::Events::Archive': (ctx) => {
    const name = named(ctx, 'ArchiveName', 48);
    return { ref: name, attributes: { ArchiveName: name, Arn: arn(ctx, 'events', `archive/${name}`) } };
  },
  'AWS::Lambda::Function': (ctx) => {
    const name = named(ctx, 'FunctionName', 64);
    return { ref: name, attributes: { Arn: arn(ctx, 'lambda', `function:${name}`) } };
  },
  'AWS::Lambda::Version': (ctx) => {
    const fn = stringProp(ctx, 'FunctionName') ?? '';
    const fnArn = fn.startsWith('arn:') ? fn : arn(ctx, 'lambda', `function:${fn}`);
    return { ref: `${fnArn}:1`, attributes: { Version: '1', FunctionArn: fnArn } };
  },
  'AWS::Lambda::Alias': (ctx) => {
    const fn = stringProp(ctx, 'FunctionName') ?? '';
    const fnArn = fn.startsWith('arn:') ? fn : arn(ctx, 'lambda', `function:${fn}`);
    const aliasArn = `${fnArn}:${stringProp(ctx, 'Name') ?? ctx.logicalId}`;
    return { ref: aliasArn, attributes: { AliasArn: aliasArn } };
  },
  'AWS::Lambda::EventSourceMapping': (ctx) => {
    const id = stableUuid(seed(ctx, 'esm'));
    return { ref: id, attributes: { Id: id, EventSourceMappingArn: arn(ctx, 'lambda', `event-source-mapping:${id}`) } };
  },
  'AWS::Lambda::Permission': (ctx) => opaque(ctx),
  'AWS::SQS::Queue': (ctx) => {
    const fifo = ctx.prop('FifoQueue') === true || ctx.prop('FifoQueue') === 'true';
    const name =
      stringProp(ctx, 'QueueName') ??
      `${defaultPhysicalName(ctx.stackName, ctx.logicalId, fifo ? 75 : 80)}${fifo ? '.fifo' : ''}`;
    const url = `${ctx.sqsBaseUrl}/${ctx.account}/${name}`;
    return { ref: url, attributes: { Arn: arn(ctx, 'sqs', name), QueueName: name, QueueUrl: url } };
  },
  'AWS::SQS::QueuePolicy': (ctx) => opaque(ctx),
  'AWS::SNS::Topic': (ctx) => {
    const name = named(ctx, 'TopicName', 256);
    const topicArn = arn(ctx, 'sns', name);
    return { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
  },
  'AWS::SNS::TopicPolicy': (ctx) => opaque(ctx),
  'AWS::SNS::Subscription': (ctx) => {
    const topic = stringProp(ctx, 'TopicArn') ?? arn(ctx, 'sns', 'unknown');
    return { ref: `${topic}:${stableUuid(seed(ctx, 'subscription'))}`, attributes: {} };
  },
  'AWS::KinesisFirehose::DeliveryStream': (ctx) => {
    const name = named(ctx, 'DeliveryStreamName', 64);
    return { ref: name, attributes: { Arn: arn(ctx, 'firehose', `deliverystream/${name}`) } };
  },
  'AWS::KMS::Key': (ctx) => {
    const id = stableUuid(seed(ctx, 'key'));
    return { ref: id, attributes: { KeyId: id, Arn: arn(ctx, 'kms', `key/${id}`) } };
  },
  'AWS::KMS::Alias': (ctx) => ({ ref: stringProp(ctx, 'AliasName') ?? `alias/${ctx.logicalId}`, attributes: {} }),
  'AWS::IAM::Role': (ctx) => {
    const name = named(ctx, 'RoleName', 64);
    const path = stringProp(ctx, 'Path') ?? '/';
    return {
      ref: name,
      attributes: {
        Arn: arn(ctx, 'iam', `role${path}${name}`, { global: true }),
        RoleId: `AROA${stableId(seed(ctx, 'role'), 17, UPPER_ALNUM)}`,
      },
    };
  },
  'AWS::IAM::Policy': (ctx) => ({
    ref: `${ctx.stackName}-${stableId(seed(ctx, 'policy'), 12, UPPER_ALNUM)}`,
    attributes: {},
  }),
  'AWS::IAM::ManagedPolicy': (ctx) => {
    const name = named(ctx, 'ManagedPolicyName', 128);
    const path = stringProp(ctx, 'Path') ?? '/';
    const policyArn = arn(ctx, 'iam', `policy${path}${name}`, { global: true });
    return {
      ref: policyArn,
      attributes: { PolicyArn: policyArn, PolicyId: `ANPA${stableId(seed(ctx, 'policy'), 17, UPPER_ALNUM)}` },
    };
  },
  'AWS::Logs::LogGroup': (ctx) => {
    const name = named(ctx, 'LogGroupName', 512);
    return { ref: name, attributes: { Arn: arn(ctx, 'logs', `log-group:${name}:*`) } };
  },
  'AWS::Logs::LogStream': (ctx) => ({ ref: named(ctx, 'LogStreamName', 512), attributes: {} }),
  'AWS::ApiGateway::RestApi': (ctx) => {
    const id = stableId(seed(ctx, 'restapi'), 10);
    return { ref: id, attributes: { RestApiId: id, RootResourceId: stableId(seed(ctx, 'root'), 10) } };
  },
  'AWS::ApiGateway::Deployment': (ctx) => {
    const id = stableId(seed(ctx, 'deployment'), 6);
    return { ref: id, attributes: { DeploymentId: id } };
  },
  'AWS::ApiGateway::Stage': (ctx) => ({ ref: stringProp(ctx, 'StageName') ?? ctx.logicalId, attributes: {} }),
  'AWS::ApiGateway::ApiKey': (ctx) => {
    const id = stableId(seed(ctx, 'apikey'), 10);
    return { ref: id, attributes: { APIKeyId: id } };
  },
  'AWS::ApiGateway::UsagePlan': (ctx) => {
    const id = stableId(seed(ctx, 'usageplan'), 6);
    return { ref: id, attributes: { Id: id } };
  },
  'AWS::ApiGateway::UsagePlanKey': (ctx) => {
    const id = stableId(seed(ctx, 'usageplankey'), 10);
    return { ref: id, attributes: { Id: id } };
  },
  'AWS::ApiGateway::Authorizer': (ctx) => {
    const id = stableId(seed(ctx, 'authorizer'), 6);
    return { ref: id, attributes: { AuthorizerId: id } };
  },
  'AWS::ApiGateway::Resource': (ctx) => {
    const id = stableId(seed(ctx, 'resource'), 6);
    return { ref: id, attributes: { ResourceId: id } };
  },
  'AWS::ApiGateway::Method': (ctx) => opaque(ctx, 6),
  'AWS::ApiGateway::Account': (ctx) => opaque(ctx, 6),
  'AWS::Cognito::UserPool': (ctx) => {
    const id = `${ctx.region}_${stableId(seed(ctx, 'userpool'), 9, MIXED_ALNUM)}`;
    // The local issuer lives on the API server, so tokens minted there verify against these very values.
    const providerUrl = `${ctx.apiBaseUrl.replace(/\/+$/, '')}/cognito/${id}`;
    return {
      ref: id,
      attributes: {
        Arn: arn(ctx, 'cognito-idp', `userpool/${id}`),
        ProviderURL: providerUrl,
        ProviderName: providerUrl.replace(/^[a-z]+:\/\//, ''),
        UserPoolId: id,
      },
    };
  },
  'AWS::Cognito::UserPoolClient': (ctx) => {
    const id = stableId(seed(ctx, 'client'), 26);
    return { ref: id, attributes: { ClientId: id, Name: stringProp(ctx, 'ClientName') ?? ctx.logicalId } };
  },
  'AWS::Cognito::UserPoolDomain': (ctx) => ({ ref: stringProp(ctx, 'Domain') ?? ctx.logicalId, attributes: {} }),
  'AWS::Cognito::UserPoolResourceServer': (ctx) => ({
    ref: stringProp(ctx, 'Identifier') ?? ctx.logicalId,
    attributes: {},
  }),
  'AWS::WAFv2::WebACL': (ctx) => {
    const name = named(ctx, 'Name', 128);
    const id = stableUuid(seed(ctx, 'webacl'));
    const scope = stringProp(ctx, 'Scope') ?? 'REGIONAL';
    const where = scope === 'CLOUDFRONT' ? 'global' : 'regional';
    return {
      ref: `${name}|${id}|${scope}`,
      attributes: {
        Arn: arn(ctx, 'wafv2', `${where}/webacl/${name}/${id}`),
        Id: id,
        LabelNamespace: `awswaf:${ctx.account}:webacl:${name}:`,
      },
    };
  },
  'AWS::WAFv2::WebACLAssociation': (ctx) => opaque(ctx),
  'AWS::EventSchemas::Registry': (ctx) => {
    const name = named(ctx, 'RegistryName', 64);
    const registryArn = arn(ctx, 'schemas', `registry/${name}`);
    return { ref: registryArn, attributes: { RegistryArn: registryArn, RegistryName: name } };
  },
  'AWS::EventSchemas::Schema': (ctx) => {
    const name = named(ctx, 'SchemaName', 385);
    const registry = nameOf(stringProp(ctx, 'RegistryName') ?? 'default');
    const schemaArn = arn(ctx, 'schemas', `schema/${registry}/${name}`);
    return { ref: schemaArn, attributes: { SchemaArn: schemaArn, SchemaName: name, SchemaVersion: '1' } };
  },
  'AWS::StepFunctions::StateMachine': (ctx) => {
    const name = named(ctx, 'StateMachineName', 80);
    const machineArn = arn(ctx, 'states', `stateMachine:${name}`);
    return {
      ref: machineArn,
      attributes: { Arn: machineArn, Name: name, StateMachineRevisionId: stableId(seed(ctx, 'revision'), 12) },
    };
  },
  'AWS::SageMaker::Model': (ctx) => {
    const name = named(ctx, 'ModelName', 63);
    const modelArn = arn(ctx, 'sagemaker', `model/${name.toLowerCase()}`);
    return { ref: modelArn, attributes: { ModelName: name, ModelArn: modelArn } };
  },
  'AWS::SageMaker::EndpointConfig': (ctx) => {
    const name = named(ctx, 'EndpointConfigName', 63);
    const configArn = arn(ctx, 'sagemaker', `endpoint-config/${name.toLowerCase()}`);
    return { ref: configArn, attributes: { EndpointConfigName: name } };
  },
  'AWS::SageMaker::Endpoint': (ctx) => {
    const name = named(ctx, 'EndpointName', 63);
    const endpointArn = arn(ctx, 'sagemaker', `endpoint/${name.toLowerCase()}`);
    return { ref: endpointArn, attributes: { EndpointName: name, EndpointArn: endpointArn } };
  },
  'AWS::SageMaker::InferenceComponent': (ctx) => {
    const name = named(ctx, 'InferenceComponentName', 63);
    const componentArn = arn(ctx, 'sagemaker', `inference-component/${name.toLowerCase()}`);
    return { ref: componentArn, attributes: { InferenceComponentName: name, InferenceComponentArn: componentArn } };
  },
  'AWS::SageMaker::ModelPackageGroup': (ctx) => {
    const name = named(ctx, 'ModelPackageGroupName', 63);
    const groupArn = arn(ctx, 'sagemaker', `model-package-group/${name.toLowerCase()}`);
    return { ref: groupArn, attributes: { ModelPackageGroupArn: groupArn } };
  },
  'AWS::SageMaker::MonitoringSchedule': (ctx) => {
    const name = named(ctx, 'MonitoringScheduleName', 63);
    const scheduleArn = arn(ctx, 'sagemaker', `monitoring-schedule/${name.toLowerCase()}`);
    return { ref: scheduleArn, attributes: { MonitoringScheduleArn: scheduleArn } };
  },
  'AWS::SageMaker::DataQualityJobDefinition': (ctx) => jobDefinition(ctx, 'data-quality-job-definition'),
  'AWS::SageMaker::ModelQualityJobDefinition': (ctx) => jobDefinition(ctx, 'model-quality-job-definition'),
  'AWS::ApplicationAutoScaling::ScalableTarget': (ctx) => {
    const parts = ['ResourceId', 'ScalableDimension', 'ServiceNamespace'].map((p) => stringProp(ctx, p) ?? '');
    return { ref: parts.join('|'), attributes: {} };
  },
  'AWS::ApplicationAutoScaling::ScalingPolicy': (ctx) => {
    const policyArn = arn(
      ctx,
      'autoscaling',
      `scalingPolicy:${stableUuid(seed(ctx, 'scaling'))}:policyName/${ctx.logicalId}`,
    );
    return { ref: policyArn, attributes: { Arn: policyArn } };
  },
  'AWS::CloudWatch::Alarm': (ctx) => {
    const name = named(ctx, 'AlarmName', 255);
    return { ref: name, attributes: { Arn: arn(ctx, 'cloudwatch', `alarm:${name}`) } };
  },
  'AWS::CloudWatch::CompositeAlarm': (ctx) => {
    const name = named(ctx, 'AlarmName', 255);
    return { ref: name, attributes: { Arn: arn(ctx, 'cloudwatch', `alarm:${name}`) } };
  },
  'AWS::CloudWatch::Dashboard': (ctx) => ({ ref: named(ctx, 'DashboardName', 255), attributes: {} }),
  'AWS::SSM::Parameter': (ctx) => {
    const name = named(ctx, 'Name', 2048);
    const value = ctx.prop('Value');
    return {
      ref: name,
      attributes: { Type: stringProp(ctx, 'Type') ?? 'String', Value: typeof value === 'string' ? value : '' },
    };
  },
  'AWS::Scheduler::Schedule': (ctx) => {
    const name = named(ctx, 'Name', 64);
    const group = stringProp(ctx, 'GroupName') ?? 'default';
    return { ref: name, attributes: { Arn: arn(ctx, 'scheduler', `schedule/${group}/${name}`) } };
  },
  'AWS::Glue::Database': (ctx) => {
    const input = ctx.prop('DatabaseInput');
    const name =
      isRecord(input) && typeof input.Name === 'string'
        ? input.Name
        : defaultPhysicalName(ctx.stackName, ctx.logicalId, 255).toLowerCase();
    return { ref: name, attributes: {} };
  },
  'AWS::Glue::Table': (ctx) => {
    const input = ctx.prop('TableInput');
    const name =
      isRecord(input) && typeof input.Name === 'string'
        ? input.Name
        : defaultPhysicalName(ctx.stackName, ctx.logicalId, 255).toLowerCase();
    return { ref: name, attributes: {} };
  },
  'AWS::Athena::WorkGroup': (ctx) => ({ ref: named(ctx, 'Name', 128), attributes: {} }),
  'AWS::CDK::Metadata': (ctx) => opaque(ctx),
  'AWS::CloudFront::Distribution': (ctx) => {
    const id = `E${stableId(seed(ctx, 'distribution'), 13, UPPER_ALNUM)}`;
    return { ref: id, attributes: { Id: id, DomainName: `d${stableId(seed(ctx, 'domain'), 13)}.cloudfront.net` } };
  },
  'AWS::CloudFront::OriginAccessControl': (ctx) => {
    const id = `E${stableId(seed(ctx, 'oac'), 13, UPPER_ALNUM)}`;
    return { ref: id, attributes: { Id: id } };
  },
  'AWS::CloudFront::ResponseHeadersPolicy': (ctx) => {
    const id = stableUuid(seed(ctx, 'response-headers-policy'));
    return { ref: id, attributes: { Id: id, LastModifiedTime: '1970-01-01T00:00:00Z' } };
  },
  'AWS::Lambda::LayerVersion': (ctx) => {
    const layerArn = arn(ctx, 'lambda', `layer:${defaultPhysicalName(ctx.stackName, ctx.logicalId, 140)}:1`);
    return { ref: layerArn, attributes: { LayerVersionArn: layerArn } };
  },
};

function jobDefinition(ctx: IdentityContext, kind: string): Identity {
  const name = named(ctx, 'JobDefinitionName', 63);
  const definitionArn = arn(ctx, 'sagemaker', `${kind}/${name.toLowerCase()}`);
  return { ref: definitionArn, attributes: { JobDefinitionArn: definitionArn } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The types whose local identity is modelled attribute by attribute (others get a name-like Ref and no attributes). */
export const TYPES_WITH_IDENTITY: readonly string[] = Object.keys(IDENTITIES);

/** The local Ref and attributes of a resource. Types without a model get `<StackName>-<LogicalId>` as Ref. */
export function localIdentity(ctx: IdentityContext): Identity {
  const fn = IDENTITIES[ctx.type];
  if (fn) return fn(ctx);
  return { ref: defaultPhysicalName(ctx.stackName, ctx.logicalId, 255), attributes: {} };
}
