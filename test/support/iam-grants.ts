// Reads what an IAM role may do from a stage's synthesized templates: inline and managed policies, across stacks.
import type { Stage } from 'aws-cdk-lib';
import type { CfnResource, CfnTemplate, Json } from '../gate/assembly.js';

export type { CfnResource, CfnTemplate } from '../gate/assembly.js';

/** One stack's template and the environment its pseudo parameters resolve to. */
export interface StackTemplate {
  readonly stackName: string;
  readonly template: CfnTemplate;
  readonly account: string;
  readonly region: string;
}

/** A resource of one of the stage's templates. */
export interface ResourceRef {
  /** CloudFormation stack name (e.g. `Dev-Data`). */
  readonly stack: string;
  readonly logicalId: string;
}

export function refKey(ref: ResourceRef): string {
  return `${ref.stack}/${ref.logicalId}`;
}

/** The stage's templates by stack name, synthesized once. */
export class StageTemplates {
  public readonly byStack: ReadonlyMap<string, CfnTemplate>;
  private readonly environments: ReadonlyMap<string, { account: string; region: string }>;

  /** The templates of a CDK Stage (synthesizes it). */
  public static of(stage: Stage): StageTemplates {
    return new StageTemplates(
      stage.synth().stacks.map((s) => ({
        stackName: s.stackName,
        template: s.template as CfnTemplate,
        account: s.environment.account,
        region: s.environment.region,
      })),
    );
  }

  constructor(stacks: readonly StackTemplate[]) {
    this.byStack = new Map(stacks.map((s) => [s.stackName, s.template]));
    this.environments = new Map(stacks.map((s) => [s.stackName, { account: s.account, region: s.region }]));
  }

  /** The account and region a stack deploys to. */
  public environment(stack: string): { account: string; region: string } {
    const env = this.environments.get(stack);
    if (!env) throw new Error(`no stack named '${stack}' in this stage`);
    return env;
  }

  public template(stack: string): CfnTemplate {
    const t = this.byStack.get(stack);
    if (!t) throw new Error(`no stack named '${stack}' in this stage (have ${[...this.byStack.keys()].join(', ')})`);
    return t;
  }

  public resource(ref: ResourceRef): CfnResource | undefined {
    return this.byStack.get(ref.stack)?.Resources[ref.logicalId];
  }

  /**
   * The resource an expression points at: `Ref`, `Fn::GetAtt`, a cross-stack `Fn::GetStackOutput` or
   * `Fn::ImportValue` (followed to the output in the other template), or the resource inside an ARN `Fn::Join`.
   * Undefined for literals (e.g. an ARN string) and pseudo parameters.
   */
  public resolve(stack: string, expr: Json): ResourceRef | undefined {
    if (expr === null || typeof expr !== 'object') return undefined;
    const t = this.byStack.get(stack);
    if (typeof expr.Ref === 'string') {
      return t?.Resources[expr.Ref] ? { stack, logicalId: expr.Ref } : undefined;
    }
    if (expr['Fn::GetAtt'] !== undefined) {
      const att = expr['Fn::GetAtt'];
      const id = Array.isArray(att) ? att[0] : String(att).split('.')[0];
      return typeof id === 'string' && t?.Resources[id] ? { stack, logicalId: id } : undefined;
    }
    const stackOutput = expr['Fn::GetStackOutput'];
    if (stackOutput) {
      const other = this.byStack.get(stackOutput.StackName);
      const output = other?.Outputs?.[stackOutput.OutputName];
      return output ? this.resolve(stackOutput.StackName, output.Value) : undefined;
    }
    const importName = expr['Fn::ImportValue'];
    if (typeof importName === 'string') {
      for (const [name, other] of this.byStack) {
        for (const output of Object.values(other.Outputs ?? {})) {
          if (output.Export?.Name === importName) return this.resolve(name, output.Value);
        }
      }
      return undefined;
    }
    const join = expr['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) {
      for (const part of join[1]) {
        const found = this.resolve(stack, part);
        if (found) return found;
      }
    }
    return undefined;
  }

  /**
   * An expression as the string CloudFormation would resolve it to, as far as the templates tell: pseudo parameters,
   * literal names and the ARN formats of the types below are filled in; a value only known at deploy time (a
   * generated name, an id) becomes a marker `⟨stack/logicalId.attribute⟩` that equals only itself and that only a
   * `*` of an ARN pattern matches. Follows Fn::GetStackOutput / Fn::ImportValue into the other template.
   */
  public render(stack: string, expr: Json): string {
    if (typeof expr === 'string') return expr;
    if (typeof expr === 'number' || typeof expr === 'boolean') return String(expr);
    if (expr === null || typeof expr !== 'object') return '⟨?⟩';
    if (typeof expr.Ref === 'string') return this.refValue(stack, expr.Ref);
    const att = expr['Fn::GetAtt'];
    if (att !== undefined) {
      const [id, attribute] = Array.isArray(att) ? att : String(att).split(/\.(.*)/);
      return this.attributeValue(stack, String(id), String(attribute));
    }
    const output = expr['Fn::GetStackOutput'];
    if (output) {
      const value = this.byStack.get(output.StackName)?.Outputs?.[output.OutputName]?.Value;
      return value === undefined ? '⟨?⟩' : this.render(output.StackName, value);
    }
    const importName = expr['Fn::ImportValue'];
    if (typeof importName === 'string') {
      for (const [name, other] of this.byStack) {
        for (const o of Object.values(other.Outputs ?? {})) {
          if (o.Export?.Name === importName) return this.render(name, o.Value);
        }
      }
      return '⟨?⟩';
    }
    const join = expr['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) {
      return join[1].map((part: Json) => this.render(stack, part)).join(String(join[0]));
    }
    const sub = expr['Fn::Sub'];
    if (sub !== undefined) {
      const [text, vars] = Array.isArray(sub) ? sub : [sub, {}];
      return String(text).replace(/\$\{([^}!]+)\}/g, (_m: string, name: string) => {
        if (vars[name] !== undefined) return this.render(stack, vars[name]);
        const [id, attribute] = name.split(/\.(.*)/);
        return attribute ? this.attributeValue(stack, String(id), attribute) : this.refValue(stack, name);
      });
    }
    return '⟨?⟩';
  }

  private refValue(stack: string, name: string): string {
    const env = this.environments.get(stack);
    const pseudo: Record<string, string | undefined> = {
      'AWS::AccountId': env?.account,
      'AWS::Region': env?.region,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack,
      'AWS::NoValue': '',
    };
    if (name in pseudo) return pseudo[name] ?? '⟨?⟩';
    const r = this.byStack.get(stack)?.Resources[name];
    const p = r?.Properties ?? {};
    switch (r?.Type) {
      case 'AWS::SNS::Topic':
      case 'AWS::StepFunctions::StateMachine':
        return this.attributeValue(stack, name, 'Arn');
      case 'AWS::Events::EventBus':
        return p.Name !== undefined ? this.render(stack, p.Name) : `⟨${stack}/${name}.Ref⟩`;
      default:
        return `⟨${stack}/${name}.Ref⟩`;
    }
  }

  private attributeValue(stack: string, id: string, attribute: string): string {
    const r = this.byStack.get(stack)?.Resources[id];
    const marker = `⟨${stack}/${id}.${attribute}⟩`;
    if (!r || attribute !== 'Arn') return marker;
    const p = r.Properties ?? {};
    const env = this.environments.get(stack);
    const arn = (service: string, resource: string) => `arn:aws:${service}:${env?.region}:${env?.account}:${resource}`;
    const name = (property: string) =>
      p[property] !== undefined ? this.render(stack, p[property]) : `⟨${stack}/${id}.Name⟩`;
    switch (r.Type) {
      case 'AWS::SQS::Queue':
        return arn('sqs', name('QueueName'));
      case 'AWS::SNS::Topic':
        return arn('sns', name('TopicName'));
      case 'AWS::Events::EventBus':
        return arn('events', `event-bus/${name('Name')}`);
      case 'AWS::Events::Rule': {
        // A rule on a custom bus is named `rule/<bus name>/<rule name>`, on the default bus `rule/<rule name>`.
        const bus = p.EventBusName === undefined ? 'default' : this.render(stack, p.EventBusName);
        const busName = bus.startsWith('arn:') ? bus.replace(/^.*:event-bus\//, '') : bus;
        return arn('events', `rule/${busName === 'default' ? '' : `${busName}/`}${name('Name')}`);
      }
      case 'AWS::Logs::LogGroup':
        return arn('logs', `log-group:${name('LogGroupName')}:*`);
      case 'AWS::CloudWatch::Alarm':
        return arn('cloudwatch', `alarm:${name('AlarmName')}`);
      case 'AWS::KMS::Key':
        return arn('kms', `key/⟨${stack}/${id}.Ref⟩`);
      case 'AWS::Lambda::Function':
        return arn('lambda', `function:${name('FunctionName')}`);
      default:
        return marker;
    }
  }

  /** Whether `expr` (in `stack`) points at `target`. */
  public pointsAt(stack: string, expr: Json, target: ResourceRef): boolean {
    const found = this.resolve(stack, expr);
    return found !== undefined && refKey(found) === refKey(target);
  }
}

/** One Allow statement that applies to a role, and where it was found. */
export interface RoleStatement {
  readonly actions: readonly string[];
  /** Raw Resource entries (template expressions) and the stack they are written in. */
  readonly resources: readonly Json[];
  readonly stack: string;
  /** e.g. `inline policy Dev-Services/ScoreRoleDefaultPolicy…` or `managed policy Dev-Data/GroundTruthWritePolicy…`. */
  readonly source: string;
  /** Set when the statement uses NotAction/NotResource: it grants an open-ended set the proof cannot list. */
  readonly openEnded?: string;
}

/** What a role's policies allow; `unresolved` names managed policies whose document is not in the templates. */
export interface RoleGrants {
  readonly statements: readonly RoleStatement[];
  readonly unresolved: readonly string[];
}

function statementsOf(document: Json, stack: string, source: string): RoleStatement[] {
  const out: RoleStatement[] = [];
  for (const s of [document?.Statement ?? []].flat() as Json[]) {
    if (s.Effect !== 'Allow') continue;
    const openEnded = s.NotAction !== undefined ? 'NotAction' : s.NotResource !== undefined ? 'NotResource' : undefined;
    out.push({
      actions: [s.Action ?? s.NotAction ?? []].flat() as string[],
      resources: [s.Resource ?? s.NotResource ?? []].flat(),
      stack,
      source,
      ...(openEnded ? { openEnded } : {}),
    });
  }
  return out;
}

/** Every Allow statement of the role: its inline Policies, AWS::IAM::Policy and ManagedPolicy resources naming it. */
export function grantsOfRole(templates: StageTemplates, role: ResourceRef): RoleGrants {
  const roleResource = templates.resource(role);
  if (roleResource?.Type !== 'AWS::IAM::Role') throw new Error(`${refKey(role)} is not an AWS::IAM::Role`);
  const statements: RoleStatement[] = [];
  const unresolved: string[] = [];
  const props = roleResource.Properties ?? {};
  for (const p of (props.Policies ?? []) as Json[]) {
    statements.push(...statementsOf(p.PolicyDocument, role.stack, `role policy ${refKey(role)}/${p.PolicyName}`));
  }
  const attached = new Set<string>();
  for (const arn of (props.ManagedPolicyArns ?? []) as Json[]) {
    const ref = templates.resolve(role.stack, arn);
    const policy = ref && templates.resource(ref);
    if (!ref || policy?.Type !== 'AWS::IAM::ManagedPolicy') {
      unresolved.push(typeof arn === 'string' ? arn : JSON.stringify(arn));
      continue;
    }
    attached.add(refKey(ref));
    statements.push(...statementsOf(policy.Properties?.PolicyDocument, ref.stack, `managed policy ${refKey(ref)}`));
  }
  for (const [stack, template] of templates.byStack) {
    for (const [logicalId, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
      const roles = (r.Properties?.Roles ?? []) as Json[];
      if (!roles.some((expr) => templates.pointsAt(stack, expr, role))) continue;
      const key = `${stack}/${logicalId}`;
      if (attached.has(key)) continue;
      const kind = r.Type === 'AWS::IAM::Policy' ? 'inline policy' : 'managed policy';
      statements.push(...statementsOf(r.Properties?.PolicyDocument, stack, `${kind} ${key}`));
    }
  }
  return { statements, unresolved };
}

/** Whether an IAM action pattern (`s3:Get*`, `*`) covers an action; IAM action names are case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(action);
}

/**
 * The customer-managed KMS key encrypting a resource at rest when the caller's own credentials use it (DynamoDB,
 * Kinesis, SNS, SQS, S3 with SSE-KMS), or undefined: no key, an AWS-managed key, or a service that uses the key
 * under its own grant or key policy: an EventBridge bus (the key policy lets events.amazonaws.com use it) or a
 * Firehose stream (Firehose creates its own grant), whose PutEvents/PutRecord callers need no key grant.
 */
export function callerKeyOf(templates: StageTemplates, ref: ResourceRef): ResourceRef | undefined {
  const r = templates.resource(ref);
  const p = r?.Properties ?? {};
  let key: Json;
  switch (r?.Type) {
    case 'AWS::DynamoDB::Table':
      if (p.SSESpecification?.SSEEnabled && p.SSESpecification?.SSEType === 'KMS')
        key = p.SSESpecification.KMSMasterKeyId;
      break;
    case 'AWS::Kinesis::Stream':
      if (p.StreamEncryption?.EncryptionType === 'KMS') key = p.StreamEncryption.KeyId;
      break;
    case 'AWS::SNS::Topic':
    case 'AWS::SQS::Queue':
      key = p.KmsMasterKeyId;
      break;
    case 'AWS::S3::Bucket':
      for (const rule of (p.BucketEncryption?.ServerSideEncryptionConfiguration ?? []) as Json[]) {
        const d = rule.ServerSideEncryptionByDefault;
        if (d && String(d.SSEAlgorithm).startsWith('aws:kms')) key = d.KMSMasterKeyID;
      }
      break;
    default:
      return undefined;
  }
  if (key === undefined) return undefined;
  const found = templates.resolve(ref.stack, key);
  return found && templates.resource(found)?.Type === 'AWS::KMS::Key' ? found : undefined;
}
