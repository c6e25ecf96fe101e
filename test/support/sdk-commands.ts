// Lists the AWS SDK v3 commands a Lambda handler's code can send and maps each to the IAM action it needs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { build } from 'esbuild';
import { MODEL_MODULE_SPECIFIER, PROJECT_ROOT } from '../../lib/constructs/service-function.js';

/** One SDK command (or library call) the handler's code can send, with the IAM actions it needs. */
export interface SdkCommandUse {
  /** The command class, e.g. `GetCommand`; for a library, the export that sends (e.g. `DynamoDBPersistenceLayer`). */
  readonly command: string;
  /** The module it comes from, e.g. `@aws-sdk/lib-dynamodb`. */
  readonly module: string;
  /** IAM actions the call needs. */
  readonly actions: readonly string[];
  /** Why a library call counts (absent for the code's own commands). */
  readonly reason?: string;
}

export interface HandlerCommands {
  /** Entry module, relative to the repository root. */
  readonly entry: string;
  /** Exported handler name. */
  readonly handler: string;
  /** The repository's own files whose code reaches the handler (esbuild metafile, tree-shaken; no node_modules). */
  readonly sources: readonly string[];
  readonly uses: readonly SdkCommandUse[];
  /** Every IAM action the code needs, sorted. */
  readonly actions: readonly string[];
}

/** IAM service prefix of each SDK package whose commands are named after their IAM action (`XCommand` → `prefix:X`). */
const SAME_NAME_PREFIX: Readonly<Record<string, string>> = {
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/client-kinesis': 'kinesis',
  '@aws-sdk/client-firehose': 'firehose',
  '@aws-sdk/client-eventbridge': 'events',
  '@aws-sdk/client-sns': 'sns',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-ssm': 'ssm',
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-sagemaker': 'sagemaker',
  '@aws-sdk/client-cloudformation': 'cloudformation',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
  '@aws-sdk/client-lambda': 'lambda',
  '@aws-sdk/client-athena': 'athena',
  '@aws-sdk/client-kms': 'kms',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
};

/**
 * Commands whose IAM action differs from their name. S3 and the DynamoDB document client are listed in full: their
 * names do not follow a rule, so an unlisted command there is an error rather than a guess.
 */
const EXPLICIT: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  '@aws-sdk/lib-dynamodb': {
    GetCommand: ['dynamodb:GetItem'],
    PutCommand: ['dynamodb:PutItem'],
    UpdateCommand: ['dynamodb:UpdateItem'],
    DeleteCommand: ['dynamodb:DeleteItem'],
    QueryCommand: ['dynamodb:Query'],
    ScanCommand: ['dynamodb:Scan'],
    BatchGetCommand: ['dynamodb:BatchGetItem'],
    BatchWriteCommand: ['dynamodb:BatchWriteItem'],
    // Transactions are authorised per item action; the proof cannot see which, so it asks for every one.
    TransactGetCommand: ['dynamodb:GetItem'],
    TransactWriteCommand: [
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ],
  },
  '@aws-sdk/client-dynamodb': {
    TransactGetItemsCommand: ['dynamodb:GetItem'],
    TransactWriteItemsCommand: [
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ],
  },
  '@aws-sdk/client-s3': {
    GetObjectCommand: ['s3:GetObject'],
    HeadObjectCommand: ['s3:GetObject'],
    PutObjectCommand: ['s3:PutObject'],
    CopyObjectCommand: ['s3:GetObject', 's3:PutObject'],
    DeleteObjectCommand: ['s3:DeleteObject'],
    DeleteObjectsCommand: ['s3:DeleteObject'],
    ListObjectsCommand: ['s3:ListBucket'],
    ListObjectsV2Command: ['s3:ListBucket'],
    HeadBucketCommand: ['s3:ListBucket'],
    CreateMultipartUploadCommand: ['s3:PutObject'],
    UploadPartCommand: ['s3:PutObject'],
    CompleteMultipartUploadCommand: ['s3:PutObject'],
    AbortMultipartUploadCommand: ['s3:AbortMultipartUpload'],
  },
  '@aws-sdk/client-sagemaker-runtime': {
    InvokeEndpointCommand: ['sagemaker:InvokeEndpoint'],
    InvokeEndpointAsyncCommand: ['sagemaker:InvokeEndpointAsync'],
    InvokeEndpointWithResponseStreamCommand: ['sagemaker:InvokeEndpoint'],
  },
  '@aws-sdk/client-sns': { PublishBatchCommand: ['sns:Publish'] },
  '@aws-sdk/client-sqs': {
    SendMessageBatchCommand: ['sqs:SendMessage'],
    DeleteMessageBatchCommand: ['sqs:DeleteMessage'],
  },
  '@aws-sdk/client-firehose': { PutRecordBatchCommand: ['firehose:PutRecordBatch'] },
  // API Gateway's control plane authorizes by HTTP verb and resource path, not by operation name.
  '@aws-sdk/client-api-gateway': { GetApiKeysCommand: ['apigateway:GET'] },
};

/** The IAM actions one SDK command needs; throws when the mapping is unknown (add it above, never guess). */
export function iamActionsOf(module: string, command: string): readonly string[] {
  const explicit = EXPLICIT[module]?.[command];
  if (explicit) return explicit;
  const prefix = SAME_NAME_PREFIX[module];
  if (prefix && /^[A-Z]\w*Command$/.test(command)) return [`${prefix}:${command.slice(0, -'Command'.length)}`];
  throw new Error(
    `no IAM mapping for ${command} from ${module}: add it to EXPLICIT (or the package's prefix to SAME_NAME_PREFIX) in test/support/sdk-commands.ts`,
  );
}

/** A library that sends SDK commands itself: which of its exports send, what they need, and why. */
export interface LibrarySender {
  /** npm package name. */
  readonly package: string;
  /** Module specifier → export → the IAM actions that export's calls need. */
  readonly sendingExports: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  readonly reason: string;
}

/**
 * Libraries that depend on the AWS SDK. A package the handler uses that depends on `@aws-sdk/*` must be listed here,
 * so that a new library that calls AWS cannot slip past the proof.
 */
export const LIBRARY_SENDERS: readonly LibrarySender[] = [
  {
    package: '@aws-lambda-powertools/idempotency',
    sendingExports: {
      '@aws-lambda-powertools/idempotency/dynamodb': {
        DynamoDBPersistenceLayer: [
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ],
      },
    },
    reason:
      'Powertools idempotency DynamoDB persistence layer: GetItem reads a record, PutItem claims the key (conditional), ' +
      'UpdateItem stores the result, DeleteItem releases the key when the handler throws',
  },
];

export const ROOT_REQUIRE = createRequire(path.join(PROJECT_ROOT, 'package.json'));

/** The npm package an import specifier names (`@scope/name/sub` → `@scope/name`), or undefined for node builtins. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  return name;
}

const sdkDependents = new Map<string, boolean>();
/** Whether a package declares the AWS SDK as a dependency (it may send commands with the function's role). */
function dependsOnSdk(pkg: string): boolean {
  const cached = sdkDependents.get(pkg);
  if (cached !== undefined) return cached;
  let result = false;
  if (!pkg.startsWith('@aws-sdk/')) {
    let manifest: Record<string, Record<string, string> | undefined>;
    try {
      manifest = JSON.parse(readFileSync(ROOT_REQUIRE.resolve(`${pkg}/package.json`), 'utf8'));
    } catch {
      // Packages that do not export their package.json: find it beside node_modules.
      manifest = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'node_modules', pkg, 'package.json'), 'utf8'));
    }
    const deps = { ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies };
    result = Object.keys(deps).some((d) => d.startsWith('@aws-sdk/'));
  }
  sdkDependents.set(pkg, result);
  return result;
}

/** Whether `name` from an SDK package is an aggregated client (e.g. `S3`, `DynamoDBDocument`) whose methods send. */
function isAggregatedClient(module: string, name: string): boolean {
  if (/(Client|Command|Exception|Error)$/.test(name) || /^(paginate|waitUntil|waitFor)/.test(name)) return false;
  const exports = ROOT_REQUIRE(module) as Record<string, unknown>;
  return typeof exports[name] === 'function' && typeof exports[`${name}Client`] === 'function';
}

interface ImportBinding {
  readonly module: string;
  readonly imported: string;
  readonly local: string;
}

const IMPORT = /^import\s+(?:([\w$]+)\s*(?:,\s*)?)?(?:\{([^}]*)\}|\*\s+as\s+(\w+))?\s*(?:from\s*)?["']([^"']+)["'];?/gm;

/** Splits a bundle into its external import bindings and the rest of its code. */
function parseBundle(text: string): { bindings: ImportBinding[]; namespaces: Map<string, string>; body: string } {
  const bindings: ImportBinding[] = [];
  const namespaces = new Map<string, string>();
  const body = text.replace(
    IMPORT,
    (_m, def: string | undefined, named: string | undefined, ns: string | undefined, mod: string) => {
      if (def) bindings.push({ module: mod, imported: 'default', local: def });
      if (ns) namespaces.set(ns, mod);
      for (const part of (named ?? '').split(',')) {
        const spec = part.trim();
        if (!spec) continue;
        const [imported, local] = spec.split(/\s+as\s+/).map((s) => s.trim());
        if (imported) bindings.push({ module: mod, imported, local: local ?? imported });
      }
      return '';
    },
  );
  return { bindings, namespaces, body };
}

function referenced(body: string, local: string): boolean {
  return new RegExp(`(?<![\\w$.])${local.replace(/\$/g, '\\$')}(?![\\w$])`).test(body);
}

const cache = new Map<string, Promise<HandlerCommands>>();

/**
 * The SDK commands the exported `handler` of `entry` can send. esbuild bundles just that export (packages left
 * external, tree-shaken), so the code it keeps is the code reachable from the handler; the metafile names the
 * project files it came from. A command counts when its class is referenced in that code.
 */
export function commandsOfHandler(entry: string, handler: string, modelModule?: string): Promise<HandlerCommands> {
  const key = `${entry}#${handler}@${modelModule ?? ''}`;
  let found = cache.get(key);
  if (!found) {
    found = analyse(entry, handler, modelModule);
    cache.set(key, found);
  }
  return found;
}

async function analyse(entry: string, handler: string, modelModule: string | undefined): Promise<HandlerCommands> {
  if (!/^[A-Za-z_$][\w$]*$/.test(handler)) throw new Error(`handler must be an export name, got '${handler}'`);
  // Entries are relative to the repository root; absolute paths (test fixtures) are taken as they are.
  const specifier = path.isAbsolute(entry) ? entry : `./${entry.split(path.sep).join('/')}`;
  const result = await build({
    stdin: {
      contents: `export { ${handler} } from ${JSON.stringify(specifier)};`,
      resolveDir: PROJECT_ROOT,
      loader: 'ts',
      sourcefile: '<least-privilege entry>',
    },
    bundle: true,
    write: false,
    // The model module as the function's bundle resolves it (ServiceFunction's modelModule), so its code is seen too.
    ...(modelModule === undefined
      ? {}
      : { alias: { [MODEL_MODULE_SPECIFIER]: `./${modelModule}` }, absWorkingDir: PROJECT_ROOT }),
    platform: 'node',
    format: 'esm',
    packages: 'external',
    treeShaking: true,
    metafile: true,
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  const meta = Object.values(result.metafile.outputs)[0];
  if (!output || !meta) throw new Error(`esbuild produced no output for ${entry}#${handler}`);
  const sources = Object.entries(meta.inputs)
    .filter(([file, info]) => info.bytesInOutput > 0 && !file.startsWith('<') && !file.includes('node_modules'))
    .map(([file]) => file)
    .sort();

  const { bindings, namespaces, body } = parseBundle(output.text);
  // Namespace imports (`import * as sdk`) are read as the names the code takes from them.
  for (const [ns, module] of namespaces) {
    for (const m of body.matchAll(new RegExp(`(?<![\\w$.])${ns}\\.(\\w+)`, 'g'))) {
      if (m[1]) bindings.push({ module, imported: m[1], local: `${ns}.${m[1]}` });
    }
  }
  const live = bindings.filter((b) => (b.local.includes('.') ? true : referenced(body, b.local)));

  const uses = new Map<string, SdkCommandUse>();
  const add = (use: SdkCommandUse) => uses.set(`${use.module}#${use.command}`, use);
  const problems: string[] = [];
  for (const b of live) {
    const pkg = packageOf(b.module);
    if (!pkg) continue;
    if (pkg.startsWith('@aws-sdk/')) {
      if (b.imported.endsWith('Command')) {
        add({ command: b.imported, module: b.module, actions: iamActionsOf(b.module, b.imported) });
      } else if (b.imported.startsWith('paginate')) {
        const command = `${b.imported.slice('paginate'.length)}Command`;
        add({ command, module: b.module, actions: iamActionsOf(b.module, command) });
      } else if (/^(waitUntil|waitFor)/.test(b.imported)) {
        problems.push(`${b.imported} from ${b.module}: waiters send Describe/Get commands the proof does not map`);
      } else if (isAggregatedClient(b.module, b.imported)) {
        problems.push(
          `${b.imported} from ${b.module}: an aggregated client's methods cannot be mapped to IAM actions; send commands (\`new XCommand(…)\`) instead`,
        );
      }
      continue;
    }
    const library = LIBRARY_SENDERS.find((l) => l.package === pkg);
    if (library) {
      const actions = library.sendingExports[b.module]?.[b.imported];
      if (actions) add({ command: b.imported, module: b.module, actions, reason: library.reason });
    } else if (dependsOnSdk(pkg)) {
      problems.push(
        `${pkg} depends on the AWS SDK and is used by the handler: list what it sends in LIBRARY_SENDERS (test/support/sdk-commands.ts)`,
      );
    }
  }
  if (problems.length > 0) {
    throw new Error(`cannot list the SDK commands of ${entry}#${handler}:\n  ${problems.join('\n  ')}`);
  }
  const sorted = [...uses.values()].sort((a, b) => a.command.localeCompare(b.command));
  return {
    entry,
    handler,
    sources,
    uses: sorted,
    actions: [...new Set(sorted.flatMap((u) => u.actions))].sort(),
  };
}
