// Reads a stage's cloud assembly and resolves every CloudFormation intrinsic to the local stage's values.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RESOURCE_SUPPORT } from '../fidelity.js';
import type { LocalEndpoints, LocalResource, LocalTemplate } from '../types.js';
import { type Identity, localIdentity } from './naming.js';

export interface LoadLocalTemplateOptions {
  /** `cdk.out` (the stage's nested assembly is found by `stageName`) or the stage's own assembly directory. */
  readonly assemblyDir: string;
  /** The stage's display name, e.g. `Dev`. */
  readonly stageName: string;
  /** Live endpoints of the local servers; queue URLs use `endpoints.sqs`.
   *  @default - queue URLs start with `http://sqs.invalid` (a reserved name that never resolves) */
  readonly endpoints?: Partial<LocalEndpoints>;
  /** Base URL of the local API server, which hosts the local Cognito issuer.
   *  @default 'http://127.0.0.1:3000' */
  readonly apiBaseUrl?: string;
}

export const DEFAULT_API_BASE_URL = 'http://127.0.0.1:3000';
export const UNSET_SQS_BASE_URL = 'http://sqs.invalid';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface StackTemplate {
  readonly stackName: string;
  readonly artifactId: string;
  readonly region: string;
  readonly account: string;
  readonly resources: Readonly<Record<string, JsonObject>>;
  readonly outputs: Readonly<Record<string, JsonObject>>;
  readonly parameters: Readonly<Record<string, JsonObject>>;
  readonly conditions: Readonly<Record<string, Json>>;
  readonly mappings: Readonly<Record<string, Json>>;
}

/** Thrown for anything the local stage cannot resolve; the message names the stack, resource and what failed. */
export class TemplateResolutionError extends Error {
  override readonly name = 'TemplateResolutionError';
}

const NO_VALUE: unique symbol = Symbol('AWS::NoValue');
type Resolved = Json | typeof NO_VALUE;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readJson(path: string): JsonObject {
  if (!existsSync(path)) throw new TemplateResolutionError(`missing ${path}: run \`npm run synth\` first`);
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!isObject(parsed)) throw new TemplateResolutionError(`${path} is not a JSON object`);
  return parsed;
}

/** The stage's own assembly directory: `assemblyDir` itself, or its nested `cdk:cloud-assembly` named `stageName`. */
export function stageAssemblyDir(assemblyDir: string, stageName: string): string {
  const manifest = readJson(join(assemblyDir, 'manifest.json'));
  const artifacts = isObject(manifest.artifacts) ? manifest.artifacts : {};
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (!isObject(artifact) || artifact.type !== 'cdk:cloud-assembly') continue;
    const props = isObject(artifact.properties) ? artifact.properties : {};
    if (props.displayName === stageName || id === `assembly-${stageName}`) {
      const directory = typeof props.directoryName === 'string' ? props.directoryName : id;
      return resolve(assemblyDir, directory);
    }
  }
  const hasStacks = Object.values(artifacts).some((a) => isObject(a) && a.type === 'aws:cloudformation:stack');
  if (!hasStacks) {
    throw new TemplateResolutionError(`no stage "${stageName}" in ${assemblyDir} (and no stacks of its own)`);
  }
  return resolve(assemblyDir);
}

function readStacks(dir: string): StackTemplate[] {
  const manifest = readJson(join(dir, 'manifest.json'));
  const artifacts = isObject(manifest.artifacts) ? manifest.artifacts : {};
  const stacks: StackTemplate[] = [];
  for (const [artifactId, artifact] of Object.entries(artifacts)) {
    if (!isObject(artifact) || artifact.type !== 'aws:cloudformation:stack') continue;
    const props = isObject(artifact.properties) ? artifact.properties : {};
    const environment = typeof artifact.environment === 'string' ? artifact.environment : '';
    const match = /^aws:\/\/(\d{12})\/([a-z0-9-]+)$/.exec(environment);
    if (!match?.[1] || !match[2]) {
      throw new TemplateResolutionError(
        `stack artifact ${artifactId} has environment "${environment}": the local stage needs an explicit account and region`,
      );
    }
    if (typeof props.templateFile !== 'string') {
      throw new TemplateResolutionError(`stack artifact ${artifactId} has no templateFile`);
    }
    const template = readJson(join(dir, props.templateFile));
    const section = (key: string): Record<string, JsonObject> => {
      const value = template[key];
      const out: Record<string, JsonObject> = {};
      if (isObject(value)) for (const [k, v] of Object.entries(value)) if (isObject(v)) out[k] = v;
      return out;
    };
    stacks.push({
      stackName: typeof props.stackName === 'string' ? props.stackName : artifactId,
      artifactId,
      account: match[1],
      region: match[2],
      resources: section('Resources'),
      outputs: section('Outputs'),
      parameters: section('Parameters'),
      conditions: isObject(template.Conditions) ? template.Conditions : {},
      mappings: isObject(template.Mappings) ? template.Mappings : {},
    });
  }
  if (stacks.length === 0) throw new TemplateResolutionError(`no CloudFormation stacks in ${dir}`);
  return stacks;
}

class Resolver {
  private readonly stacks = new Map<string, StackTemplate>();
  private readonly identities = new Map<string, Identity>();
  private readonly inProgress = new Set<string>();

  constructor(
    stacks: readonly StackTemplate[],
    private readonly stageName: string,
    private readonly sqsBaseUrl: string,
    private readonly apiBaseUrl: string,
  ) {
    for (const stack of stacks) this.stacks.set(stack.stackName, stack);
  }

  identity(stack: StackTemplate, logicalId: string): Identity {
    const key = `${stack.stackName}/${logicalId}`;
    const cached = this.identities.get(key);
    if (cached) return cached;
    const resource = stack.resources[logicalId];
    if (!resource) throw new TemplateResolutionError(`${stack.stackName}: no resource or parameter named ${logicalId}`);
    if (this.inProgress.has(key)) {
      throw new TemplateResolutionError(`${key}: its name depends on itself (circular reference)`);
    }
    this.inProgress.add(key);
    try {
      const type = typeof resource.Type === 'string' ? resource.Type : 'Unknown';
      const properties = isObject(resource.Properties) ? resource.Properties : {};
      const identity = localIdentity({
        stageName: this.stageName,
        stackName: stack.stackName,
        logicalId,
        type,
        account: stack.account,
        region: stack.region,
        sqsBaseUrl: this.sqsBaseUrl,
        apiBaseUrl: this.apiBaseUrl,
        prop: (name) => {
          if (!(name in properties)) return undefined;
          const value = this.resolve(properties[name] ?? null, stack, `${logicalId}.Properties.${name}`);
          return value === NO_VALUE ? undefined : value;
        },
      });
      this.identities.set(key, identity);
      return identity;
    } finally {
      this.inProgress.delete(key);
    }
  }

  resolve(value: Json, stack: StackTemplate, where: string): Resolved {
    if (Array.isArray(value)) {
      const out: Json[] = [];
      value.forEach((item, i) => {
        const resolved = this.resolve(item, stack, `${where}[${i}]`);
        if (resolved !== NO_VALUE) out.push(resolved);
      });
      return out;
    }
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    const only = keys.length === 1 ? keys[0] : undefined;
    if (only !== undefined && (only === 'Ref' || only.startsWith('Fn::') || only === 'Condition')) {
      return this.intrinsic(only, value[only] ?? null, stack, where);
    }
    const out: JsonObject = {};
    for (const key of keys) {
      const resolved = this.resolve(value[key] ?? null, stack, `${where}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  private fail(stack: StackTemplate, where: string, message: string): never {
    throw new TemplateResolutionError(`${stack.stackName}/${where}: ${message}`);
  }

  private str(value: Json, stack: StackTemplate, where: string, what: string): string {
    const resolved = this.resolve(value, stack, where);
    if (typeof resolved === 'string') return resolved;
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    return this.fail(stack, where, `${what} must resolve to a string, got ${JSON.stringify(resolved)}`);
  }

  private list(value: Json, stack: StackTemplate, where: string, what: string): Json[] {
    const resolved = this.resolve(value, stack, where);
    if (Array.isArray(resolved)) return resolved;
    return this.fail(stack, where, `${what} must resolve to a list, got ${JSON.stringify(resolved)}`);
  }

  private pseudo(name: string, stack: StackTemplate): Resolved | undefined {
    switch (name) {
      case 'AWS::Region':
        return stack.region;
      case 'AWS::AccountId':
        return stack.account;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${stack.region}:${stack.account}:stack/${stack.stackName}/00000000-0000-4000-8000-000000000000`;
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        return undefined;
    }
  }

  ref(name: string, stack: StackTemplate, where: string): Resolved {
    const pseudo = this.pseudo(name, stack);
    if (pseudo !== undefined) return pseudo;
    const parameter = stack.parameters[name];
    if (parameter) {
      if (parameter.Default === undefined) this.fail(stack, where, `parameter ${name} has no Default to use locally`);
      return parameter.Default ?? null;
    }
    if (!stack.resources[name]) this.fail(stack, where, `Ref to unknown resource or parameter ${name}`);
    return this.identity(stack, name).ref;
  }

  getAtt(logicalId: string, attribute: string, stack: StackTemplate, where: string): string {
    const resource = stack.resources[logicalId];
    if (!resource) return this.fail(stack, where, `Fn::GetAtt of unknown resource ${logicalId}`);
    const value = this.identity(stack, logicalId).attributes[attribute];
    if (value === undefined) {
      return this.fail(
        stack,
        where,
        `attribute ${attribute} of ${logicalId} (${String(resource.Type)}) has no local value; ` +
          'add it to local/template/naming.ts',
      );
    }
    return value;
  }

  private condition(name: string, stack: StackTemplate, where: string): boolean {
    if (!(name in stack.conditions)) this.fail(stack, where, `unknown condition ${name}`);
    const value = this.resolve(stack.conditions[name] ?? null, stack, `Conditions.${name}`);
    if (typeof value !== 'boolean') this.fail(stack, where, `condition ${name} is not a boolean`);
    return value;
  }

  private intrinsic(fn: string, arg: Json, stack: StackTemplate, where: string): Resolved {
    const at = `${where}{${fn}}`;
    switch (fn) {
      case 'Ref':
        return this.ref(this.str(arg, stack, at, 'Ref'), stack, at);
      case 'Fn::GetAtt': {
        const parts =
          typeof arg === 'string'
            ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)]
            : this.list(arg, stack, at, 'Fn::GetAtt');
        const [logicalId, attribute] = parts;
        if (typeof logicalId !== 'string' || typeof attribute !== 'string' || !logicalId) {
          return this.fail(stack, at, `malformed Fn::GetAtt ${JSON.stringify(arg)}`);
        }
        return this.getAtt(logicalId, attribute, stack, at);
      }
      case 'Fn::Join': {
        const [delimiter, items] = Array.isArray(arg) ? arg : [];
        if (typeof delimiter !== 'string') return this.fail(stack, at, 'Fn::Join needs [delimiter, list]');
        return this.list(items ?? null, stack, at, 'Fn::Join list')
          .map((item) => (typeof item === 'string' || typeof item === 'number' ? String(item) : JSON.stringify(item)))
          .join(delimiter);
      }
      case 'Fn::Select': {
        const [index, items] = Array.isArray(arg) ? arg : [];
        const i = Number(this.resolve(index ?? null, stack, at));
        const list = this.list(items ?? null, stack, at, 'Fn::Select list');
        if (!Number.isInteger(i) || i < 0 || i >= list.length) {
          return this.fail(stack, at, `Fn::Select index ${String(index)} out of range for ${list.length} items`);
        }
        return list[i] ?? null;
      }
      case 'Fn::Split': {
        const [delimiter, source] = Array.isArray(arg) ? arg : [];
        if (typeof delimiter !== 'string') return this.fail(stack, at, 'Fn::Split needs [delimiter, string]');
        return this.str(source ?? null, stack, at, 'Fn::Split source').split(delimiter);
      }
      case 'Fn::Sub':
        return this.sub(arg, stack, at);
      case 'Fn::GetStackOutput':
        return this.stackOutput(arg, stack, at);
      case 'Fn::ImportValue':
        return this.importValue(this.str(arg, stack, at, 'Fn::ImportValue'), stack, at);
      case 'Fn::Base64':
        return Buffer.from(this.str(arg, stack, at, 'Fn::Base64'), 'utf8').toString('base64');
      case 'Fn::GetAZs': {
        const region = this.str(arg, stack, at, 'Fn::GetAZs') || stack.region;
        return [`${region}a`, `${region}b`, `${region}c`];
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = this.list(arg, stack, at, 'Fn::FindInMap');
        const level1 = stack.mappings[String(map)];
        const level2 = isObject(level1) ? level1[String(top)] : undefined;
        const value = isObject(level2) ? level2[String(second)] : undefined;
        if (value === undefined)
          return this.fail(stack, at, `no mapping ${String(map)}.${String(top)}.${String(second)}`);
        return value;
      }
      case 'Fn::ToJsonString':
        return JSON.stringify(this.resolve(arg, stack, at));
      case 'Fn::Length':
        return this.list(arg, stack, at, 'Fn::Length').length;
      case 'Condition':
        return this.condition(this.str(arg, stack, at, 'Condition'), stack, at);
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = Array.isArray(arg) ? arg : [];
        const chosen = this.condition(String(name), stack, at) ? whenTrue : whenFalse;
        return this.resolve(chosen ?? null, stack, at);
      }
      case 'Fn::Equals': {
        const [a, b] = this.list(arg, stack, at, 'Fn::Equals');
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::Not': {
        const [a] = this.list(arg, stack, at, 'Fn::Not');
        return a !== true;
      }
      case 'Fn::And':
        return this.list(arg, stack, at, 'Fn::And').every((v) => v === true);
      case 'Fn::Or':
        return this.list(arg, stack, at, 'Fn::Or').some((v) => v === true);
      default:
        return this.fail(stack, at, `intrinsic ${fn} is not supported by the local stage`);
    }
  }

  private sub(arg: Json, stack: StackTemplate, at: string): string {
    const [template, vars] = typeof arg === 'string' ? [arg, {}] : Array.isArray(arg) ? arg : [];
    if (typeof template !== 'string') return this.fail(stack, at, 'Fn::Sub needs a string or [string, variables]');
    const variables = isObject(vars) ? vars : {};
    return template.replace(/\$\{([^}]+)\}/g, (_match, expression: string) => {
      if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
      if (expression in variables)
        return this.str(variables[expression] ?? null, stack, `${at}.${expression}`, expression);
      const dot = expression.indexOf('.');
      if (dot > 0 && !expression.startsWith('AWS::')) {
        return this.getAtt(expression.slice(0, dot), expression.slice(dot + 1), stack, at);
      }
      const value = this.ref(expression, stack, at);
      return typeof value === 'string' ? value : JSON.stringify(value);
    });
  }

  private stackOutput(arg: Json, stack: StackTemplate, at: string): Resolved {
    const spec = this.resolve(arg, stack, at);
    if (!isObject(spec) || typeof spec.StackName !== 'string' || typeof spec.OutputName !== 'string') {
      return this.fail(stack, at, 'Fn::GetStackOutput needs {StackName, OutputName}');
    }
    const producer = this.stacks.get(spec.StackName);
    if (!producer) return this.fail(stack, at, `Fn::GetStackOutput: no stack ${spec.StackName} in this stage`);
    if (typeof spec.Region === 'string' && spec.Region !== producer.region) {
      return this.fail(stack, at, `Fn::GetStackOutput: ${spec.StackName} is in ${producer.region}, not ${spec.Region}`);
    }
    const output = producer.outputs[spec.OutputName];
    if (!output) return this.fail(stack, at, `Fn::GetStackOutput: ${spec.StackName} has no output ${spec.OutputName}`);
    return this.resolve(output.Value ?? null, producer, `Outputs.${spec.OutputName}`);
  }

  private importValue(exportName: string, stack: StackTemplate, at: string): Resolved {
    for (const producer of this.stacks.values()) {
      for (const [outputName, output] of Object.entries(producer.outputs)) {
        const exported = isObject(output.Export) ? output.Export.Name : undefined;
        if (exported === undefined) continue;
        if (this.resolve(exported, producer, `Outputs.${outputName}.Export.Name`) === exportName) {
          return this.resolve(output.Value ?? null, producer, `Outputs.${outputName}`);
        }
      }
    }
    return this.fail(stack, at, `Fn::ImportValue: no stack of this stage exports ${exportName}`);
  }
}

/** Unwraps an API Gateway integration URI (`…/functions/<function arn>/invocations`) to the ARN it invokes. */
function invokedArnOf(arn: string): string {
  return /\/functions\/(arn:aws:lambda:[^/]+)\/invocations$/.exec(arn)?.[1] ?? arn;
}

/** A function ARN split into the unqualified ARN and its qualifier (a version, `$LATEST` or an alias name), if any. */
function functionArnOf(arn: string): { readonly function: string; readonly qualifier?: string } | undefined {
  const match = /^(arn:aws:lambda:[^:]+:\d{12}:function:[^:]+)(?::([^:]+))?$/.exec(arn);
  if (!match?.[1]) return undefined;
  return match[2] === undefined ? { function: match[1] } : { function: match[1], qualifier: match[2] };
}

/**
 * The account and region the local stage runs: the one region whose stacks hold something it runs. A stage may also
 * have stacks in other regions of its account when they hold only what exists in the cloud alone (the console's web
 * ACL must be in us-east-1 for CloudFront): they are read for their outputs, as CloudFormation reads them.
 */
function homeOf(stacks: readonly StackTemplate[], stageName: string, dir: string): StackTemplate {
  const first = stacks[0];
  if (!first) throw new TemplateResolutionError(`no stacks in ${dir}`);
  const runsHere = (stack: StackTemplate) =>
    Object.values(stack.resources).some((r) => {
      const support = typeof r.Type === 'string' ? RESOURCE_SUPPORT[r.Type] : undefined;
      return support === undefined || 'local' in support;
    });
  const homes = stacks.filter(runsHere);
  const home = homes[0] ?? first;
  for (const stack of stacks) {
    if (stack.account !== home.account) {
      throw new TemplateResolutionError(
        `stage ${stageName} spans accounts ${home.account} and ${stack.account}; the local stage runs one account`,
      );
    }
    if (stack.region !== home.region && runsHere(stack)) {
      throw new TemplateResolutionError(
        `stage ${stageName} runs resources in ${home.region} (${home.stackName}) and ${stack.region} ` +
          `(${stack.stackName}); the local stage runs one region, and only stacks of cloud-only resources ` +
          '(local/fidelity.ts) may be elsewhere',
      );
    }
  }
  return home;
}

/** Loads the stage's synthesized stacks with every intrinsic resolved to local values (see ./index.ts for names). */
export function loadLocalTemplate(options: LoadLocalTemplateOptions): LocalTemplate {
  const dir = stageAssemblyDir(options.assemblyDir, options.stageName);
  const stacks = readStacks(dir);
  const home = homeOf(stacks, options.stageName, dir);
  const resolver = new Resolver(
    stacks,
    options.stageName,
    (options.endpoints?.sqs ?? UNSET_SQS_BASE_URL).replace(/\/+$/, ''),
    options.apiBaseUrl ?? DEFAULT_API_BASE_URL,
  );

  const resources: LocalResource[] = [];
  for (const stack of stacks) {
    for (const [logicalId, raw] of Object.entries(stack.resources)) {
      const type = typeof raw.Type === 'string' ? raw.Type : 'Unknown';
      const metadata = isObject(raw.Metadata) ? raw.Metadata : {};
      const resolved = resolver.resolve(
        isObject(raw.Properties) ? raw.Properties : {},
        stack,
        `${logicalId}.Properties`,
      );
      const identity = resolver.identity(stack, logicalId);
      const path = metadata['aws:cdk:path'];
      resources.push({
        stackName: stack.stackName,
        logicalId,
        ...(typeof path === 'string' ? { path } : {}),
        type,
        properties: isObject(resolved) ? resolved : {},
        metadata,
        ref: identity.ref,
        attributes: identity.attributes,
      });
    }
  }

  // A version or alias is invoked as its function: its ARN (`…:function:<name>:<qualifier>`) maps to the function,
  // never to the AWS::Lambda::Alias / Version resource, so every caller (API, bus, poller) reaches the same worker.
  const QUALIFIERS = new Set(['AWS::Lambda::Alias', 'AWS::Lambda::Version']);
  const byArn = new Map<string, LocalResource>();
  const functionsByName = new Map<string, LocalResource>();
  for (const resource of resources) {
    if (QUALIFIERS.has(resource.type)) continue;
    for (const value of [resource.ref, ...Object.values(resource.attributes)]) {
      if (value.startsWith('arn:') && !byArn.has(value)) byArn.set(value, resource);
    }
    if (resource.type === 'AWS::Lambda::Function') functionsByName.set(resource.ref, resource);
  }
  // Aliases the template declares, by their qualified ARN: Lambda refuses an alias that does not exist, and so do we.
  const aliases = new Set(resources.filter((r) => r.type === 'AWS::Lambda::Alias').map((r) => r.ref));

  const lookup = (arn: string): LocalResource | undefined => {
    const direct = byArn.get(arn) ?? functionsByName.get(arn);
    if (direct) return direct;
    const invoked = invokedArnOf(arn);
    const parsed = functionArnOf(invoked);
    if (!parsed) return invoked === arn ? undefined : byArn.get(invoked);
    const fn = byArn.get(parsed.function);
    if (fn?.type !== 'AWS::Lambda::Function' || parsed.qualifier === undefined) return fn;
    // Versions are numbered and `$LATEST` always exists; any other qualifier must be one of the template's aliases.
    if (parsed.qualifier === '$LATEST' || /^\d+$/.test(parsed.qualifier) || aliases.has(invoked)) return fn;
    return undefined;
  };

  return {
    stageName: options.stageName,
    account: home.account,
    region: home.region,
    assemblyDir: dir,
    resources,
    ofType: (type) => resources.filter((r) => r.type === type),
    byArn: lookup,
  };
}
