// Reads every AWS::Lambda::Function of the local template into what a worker needs: bundle, handler, limits, env.
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { LocalResource, LocalTemplate } from '../types.js';

/** One template function, ready to run in a worker. */
export interface LocalFunctionDefinition {
  readonly logicalId: string;
  readonly stackName: string;
  /** The local function name (`Ref` of the resource). */
  readonly name: string;
  readonly arn: string;
  /** `Handler` as the template gives it, e.g. `index.handler`. */
  readonly handler: string;
  /** Absolute path of the module file the handler names. */
  readonly modulePath: string;
  /** The export of that module to call. */
  readonly exportName: string;
  /** `Timeout` in seconds (Lambda's default: 3). */
  readonly timeoutSeconds: number;
  /** `MemorySize` in MB (Lambda's default: 128). */
  readonly memorySize: number;
  /** `ReservedConcurrentExecutions`, when the template sets it. */
  readonly reservedConcurrency?: number;
  /** The resolved `Environment.Variables`. */
  readonly environment: Readonly<Record<string, string>>;
  /** The execution role's ARN (Kinesis events carry it as `invokeIdentityArn`). */
  readonly roleArn: string;
  readonly logGroupName: string;
}

const MODULE_EXTENSIONS = ['.mjs', '.js', '.cjs'];

function stringProperty(resource: LocalResource, key: string): string | undefined {
  const value = resource.properties[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new Error(
      `${resource.stackName}/${resource.logicalId}: ${key} resolved to ${JSON.stringify(value)}, not a string`,
    );
  }
  return value;
}

function numberProperty(resource: LocalResource, key: string): number | undefined {
  const value = resource.properties[key];
  if (value === undefined) return undefined;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new Error(`${resource.stackName}/${resource.logicalId}: ${key} is ${JSON.stringify(value)}, not a number`);
  }
  return n;
}

function environmentOf(resource: LocalResource): Record<string, string> {
  const env = resource.properties.Environment as { Variables?: Record<string, unknown> } | undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env?.Variables ?? {})) {
    if (typeof value !== 'string') {
      throw new Error(
        `${resource.stackName}/${resource.logicalId}: environment variable ${key} resolved to ${JSON.stringify(value)}, ` +
          'not a string (an intrinsic the template loader left unresolved?)',
      );
    }
    out[key] = value;
  }
  return out;
}

/** Splits `dir/file.export` into the module path (without extension) and the export name, as Lambda does. */
export function parseHandler(handler: string): { module: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  const slash = handler.lastIndexOf('/');
  if (dot <= 0 || dot < slash || dot === handler.length - 1) {
    throw new Error(`handler ${JSON.stringify(handler)} is not of the form <module>.<export>`);
  }
  return { module: handler.slice(0, dot), exportName: handler.slice(dot + 1) };
}

/** The function's bundle directory: the `aws:asset:path` metadata, relative to the assembly directory. */
function assetDirectory(template: LocalTemplate, resource: LocalResource): string {
  const assetPath = resource.metadata['aws:asset:path'];
  if (typeof assetPath !== 'string') {
    throw new Error(
      `${resource.stackName}/${resource.logicalId}: no aws:asset:path metadata, so its code cannot run locally ` +
        '(inline or S3-only code is not supported)',
    );
  }
  return isAbsolute(assetPath) ? assetPath : resolve(template.assemblyDir, assetPath);
}

/** Builds the definition of one `AWS::Lambda::Function` resource; throws naming the resource on anything missing. */
export function functionDefinition(template: LocalTemplate, resource: LocalResource): LocalFunctionDefinition {
  const handler = stringProperty(resource, 'Handler');
  if (!handler) throw new Error(`${resource.stackName}/${resource.logicalId}: no Handler property`);
  const runtime = stringProperty(resource, 'Runtime');
  if (runtime && !runtime.startsWith('nodejs')) {
    throw new Error(
      `${resource.stackName}/${resource.logicalId}: runtime ${runtime} cannot run locally (Node.js only)`,
    );
  }
  const { module, exportName } = parseHandler(handler);
  const dir = assetDirectory(template, resource);
  const base = join(dir, module);
  const modulePath = MODULE_EXTENSIONS.map((ext) => base + ext).find((file) => existsSync(file)) ?? `${base}.mjs`;
  const arn =
    resource.attributes.Arn ?? `arn:aws:lambda:${template.region}:${template.account}:function:${resource.ref}`;
  const logging = resource.properties.LoggingConfig as { LogGroup?: unknown } | undefined;
  const reserved = numberProperty(resource, 'ReservedConcurrentExecutions');
  return {
    logicalId: resource.logicalId,
    stackName: resource.stackName,
    name: resource.ref,
    arn,
    handler,
    modulePath,
    exportName,
    timeoutSeconds: numberProperty(resource, 'Timeout') ?? 3,
    memorySize: numberProperty(resource, 'MemorySize') ?? 128,
    ...(reserved === undefined ? {} : { reservedConcurrency: reserved }),
    environment: environmentOf(resource),
    roleArn: stringProperty(resource, 'Role') ?? `arn:aws:iam::${template.account}:role/${resource.ref}`,
    logGroupName: typeof logging?.LogGroup === 'string' ? logging.LogGroup : `/aws/lambda/${resource.ref}`,
  };
}

/**
 * The functions that only provide custom resources (their ARN is a `ServiceToken` and nothing else here invokes them):
 * CloudFormation runs them during a deploy; the local stage does their work itself (see local/fidelity.ts).
 */
export function customResourceProviders(template: LocalTemplate): Set<string> {
  const tokens = new Set(
    template.resources
      .filter((r) => r.type.startsWith('Custom::') || r.type === 'AWS::CloudFormation::CustomResource')
      .map((r) => String(r.properties.ServiceToken)),
  );
  return new Set(
    template
      .ofType('AWS::Lambda::Function')
      .filter((f) => f.attributes.Arn !== undefined && tokens.has(f.attributes.Arn))
      .map((f) => `${f.stackName}/${f.logicalId}`),
  );
}

/** Every function of the template the local stage runs (all but custom-resource providers). */
export function functionDefinitions(template: LocalTemplate): LocalFunctionDefinition[] {
  const providers = customResourceProviders(template);
  return template
    .ofType('AWS::Lambda::Function')
    .filter((resource) => !providers.has(`${resource.stackName}/${resource.logicalId}`))
    .map((resource) => functionDefinition(template, resource));
}

/**
 * The function name a target denotes: a name, a function ARN (optionally qualified), a partial ARN
 * (`function:name`), or an API Gateway integration URI wrapping a function ARN.
 */
export function functionNameOf(target: string): string {
  const integration = /:apigateway:[^:]*:lambda:path\/[^/]+\/functions\/(.+)\/invocations$/.exec(target);
  const arn = integration?.[1] ?? target;
  const match = /^(?:arn:[^:]+:lambda:[^:]*:[^:]*:)?function:([^:]+)(?::[^:]+)?$/.exec(arn);
  return match?.[1] ?? arn;
}
