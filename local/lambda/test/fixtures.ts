// Test fixtures: small LocalTemplates (hand-made handlers in a temp dir, or resources of the synthesized dev template).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LocalEndpoints, LocalResource, LocalTemplate } from '../../types.js';

export const ACCOUNT = '111111111111';
export const REGION = 'eu-west-1';
export const DEV_ASSEMBLY = resolve('cdk.out/assembly-Dev');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `aims-${prefix}-`));
}

export function functionArn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
}

/** A LocalTemplate over the given resources, with the lookups the real loader offers. */
export function makeTemplate(resources: LocalResource[], assemblyDir: string): LocalTemplate {
  return {
    stageName: 'Dev',
    account: ACCOUNT,
    region: REGION,
    assemblyDir,
    resources,
    ofType: (type) => resources.filter((r) => r.type === type),
    byArn: (arn) => resources.find((r) => Object.values(r.attributes).includes(arn) || r.ref === arn),
  };
}

export interface TestFunction {
  readonly name: string;
  /** ESM source of `index.mjs`. */
  readonly source: string;
  readonly handler?: string;
  readonly timeout?: number;
  readonly memorySize?: number;
  readonly env?: Record<string, string>;
}

/** Writes each function's source as an asset folder under `assemblyDir` and returns its resource. */
export function functionResource(assemblyDir: string, fn: TestFunction): LocalResource {
  const assetName = `asset.${fn.name}`;
  const dir = join(assemblyDir, '..', assetName);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.mjs'), fn.source);
  return {
    stackName: 'Dev-Services',
    logicalId: `${fn.name}Function0000`,
    type: 'AWS::Lambda::Function',
    properties: {
      Handler: fn.handler ?? 'index.handler',
      Runtime: 'nodejs24.x',
      Timeout: fn.timeout ?? 3,
      MemorySize: fn.memorySize ?? 256,
      Role: `arn:aws:iam::${ACCOUNT}:role/${fn.name}Role`,
      Environment: { Variables: fn.env ?? {} },
    },
    metadata: { 'aws:asset:path': `../${assetName}` },
    ref: fn.name,
    attributes: { Arn: functionArn(fn.name) },
  };
}

/** Endpoints nobody listens on: functions that make no AWS calls still get a complete environment. */
export function closedEndpoints(): LocalEndpoints {
  const closed = 'http://127.0.0.1:9';
  return {
    dynamodb: closed,
    kinesis: closed,
    s3: closed,
    eventbridge: closed,
    firehose: closed,
    sns: closed,
    sqs: closed,
    sagemakerRuntime: closed,
  };
}

interface RawResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/** The raw resources of one stack of the synthesized dev stage (by stack-name prefix, e.g. `DevServices`). */
export function devTemplate(prefix: string): {
  Resources: Record<string, RawResource>;
  Outputs?: Record<string, { Value: unknown }>;
} {
  const file = readdirSync(DEV_ASSEMBLY).find((f) => f.startsWith(prefix) && f.endsWith('.template.json'));
  if (!file) throw new Error(`no ${prefix}*.template.json in ${DEV_ASSEMBLY}: run npm run synth once`);
  return JSON.parse(readFileSync(join(DEV_ASSEMBLY, file), 'utf8'));
}

export function devStack(prefix: string): Record<string, RawResource> {
  return devTemplate(prefix).Resources;
}

/** A crude stand-in for the template loader, enough for the runtime tests: intrinsics become the given values. */
export function resolveCrudely(value: unknown, values: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveCrudely(v, values));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key && (key === 'Ref' || key.startsWith('Fn::'))) {
      const id =
        key === 'Ref'
          ? String(arg)
          : key === 'Fn::GetAtt'
            ? (arg as string[]).join('.')
            : key === 'Fn::GetStackOutput'
              ? (arg as { OutputName: string }).OutputName
              : JSON.stringify(arg);
      return values[id] ?? `local-${id}`;
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolveCrudely(v, values)]));
  }
  return value;
}

/** The dev template's function whose logical id starts with `prefix`, as a LocalResource. */
export function devFunction(prefix: string, name: string, values: Record<string, string> = {}): LocalResource {
  const resources = devStack('DevServices');
  const entry = Object.entries(resources).find(
    ([id, r]) => id.startsWith(prefix) && r.Type === 'AWS::Lambda::Function',
  );
  if (!entry) throw new Error(`no function ${prefix}* in the dev template`);
  const [logicalId, raw] = entry;
  return {
    stackName: 'Dev-Services',
    logicalId,
    type: raw.Type,
    properties: resolveCrudely(raw.Properties ?? {}, values) as Record<string, unknown>,
    metadata: raw.Metadata ?? {},
    ref: name,
    attributes: { Arn: functionArn(name) },
  };
}
