// Least-privilege proof: every Lambda function's role grants exactly what its code and its configuration need.
//
// For each ServiceFunction of every stage: the SDK commands its handler can send (test/support/sdk-commands.ts) are
// mapped to IAM actions and compared with the Allow statements of its role in the synthesized templates (inline
// policies and managed policies, across stacks: test/support/iam-grants.ts). A command with no grant fails, and so
// does a grant no command needs, unless it is implied by the function's own configuration (IMPLIED below, each with
// its reason). KMS grants are checked per key: kms:Decrypt exactly when a command touches a resource encrypted with
// that key, kms:GenerateDataKey exactly when one writes to it. Roles that are not Lambda execution roles (Step
// Functions, SageMaker, Firehose, Model Monitor) are out of scope here: their callers are AWS services, not our
// code; the deploy gate's KMS and IAM check (test/gate/kms-iam.ts) covers every role's key use and integrations.
// Limits: actions are compared, not resource scoping (the services-stack tests pin resources).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import { STAGE_NAMES, type StageName } from '../lib/config/environment-config.js';
import { ServiceFunction } from '../lib/constructs/service-function.js';
import type { AimsStage } from '../lib/stages/aims-stage.js';
import { cleanTestApps, testApp } from './support/app.js';
import {
  actionMatches,
  type CfnTemplate,
  callerKeyOf,
  grantsOfRole,
  type ResourceRef,
  refKey,
  StageTemplates,
} from './support/iam-grants.js';
import {
  commandsOfHandler,
  type HandlerCommands,
  iamActionsOf,
  LIBRARY_SENDERS,
  ROOT_REQUIRE,
} from './support/sdk-commands.js';

const { stages } = testApp();
afterAll(cleanTestApps);

/** One Lambda function as the proof sees it. */
interface FunctionUnderProof {
  /** Construct path, e.g. `Dev/Services/Score`. */
  readonly path: string;
  readonly entry: string;
  readonly handler: string;
  /** The model module the bundle resolves MODEL_MODULE_SPECIFIER to, if the function serves a model. */
  readonly modelModule: string | undefined;
  readonly function: ResourceRef;
  readonly role: ResourceRef;
}

/**
 * The handler module of a ServiceFunction, relative to the repository root. ServiceFunction does not expose it yet;
 * until it does (`public readonly entry: string`), it is read from the NodejsFunction's bundling options.
 */
function entryOf(fn: ServiceFunction): string {
  const declared: unknown = Reflect.get(fn, 'entry');
  if (typeof declared === 'string') return declared;
  const staging = fn.function.node.tryFindChild('Code')?.node.tryFindChild('Stage');
  const fingerprint: unknown = staging && Reflect.get(staging, 'fingerprintOptions');
  const bundling: unknown = fingerprint && typeof fingerprint === 'object' && Reflect.get(fingerprint, 'bundling');
  const entry: unknown = bundling && typeof bundling === 'object' && Reflect.get(bundling, 'relativeEntryPath');
  if (typeof entry !== 'string') {
    throw new Error(`cannot read the entry of ${fn.node.path}: give ServiceFunction a 'public readonly entry: string'`);
  }
  return entry;
}

function functionsOf(stage: AimsStage, templates: StageTemplates): FunctionUnderProof[] {
  return stage.node
    .findAll()
    .filter((c): c is ServiceFunction => c instanceof ServiceFunction)
    .map((fn) => {
      const stack = Stack.of(fn);
      const fnRef = {
        stack: stack.stackName,
        logicalId: stack.getLogicalId(fn.function.node.defaultChild as CfnElement),
      };
      const role = { stack: stack.stackName, logicalId: stack.getLogicalId(fn.role.node.defaultChild as CfnRole) };
      const handler = String(templates.resource(fnRef)?.Properties?.Handler ?? '');
      const match = /^index\.([\w$]+)$/.exec(handler);
      if (!match?.[1])
        throw new Error(`${fn.node.path}: expected a bundled handler 'index.<export>', got '${handler}'`);
      const modelModule = fn.modelModule;
      return { path: fn.node.path, entry: entryOf(fn), handler: match[1], modelModule, function: fnRef, role };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** One needed or granted permission: an action (or pattern), on a KMS key for kms:* entries. */
interface Permission {
  readonly action: string;
  readonly key?: string;
  /** Why it is needed (the command or the configuration) or where it was granted. */
  readonly why: string;
}

const show = (p: Permission) => (p.key ? `${p.action} on ${p.key}` : p.action);

/** IAM actions that write (they need kms:GenerateDataKey on a customer-managed key of the resource). */
const WRITES = new Set([
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  's3:PutObject',
  'kinesis:PutRecord',
  'kinesis:PutRecords',
  'sns:Publish',
  'sqs:SendMessage',
]);

/**
 * Lambda reads a Kinesis stream for an event-source mapping with the function's role: the shard-iterator actions of
 * AWSLambdaKinesisExecutionRole. ListStreams (account-wide listing) is not needed for a mapping on a known stream;
 * SubscribeToShard and DescribeStreamConsumer only for an enhanced fan-out consumer.
 */
const KINESIS_MAPPING_ACTIONS = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  'kinesis:ListShards',
];

/**
 * Lambda reads a DynamoDB stream for an event-source mapping with the function's role: the actions of
 * AWSLambdaDynamoDBExecutionRole. Lambda checks all four when the mapping is created (ListStreams has no resource).
 */
const DYNAMODB_MAPPING_ACTIONS = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
];

interface Needs {
  readonly actions: Permission[];
  /** Resources the function's own calls touch (for the KMS rule), with whether it writes them. */
  readonly touched: Array<{ resource: ResourceRef; write: boolean; why: string }>;
}

/**
 * Grants implied by the function's configuration rather than its code, each with its reason. These are the only
 * written-down exceptions to "a grant no command needs".
 */
function impliedNeeds(fn: FunctionUnderProof, templates: StageTemplates): Needs {
  const props = templates.resource(fn.function)?.Properties ?? {};
  const actions: Permission[] = [];
  const touched: Needs['touched'] = [];
  const why = (reason: string) => (action: string) => actions.push({ action, why: reason });
  ['logs:CreateLogStream', 'logs:PutLogEvents'].forEach(
    why("the Lambda runtime writes the function's logs to its log group with the execution role"),
  );
  if (props.TracingConfig?.Mode === 'Active') {
    ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'].forEach(
      why('active tracing: the runtime and Powertools Tracer send segments with the execution role'),
    );
  }
  const sendTo = (stack: string, target: unknown, reason: string) => {
    const ref = templates.resolve(stack, target);
    const type = ref && templates.resource(ref)?.Type;
    if (!ref || !type) throw new Error(`${fn.path}: cannot resolve the destination ${JSON.stringify(target)}`);
    const action = { 'AWS::SQS::Queue': 'sqs:SendMessage', 'AWS::SNS::Topic': 'sns:Publish' }[type];
    if (!action) throw new Error(`${fn.path}: the proof does not know what a ${type} destination needs`);
    actions.push({ action, why: reason });
    touched.push({ resource: ref, write: true, why: reason });
  };
  if (props.DeadLetterConfig?.TargetArn) {
    sendTo(fn.function.stack, props.DeadLetterConfig.TargetArn, 'Lambda sends failed async events to the DLQ');
  }
  if (props.VpcConfig) throw new Error(`${fn.path}: VPC functions need ENI actions the proof does not list yet`);
  for (const [stack, template] of templates.byStack) {
    for (const r of Object.values(template.Resources)) {
      const p = r.Properties ?? {};
      if (!templates.pointsAt(stack, p.FunctionName, fn.function)) continue;
      if (r.Type === 'AWS::Lambda::EventSourceMapping') {
        const source = templates.resolve(stack, p.EventSourceArn);
        const type = source && templates.resource(source)?.Type;
        const kinds: Record<string, { actions: readonly string[]; reason: string }> = {
          'AWS::Kinesis::Stream': {
            actions: KINESIS_MAPPING_ACTIONS,
            reason: 'the Kinesis event-source mapping reads the stream with the execution role',
          },
          'AWS::Kinesis::StreamConsumer': {
            actions: KINESIS_MAPPING_ACTIONS,
            reason: 'the Kinesis event-source mapping reads the stream with the execution role',
          },
          // The mapping's EventSourceArn is the table's StreamArn: its records are encrypted with the table's key.
          'AWS::DynamoDB::Table': {
            actions: DYNAMODB_MAPPING_ACTIONS,
            reason: "the DynamoDB event-source mapping reads the table's stream with the execution role",
          },
        };
        const kind = type ? kinds[type] : undefined;
        if (!source || !kind) {
          throw new Error(`${fn.path}: the proof does not know what an event-source mapping on ${type} needs`);
        }
        const reason = kind.reason;
        kind.actions.forEach(why(reason));
        if (type === 'AWS::Kinesis::StreamConsumer') {
          why(reason)('kinesis:DescribeStreamConsumer');
          why(reason)('kinesis:SubscribeToShard');
        }
        touched.push({ resource: source, write: false, why: reason });
        const onFailure = p.DestinationConfig?.OnFailure?.Destination;
        if (onFailure)
          sendTo(stack, onFailure, 'the mapping sends records it gives up on to its on-failure destination');
      }
      if (r.Type === 'AWS::Lambda::EventInvokeConfig') {
        for (const kind of ['OnFailure', 'OnSuccess'] as const) {
          const target = p.DestinationConfig?.[kind]?.Destination;
          if (target) sendTo(stack, target, `Lambda sends async results to the ${kind} destination`);
        }
      }
    }
  }
  return { actions, touched };
}

interface Verdict {
  readonly fn: FunctionUnderProof;
  readonly code: HandlerCommands;
  readonly missing: Permission[];
  readonly unneeded: Permission[];
}

async function prove(fn: FunctionUnderProof, templates: StageTemplates): Promise<Verdict> {
  const code = await commandsOfHandler(fn.entry, fn.handler, fn.modelModule);
  const grants = grantsOfRole(templates, fn.role);
  const implied = impliedNeeds(fn, templates);

  const needed: Permission[] = [
    ...code.uses.flatMap((u) =>
      u.actions.map((action) => ({
        action,
        why: u.reason ? `${u.command}: ${u.reason}` : `${u.command} (${u.module})`,
      })),
    ),
    ...implied.actions,
  ];
  // The resources the code's commands touch are the ones its grants name for those actions.
  const touched = [...implied.touched];
  for (const u of code.uses) {
    for (const action of u.actions) {
      for (const s of grants.statements) {
        if (!s.actions.some((a) => actionMatches(a, action))) continue;
        for (const r of s.resources) {
          const resource = templates.resolve(s.stack, r);
          if (resource) touched.push({ resource, write: WRITES.has(action), why: `${u.command} → ${action}` });
        }
      }
    }
  }
  for (const t of touched) {
    const key = callerKeyOf(templates, t.resource);
    if (!key) continue;
    const why = `${t.why} touches ${refKey(t.resource)}, encrypted with ${refKey(key)}`;
    needed.push({ action: 'kms:Decrypt', key: refKey(key), why });
    if (t.write) needed.push({ action: 'kms:GenerateDataKey', key: refKey(key), why });
  }

  const granted: Permission[] = [];
  const unneeded: Permission[] = grants.unresolved.map((arn) => ({
    action: `managed policy ${arn}`,
    why: 'its document is not in the templates, so the proof cannot list what it grants',
  }));
  for (const s of grants.statements) {
    if (s.openEnded) {
      unneeded.push({ action: `${s.openEnded} statement [${s.actions.join(', ')}]`, why: s.source });
      continue;
    }
    for (const action of s.actions) {
      if (!action.toLowerCase().startsWith('kms:')) {
        granted.push({ action, why: s.source });
        continue;
      }
      for (const r of s.resources) {
        const key = templates.resolve(s.stack, r);
        granted.push({ action, key: key ? refKey(key) : JSON.stringify(r), why: s.source });
      }
    }
  }

  const covers = (g: Permission, n: Permission) =>
    actionMatches(g.action, n.action) && (n.key === undefined || g.key === n.key || g.key === '"*"');
  const missing = dedupe(needed.filter((n) => !granted.some((g) => covers(g, n))));
  for (const g of granted) {
    // A wildcard grant is never least privilege, even where it covers a need.
    if (g.action.includes('*') || !needed.some((n) => covers(g, n))) unneeded.push(g);
  }
  return { fn, code, missing, unneeded: dedupe(unneeded) };
}

function dedupe(list: Permission[]): Permission[] {
  const seen = new Map<string, Permission>();
  for (const p of list) if (!seen.has(show(p))) seen.set(show(p), p);
  return [...seen.values()].sort((a, b) => show(a).localeCompare(show(b)));
}

/** A readable table: function → missing grants / unneeded grants, with why. */
function report(stage: string, verdicts: readonly Verdict[]): string {
  const failing = verdicts.filter((v) => v.missing.length > 0 || v.unneeded.length > 0);
  const rows: string[][] = [
    ['function', 'missing grant (code needs, role lacks)', 'unneeded grant (role has, nothing needs)'],
  ];
  for (const v of failing) {
    const name = `${v.fn.path} (${v.fn.entry}#${v.fn.handler})`;
    const n = Math.max(v.missing.length, v.unneeded.length);
    for (let i = 0; i < n; i++) {
      const m = v.missing[i];
      const u = v.unneeded[i];
      rows.push([i === 0 ? name : '', m ? `${show(m)} ← ${m.why}` : '', u ? `${show(u)} ← ${u.why}` : '']);
    }
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join(' | ')
      .trimEnd();
  return [
    `${stage}: ${failing.length} of ${verdicts.length} functions are not least-privilege`,
    line(rows[0] ?? []),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...rows.slice(1).map(line),
  ].join('\n');
}

describe.each(STAGE_NAMES.map((name) => [name] as [StageName]))('GIVEN the %s stage as synthesized', (name) => {
  const stage = stages[name];
  const templates = StageTemplates.of(stage);
  const functions = functionsOf(stage, templates);

  test('THEN every Lambda function in its templates is a ServiceFunction the proof can read', () => {
    const known = new Set(functions.map((f) => refKey(f.function)));
    // Custom-resource providers (CDK's BucketDeployment copier) run in CloudFormation deploys, not as services:
    // their grants are CDK's, acknowledged where cdk-nag and the gate report them.
    const providers = (t: CfnTemplate) =>
      new Set(
        Object.values(t.Resources)
          .filter((r) => String(r.Type).startsWith('Custom::'))
          .map((r) => JSON.stringify((r.Properties as { ServiceToken?: unknown } | undefined)?.ServiceToken)),
      );
    const lambdas = [...templates.byStack].flatMap(([stack, t]) =>
      Object.entries(t.Resources)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
        .filter(([logicalId]) => !providers(t).has(JSON.stringify({ 'Fn::GetAtt': [logicalId, 'Arn'] })))
        .map(([logicalId]) => refKey({ stack, logicalId })),
    );
    expect(functions.length).toBeGreaterThan(0);
    expect(lambdas.filter((id) => !known.has(id))).toEqual([]);
  });

  test('WHEN each function’s SDK commands are compared with its role’s grants THEN none is missing and none unneeded', async () => {
    const verdicts: Verdict[] = [];
    for (const fn of functions) verdicts.push(await prove(fn, templates));
    // The analysis must have seen code: an entry it could not follow would prove nothing.
    for (const v of verdicts) expect(v.code.sources).toContain(v.fn.entry);
    // A function serving a model bundles that model's module: the analysis must have followed the alias into it.
    for (const v of verdicts) if (v.fn.modelModule) expect(v.code.sources).toContain(v.fn.modelModule);
    expect(verdicts.filter((v) => v.fn.modelModule).length).toBeGreaterThan(0);
    const failing = verdicts.filter((v) => v.missing.length > 0 || v.unneeded.length > 0);
    if (failing.length > 0) throw new Error(report(name, verdicts));
  });
});

describe('GIVEN the libraries that send SDK commands themselves', () => {
  test('WHEN the Powertools DynamoDB persistence layer is read THEN it constructs exactly the commands listed for it', () => {
    const idempotency = LIBRARY_SENDERS.find((l) => l.package === '@aws-lambda-powertools/idempotency');
    const listed = idempotency?.sendingExports['@aws-lambda-powertools/idempotency/dynamodb']?.DynamoDBPersistenceLayer;
    const source = readFileSync(ROOT_REQUIRE.resolve('@aws-lambda-powertools/idempotency/dynamodb'), 'utf8');
    const constructed = [...source.matchAll(/new (?:[\w$]+\.)?(\w+)Command\(/g)].map((m) => `dynamodb:${m[1]}`);
    expect([...new Set(constructed)].sort()).toEqual([...(listed ?? [])].sort());
  });
});

describe('GIVEN handler modules written for the analysis', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aims-least-privilege-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  write(
    'store.ts',
    [
      "import { GetCommand as Read, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
      "import { PutObjectCommand } from '@aws-sdk/client-s3';",
      'export const read = (doc: DynamoDBDocumentClient) => doc.send(new Read({ TableName: "t", Key: {} }));',
      'export const upload = (s3: { send(c: unknown): unknown }) => s3.send(new PutObjectCommand({ Bucket: "b", Key: "k" }));',
    ].join('\n'),
  );
  const entry = write(
    'handler.ts',
    [
      "import { read, upload } from './store.js';",
      'export const reader = (doc: never) => read(doc);',
      'export const uploader = (s3: never) => upload(s3);',
    ].join('\n'),
  );

  test('WHEN one export is analysed THEN only the commands reachable from it count, aliases included', async () => {
    expect((await commandsOfHandler(entry, 'reader')).actions).toEqual(['dynamodb:GetItem']);
    expect((await commandsOfHandler(entry, 'uploader')).actions).toEqual(['s3:PutObject']);
  });

  test('WHEN the code uses the idempotency DynamoDB layer THEN its four item actions count, with the reason', async () => {
    const idem = write(
      'idem.ts',
      [
        "import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';",
        "export const handler = () => new DynamoDBPersistenceLayer({ tableName: 't' });",
      ].join('\n'),
    );
    const found = await commandsOfHandler(idem, 'handler');
    expect(found.actions).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(found.uses[0]?.reason).toMatch(/idempotency/);
  });

  test('WHEN the code uses an aggregated client THEN the analysis refuses instead of guessing', async () => {
    const agg = write('agg.ts', "import { S3 } from '@aws-sdk/client-s3';\nexport const handler = () => new S3({});");
    await expect(commandsOfHandler(agg, 'handler')).rejects.toThrow(/aggregated client/);
  });

  test('WHEN a command has no IAM mapping THEN the analysis names the file to extend', () => {
    expect(() => iamActionsOf('@aws-sdk/client-s3', 'SelectObjectContentCommand')).toThrow(/sdk-commands\.ts/);
    expect(iamActionsOf('@aws-sdk/client-sfn', 'StartExecutionCommand')).toEqual(['states:StartExecution']);
  });
});
