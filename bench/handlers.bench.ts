// Benchmark of every Lambda handler of the Dev stage: bundle size, and cold init of the bundle next to the same handler
// unbundled (TypeScript through tsx), each in a fresh Node 22 process with the environment the template gives it.
// Run: npx tsx bench/handlers.bench.ts   (bounded to 3 minutes; writes bench/results/handlers.json)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { delimiter, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type Figure, info, median, NODE, printTable, ROOT, round, writeResult } from './support/figures.js';

const STAGE = 'Dev';
const ASSEMBLY = join(ROOT, 'cdk.out', `assembly-${STAGE}`);
/** Cold inits per handler and variant; the figure is their median. */
const RUNS = 5;
/** The whole benchmark, synth of a missing assembly included, stays under 3 minutes. */
const BUDGET_MS = 170_000;
const SPAWN_TIMEOUT_MS = 20_000;
const MARKER = 'AIMS_HANDLER_RESOLVED';
/** Imports the module given as a URL and checks each named export is a function, then reports at once and exits:
 * timers or sockets a module opens at import must not count. */
const PROBE = `const [url, names] = process.argv.slice(1);
const mod = await import(url);
for (const name of names.split(',')) {
  if (typeof mod[name] !== 'function') throw new Error(\`the module has no function export '\${name}'\`);
}
process.stdout.write('${MARKER}\\n');
process.exit(0);`;
/** Imports every module of a comma-separated list, ignoring their errors, to fill caches before measuring. */
const WARM_UP = `for (const url of process.argv[1].split(',')) { try { await import(url); } catch {} }
process.stdout.write('${MARKER}\\n');
process.exit(0);`;
/** The process floor: what a fresh process costs before it imports anything. */
const FLOOR_PROBE = `process.stdout.write('${MARKER}\\n'); process.exit(0);`;

interface LambdaFunction {
  /** Short name: the construct path inside the stage, e.g. `Services/Score`. */
  readonly name: string;
  readonly cdkPath: string;
  readonly logicalId: string;
  readonly bundle: string;
  readonly exportName: string;
  readonly env: Record<string, string>;
  /** Variables whose template value was an unresolved intrinsic, replaced by a placeholder. */
  readonly placeholders: string[];
  source?: { entry: string; handler: string };
}

interface Variant {
  samples: number[];
  error?: string;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The stage's templates, synthesized first if `cdk.out` lacks them. */
function ensureAssembly(): void {
  if (existsSync(join(ASSEMBLY, 'manifest.json'))) return;
  process.stdout.write(`${relative(ROOT, ASSEMBLY)} is missing: synthesizing the app first\n`);
  const run = spawnSync(NODE, [join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', '-q', '**'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 120_000,
    env: {
      ...process.env,
      // As `npm run synth`: Node 22 first on PATH for the app the CLI starts.
      PATH: [join(ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter),
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  if (run.status !== 0 || !existsSync(join(ASSEMBLY, 'manifest.json'))) {
    throw new Error(`cdk synth did not write ${relative(ROOT, ASSEMBLY)} (exit ${run.status ?? run.signal})`);
  }
}

/** Sources edited after the assembly was synthesized: the bundles then lag the TypeScript they are compared with. */
function newerSources(): string[] {
  const synthesized = statSync(join(ASSEMBLY, 'manifest.json')).mtimeMs;
  const newer: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'test' && entry.name !== 'node_modules') walk(path);
      else if (entry.isFile() && entry.name.endsWith('.ts') && statSync(path).mtimeMs > synthesized) {
        newer.push(relative(ROOT, path));
      }
    }
  };
  for (const dir of ['bin', 'lib', 'lambdas']) walk(join(ROOT, dir));
  return newer.sort();
}

/** A stand-in for a value only CloudFormation knows, shaped like what the variable holds where the name tells. */
class Placeholders {
  constructor(
    private readonly region: string,
    private readonly account: string,
  ) {}

  resolve(value: Json | undefined): string {
    if (value === null || value === undefined) return '';
    if (typeof value !== 'object') return String(value);
    if (Array.isArray(value)) return value.map((v) => this.resolve(v)).join(',');
    const [fn, arg] = Object.entries(value)[0] ?? [];
    switch (fn) {
      case 'Ref':
        return this.ref(String(arg));
      case 'Fn::GetAtt': {
        const [id = 'resource', attr = 'Value'] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
        return this.attribute(id, attr);
      }
      case 'Fn::Join': {
        const [sep = '', parts = []] = Array.isArray(arg) ? arg : [];
        return (Array.isArray(parts) ? parts : [parts]).map((p) => this.resolve(p)).join(String(sep));
      }
      case 'Fn::Select': {
        const [index = 0, list = []] = Array.isArray(arg) ? arg : [];
        return Array.isArray(list) ? this.resolve(list[Number(index)]) : this.resolve(list).split(',')[0] || '';
      }
      case 'Fn::Sub': {
        const [text = '', vars = {}] = Array.isArray(arg) ? arg : [arg];
        const known = vars !== null && typeof vars === 'object' && !Array.isArray(vars) ? vars : {};
        return String(text).replace(/\$\{([^}]+)\}/g, (_, ref: string) => {
          if (ref in known) return this.resolve(known[ref]);
          const [id = ref, attr] = ref.split('.');
          return attr ? this.attribute(id, attr) : this.ref(id);
        });
      }
      case 'Fn::GetStackOutput':
      case 'Fn::ImportValue': {
        const name = arg !== null && typeof arg === 'object' && !Array.isArray(arg) ? arg.OutputName : arg;
        return `placeholder-${this.resolve(name ?? 'output')}`;
      }
      default:
        return 'placeholder';
    }
  }

  /** Fits a placeholder to what the variable's name says it holds (an ARN, a URL), so env schemas accept it. */
  shape(key: string, value: string): string {
    if (/_ARN$/.test(key) && !value.startsWith('arn:')) return this.arn(value);
    if (/_(URL|URI|ENDPOINT)$/.test(key) && !/^https?:\/\//.test(value)) return `https://${value}.example.com`;
    return value;
  }

  private ref(id: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Region': this.region,
      'AWS::AccountId': this.account,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': `${STAGE}-placeholder`,
    };
    return pseudo[id] ?? `placeholder-${id}`;
  }

  private attribute(id: string, attr: string): string {
    if (/Arn$/.test(attr)) return this.arn(id);
    if (/ur[li]$/i.test(attr)) return `https://${id.toLowerCase()}.example.com`;
    return `placeholder-${id}-${attr}`;
  }

  private arn(id: string): string {
    return `arn:aws:placeholder:${this.region}:${this.account}:${id.replace(/^placeholder-/, '')}`;
  }
}

/** Every Lambda function of the stage's templates, with its bundle and its resolved environment. */
function readFunctions(): LambdaFunction[] {
  const manifest = JSON.parse(readFileSync(join(ASSEMBLY, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; environment?: string; properties?: { templateFile?: string } }>;
  };
  const functions: LambdaFunction[] = [];
  for (const artifact of Object.values(manifest.artifacts)) {
    const templateFile = artifact.properties?.templateFile;
    if (artifact.type !== 'aws:cloudformation:stack' || !templateFile) continue;
    const [, account = '123456789012', region = 'us-east-1'] = /^aws:\/\/([^/]+)\/(.+)$/.exec(
      artifact.environment ?? '',
    ) ?? ['', undefined, undefined];
    const placeholders = new Placeholders(region, /^\d{12}$/.test(account) ? account : '123456789012');
    const template = JSON.parse(readFileSync(join(ASSEMBLY, templateFile), 'utf8')) as {
      Resources: Record<string, { Type: string; Metadata?: Record<string, string>; Properties?: Record<string, Json> }>;
    };
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const cdkPath = resource.Metadata?.['aws:cdk:path'] ?? logicalId;
      const assetPath = resource.Metadata?.['aws:asset:path'];
      const props = resource.Properties ?? {};
      const [file = 'index', exportName = 'handler'] = String(props.Handler ?? 'index.handler').split('.');
      if (!assetPath) {
        process.stdout.write(`skipped ${cdkPath}: no aws:asset:path metadata (inline code)\n`);
        continue;
      }
      const dir = resolve(ASSEMBLY, assetPath);
      const bundle = ['.mjs', '.js', '.cjs'].map((ext) => join(dir, `${file}${ext}`)).find((f) => existsSync(f));
      if (!bundle) throw new Error(`${cdkPath}: no ${file}.mjs or ${file}.js in ${relative(ROOT, dir)}`);
      const variables = ((props.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ??
        {}) as Record<string, Json>;
      const env: Record<string, string> = {
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_LAMBDA_FUNCTION_NAME: logicalId,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(props.MemorySize ?? 128),
      };
      const unresolved: string[] = [];
      for (const [key, value] of Object.entries(variables)) {
        if (value !== null && typeof value === 'object') unresolved.push(key);
        env[key] = placeholders.shape(key, placeholders.resolve(value));
      }
      functions.push({
        name: cdkPath.replace(new RegExp(`^${STAGE}/`), '').replace(/\/Function\/Resource$|\/Resource$/, ''),
        cdkPath,
        logicalId,
        bundle,
        exportName,
        env,
        placeholders: unresolved,
      });
    }
  }
  return functions;
}

/** Each function's TypeScript entry, from the app's ServiceFunctions built in-process (bundling skipped). */
async function attachSources(functions: LambdaFunction[]): Promise<string | undefined> {
  const outdir = mkdtempSync(join(tmpdir(), 'aims-bench-handlers-'));
  try {
    const { buildApp } = await import('../lib/app.js');
    const { ServiceFunction } = await import('../lib/constructs/service-function.js');
    const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
    const { app } = buildApp({
      outdir,
      context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] },
      env: {},
      nag: false,
    });
    const byPath = new Map<string, { entry: string; handler: string }>();
    for (const c of app.node.findAll()) {
      if (c instanceof ServiceFunction) {
        byPath.set(`${c.function.node.path}/Resource`, { entry: c.entry, handler: c.handler });
      }
    }
    for (const f of functions) {
      const source = byPath.get(f.cdkPath);
      if (source) f.source = source;
    }
    return undefined;
  } catch (error) {
    return `could not build the app to find the handlers' sources: ${(error as Error).message}`;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The error a failed probe printed, on one short line (a minified bundle echoes a whole source line first). */
function errorLine(stderr: string, fallback: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  const error =
    lines.find((l) => /^(\w+ )?\[?\w*Error\]?:/.test(l) && l.length < 2000) ??
    lines.filter((l) => l && l.length < 300 && !l.startsWith('at ') && !l.startsWith('Node.js')).pop();
  const text = (error ?? fallback).replace(/^\w+ \[(\w+)\]/, '$1');
  return text.length > 140 ? `${text.slice(0, 137)}…` : text;
}

/** Milliseconds from spawning a fresh process to its "handler resolved" line, or the error it died with. */
function coldInit(args: string[], env: Record<string, string>): Promise<{ ms: number } | { error: string }> {
  return new Promise((done) => {
    let stderr = '';
    let seen = false;
    const started = performance.now();
    const child = spawn(NODE, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), SPAWN_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      if (!seen && chunk.toString().includes(MARKER)) {
        seen = true;
        done({ ms: performance.now() - started });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 200_000) stderr += chunk.toString();
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      if (!seen) done({ error: error.message });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (!seen) done({ error: errorLine(stderr, `exited ${signal ?? code} before resolving the handler`) });
    });
  });
}

/** A clean environment: the function's variables and fake credentials, nothing of the shell the bench runs in. */
function processEnv(extra: Record<string, string>): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG'];
  const base = Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
  return { ...base, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extra };
}

/** Functions that run the same module with the same environment (one asset, several exports): their cold init is
 * one measurement, in which the probe resolves every export of the group. */
interface Group {
  readonly functions: LambdaFunction[];
  readonly env: Record<string, string>;
  readonly bundled: Variant;
  readonly unbundled: Variant;
}

function groupFunctions(functions: readonly LambdaFunction[]): Group[] {
  const groups = new Map<string, Group>();
  for (const f of functions) {
    // Name and memory differ per function but change nothing at import.
    const { AWS_LAMBDA_FUNCTION_NAME: _name, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: _memory, ...shared } = f.env;
    const key = JSON.stringify([f.bundle, f.source?.entry ?? null, shared]);
    const group = groups.get(key);
    if (group) group.functions.push(f);
    else
      groups.set(key, {
        functions: [f],
        env: f.env,
        bundled: { samples: [] },
        unbundled: f.source ? { samples: [] } : { samples: [], error: 'no TypeScript entry found in the app' },
      });
  }
  return [...groups.values()];
}

const toUrl = (entry: string) => pathToFileURL(join(ROOT, entry)).href;

const exportsOf = (g: Group, pick: (f: LambdaFunction) => string | undefined) =>
  [...new Set(g.functions.map(pick))].join(',');

function bundledArgs(g: Group): string[] {
  const first = g.functions[0];
  if (!first) return [];
  return ['--input-type=module', '-e', PROBE, pathToFileURL(first.bundle).href, exportsOf(g, (f) => f.exportName)];
}

function unbundledArgs(g: Group): string[] | undefined {
  const entry = g.functions[0]?.source?.entry;
  if (!entry) return undefined;
  const names = exportsOf(g, (f) => f.source?.handler);
  return ['--import', 'tsx', '--input-type=module', '-e', PROBE, toUrl(entry), names];
}

async function main(): Promise<void> {
  const started = Date.now();
  const deadline = started + BUDGET_MS;
  ensureAssembly();
  const functions = readFunctions();
  if (functions.length === 0) throw new Error(`no Lambda function with a bundled asset in ${relative(ROOT, ASSEMBLY)}`);
  const sourceProblem = await attachSources(functions);
  if (sourceProblem) process.stdout.write(`${sourceProblem}; measuring bundles only\n`);
  const groups = groupFunctions(functions);
  const stale = newerSources();
  const exportMismatches = functions.flatMap((f) =>
    f.source && f.source.handler !== f.exportName
      ? [`${f.name}: bundle exports ${f.exportName}, source ${f.source.handler}`]
      : [],
  );
  if (stale.length || exportMismatches.length) {
    process.stdout.write(
      `warning: ${relative(ROOT, ASSEMBLY)} predates ${stale.length} source file(s) (${stale.slice(0, 4).join(', ')}` +
        `${stale.length > 4 ? ', …' : ''})${exportMismatches.length ? `; ${exportMismatches.join('; ')}` : ''}: ` +
        'bundles and sources may differ; run `npm run synth` for a like-for-like comparison\n',
    );
  }
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  process.stdout.write(
    `${functions.length} functions (${groups.length} distinct modules) in ${STAGE}; ` +
      `Node ${spawnSync(NODE, ['--version']).stdout.toString().trim()}; load average ${load}\n`,
  );
  const floors = { node: [] as number[], tsx: [] as number[] };
  const floorEnv = processEnv({});

  // A discarded warm-up per variant, importing every module in one process: tsx fills its transform cache and the
  // OS its file cache, so the measured runs compare steady states. Import errors there are expected (one process
  // cannot hold every function's environment) and ignored: the graph is loaded, and so cached, before it runs.
  const warmStart = Date.now();
  for (const [loader, urls] of [
    [[], [...new Set(functions.map((f) => pathToFileURL(f.bundle).href))]],
    [['--import', 'tsx'], [...new Set(functions.flatMap((f) => (f.source ? [f.source.entry] : [])))].map(toUrl)],
  ] as const) {
    if (urls.length === 0) continue;
    const result = await coldInit([...loader, '--input-type=module', '-e', WARM_UP, urls.join(',')], floorEnv);
    if ('error' in result) process.stdout.write(`warm-up failed (${result.error}); measuring anyway\n`);
  }
  process.stdout.write(`warm-up in ${((Date.now() - warmStart) / 1000).toFixed(1)} s\n`);

  // Rounds alternate bundled and unbundled per group, so load from elsewhere on the machine hits both alike.
  let rounds = 0;
  let lastRoundMs = 0;
  while (rounds < RUNS && Date.now() + lastRoundMs < deadline) {
    const roundStart = Date.now();
    for (const [args, samples] of [
      [['-e', FLOOR_PROBE], floors.node],
      [['--import', 'tsx', '-e', FLOOR_PROBE], floors.tsx],
    ] as const) {
      const r = await coldInit([...args], floorEnv);
      if ('ms' in r) samples.push(r.ms);
    }
    for (const g of groups) {
      for (const [state, args] of [
        [g.bundled, bundledArgs(g)],
        [g.unbundled, unbundledArgs(g)],
      ] as const) {
        if (!args || state.error || Date.now() > deadline) continue;
        const result = await coldInit(args, processEnv(g.env));
        if ('error' in result) state.error = result.error;
        else state.samples.push(result.ms);
      }
    }
    rounds++;
    lastRoundMs = Date.now() - roundStart;
    process.stdout.write(`round ${rounds}/${RUNS} in ${(lastRoundMs / 1000).toFixed(1)} s\n`);
  }

  const figures: Figure[] = [];
  const details: Record<string, unknown>[] = [];
  for (const g of groups) {
    const { bundled: b, unbundled: u } = g;
    const bMs = median(b.samples);
    const uMs = median(u.samples);
    const runsNote = b.samples.length < RUNS ? `, ${b.samples.length} runs` : '';
    const unbundledNote = u.error ? ` — unbundled failed: ${u.error}` : '';
    for (const f of g.functions) {
      const code = readFileSync(f.bundle);
      const shared = g.functions.length > 1 ? `, module shared with ${g.functions.length - 1} more` : '';
      figures.push(
        info(`${f.name}: bundle size`, round(code.length / 1024), 'KiB'),
        info(`${f.name}: bundle size, gzip`, round(gzipSync(code).length / 1024), 'KiB'),
      );
      if (b.error || b.samples.length === 0) {
        figures.push({
          name: `${f.name}: cold init (bundled) — import failed: ${b.error ?? 'out of time budget'}`,
          value: Number.NaN,
          unit: 'ms',
          target: '≤ unbundled',
          baseline: u.samples.length ? round(uMs) : null,
          ratio: null,
          pass: false,
        });
      } else {
        const comparable = u.samples.length > 0 && !u.error;
        figures.push({
          name: `${f.name}: cold init (bundled${runsNote}${shared})${unbundledNote}`,
          value: round(bMs),
          unit: 'ms',
          target: '≤ unbundled',
          baseline: comparable ? round(uMs) : null,
          ratio: comparable ? round(bMs / uMs, 2) : null,
          pass: comparable ? bMs / uMs <= 1 : null,
        });
      }
      details.push({
        name: f.name,
        logicalId: f.logicalId,
        handler: `${relative(ROOT, f.bundle)}#${f.exportName}`,
        source: f.source ? `${f.source.entry}#${f.source.handler}` : null,
        sharedWith: g.functions.filter((o) => o !== f).map((o) => o.name),
        bundleBytes: code.length,
        bundleGzipBytes: gzipSync(code).length,
        sourceMapBytes: existsSync(`${f.bundle}.map`) ? statSync(`${f.bundle}.map`).size : null,
        placeholders: f.placeholders,
        bundledMs: b.samples.map((v) => round(v)),
        unbundledMs: u.samples.map((v) => round(v)),
        bundledError: b.error ?? null,
        unbundledError: u.error ?? null,
      });
    }
  }
  figures.push(
    info('fresh node process, no import (floor)', round(median(floors.node)), 'ms'),
    info('fresh node process with the tsx loader, no import (floor)', round(median(floors.tsx)), 'ms'),
  );

  const file = writeResult('handlers', started, figures, {
    stage: STAGE,
    machine: { loadavgAtStart: load, loadavgAtEnd: loadavg().map((l) => round(l, 2)), node: process.version },
    rounds,
    assemblyPredates: stale,
    exportMismatches,
    method:
      `Per module, a fresh ${relative(ROOT, NODE)} process imports the bundle (cdk.out asset, via aws:asset:path) ` +
      'and checks each handler export is a function; the time runs from spawn to its "resolved" line. The same for ' +
      "the TypeScript entry through tsx's loader (entry and export from the app's ServiceFunctions). Environment: " +
      "the template's variables (unresolved intrinsics replaced by placeholders) plus fake credentials and region; " +
      `functions sharing one asset and environment share one measurement; one discarded warm-up per module, then ` +
      `up to ${RUNS} rounds alternating bundled and unbundled within ${BUDGET_MS / 1000} s; figures are medians.`,
    functions: details,
  });
  printTable(figures);
  process.stdout.write(`\nwrote ${relative(ROOT, file)} in ${round((Date.now() - started) / 1000)} s\n`);
}

await main();
