// Cold init of the score bundle (import + app assembly, what Lambda's init phase runs) next to a minimal handler
// bundle that creates the same SDK clients, both bundled now with ServiceFunction's own esbuild options and started
// in fresh Node 22 processes with a Lambda-like environment. Target: score ≤ 1.5 × minimal (medians, one run).
// Run: npx tsx bench/score-init.bench.ts [rounds]   (≈ 1 minute; writes bench/results/score-init.json)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import type { ScoreEnv } from '../lambdas/score/app.js';
import { environments } from '../lib/config/environments.js';
import { inferenceComponentName } from '../lib/constructs/model-endpoint.js';
import { MODEL_MODULE_SPECIFIER, serviceBundling, serviceEnvironment } from '../lib/constructs/service-function.js';
import { type Figure, info, median, NODE, printTable, ROOT, round, writeResult } from './support/figures.js';

/** Cold processes per variant (the brief asks for medians of at least 10). */
const ROUNDS = Math.max(10, Number(process.argv[2] ?? 15));
const TARGET_RATIO = 1.5;
const MARKER = 'AIMS_INIT_DONE';
const SPAWN_TIMEOUT_MS = 20_000;
/** Imports the bundle (its top level builds the handler, as Lambda's init does), checks the export, reports the
 * process's CPU time so far and exits: nothing after init counts. */
const PROBE = `const m = await import(process.argv[1]);
if (typeof m.handler !== 'function') throw new Error('the bundle exports no handler function');
const u = process.cpuUsage();
process.stdout.write('${MARKER} ' + (u.user + u.system) / 1000 + '\\n');
process.exit(0);`;
const FLOOR_PROBE = `const u = process.cpuUsage(); process.stdout.write('${MARKER} ' + (u.user + u.system) / 1000 + '\\n');`;

/** The score function's own variables (typed against its env schema, so a new variable cannot be forgotten here). */
const SCORE_VARIABLES = {
  FEATURES_TABLE: 'bench-features',
  DECISIONS_TABLE: 'bench-decisions',
  MODEL_ENDPOINT_NAME: 'aims-dev-fraud-detector',
  // As in dev, whose endpoints idle to zero through an inference component (ADR 0005).
  MODEL_INFERENCE_COMPONENT: inferenceComponentName('aims-dev-fraud-detector'),
  MODEL_NAME: 'fraud-detector',
  MODEL_TIMEOUT_MS: '200',
  MODEL_THRESHOLDS: JSON.stringify(environments.Dev.models['fraud-detector'].thresholds),
  DECISION_TTL_DAYS: String(environments.Dev.data.decisionTtlDays),
} satisfies Record<
  Exclude<keyof ScoreEnv, 'POWERTOOLS_SERVICE_NAME' | 'POWERTOOLS_METRICS_NAMESPACE' | 'AWS_REGION'>,
  string
>;

/** What Lambda's runtime sets in every execution environment (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime):
 * AWS_EXECUTION_ENV turns Powertools tracing on, as it is on AWS (active tracing). */
function lambdaEnvironment(dir: string, memory: number): Record<string, string> {
  return {
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: 'bench-score',
    AWS_LAMBDA_FUNCTION_VERSION: '1',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memory),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/bench-score',
    AWS_LAMBDA_LOG_STREAM_NAME: 'bench',
    AWS_REGION: environments.Dev.region,
    AWS_DEFAULT_REGION: environments.Dev.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: 'test',
    // A closed loopback port: segments, if any were sent at init, go nowhere.
    AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:9',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LAMBDA_TASK_ROOT: dir,
    _HANDLER: 'index.handler',
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: ':UTC',
  };
}

/** ServiceFunction's bundling (lib/constructs/service-function.ts) as esbuild options: the CLI flags CDK passes. */
function esbuildOptions(entry: string, outdir: string, sourceMap: boolean): BuildOptions {
  const b = serviceBundling(sourceMap);
  return {
    entryPoints: { index: join(ROOT, entry) },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    target: b.target,
    platform: b.platform,
    mainFields: [...b.mainFields],
    minify: b.minify,
    sourcemap: b.sourceMap,
    sourcesContent: b.sourcesContent,
    external: [...b.externalModules],
    banner: { js: b.banner },
    // As the Dev stage bundles the score function: its model module is the fraud detector's.
    alias: { [MODEL_MODULE_SPECIFIER]: './models/fraud-detector/src/module.ts' },
    absWorkingDir: ROOT,
    logLevel: 'error',
    metafile: true,
  };
}

interface Variant {
  readonly name: string;
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly wall: number[];
  readonly cpu: number[];
  bundle?: string;
}

function coldInit(args: string[], env: Record<string, string>): Promise<{ wall: number; cpu: number }> {
  return new Promise((done, fail) => {
    let stderr = '';
    let finished = false;
    const started = performance.now();
    const child = spawn(NODE, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), SPAWN_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      const m = new RegExp(`${MARKER} ([\\d.]+)`).exec(chunk.toString());
      if (m && !finished) {
        finished = true;
        done({ wall: performance.now() - started, cpu: Number(m[1]) });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (!finished) fail(new Error(`exited ${signal ?? code} before init finished: ${stderr.trim().slice(-600)}`));
    });
  });
}

/** The score asset of the Dev stage in cdk.out, when synthesized: does the bench bundle what the deploy ships? */
function deployedScoreBundle(): string | undefined {
  const dir = join(ROOT, 'cdk.out', 'assembly-Dev');
  if (!existsSync(dir)) return undefined;
  for (const file of readdirSync(dir).filter((f) => f.includes('Services') && f.endsWith('.template.json'))) {
    const template = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
    };
    for (const r of Object.values(template.Resources)) {
      const path = r.Metadata?.['aws:asset:path'];
      if (
        r.Type === 'AWS::Lambda::Function' &&
        r.Metadata?.['aws:cdk:path'] === 'Dev/Services/Score/Function/Resource' &&
        path
      ) {
        const bundle = join(dir, path, 'index.mjs');
        return existsSync(bundle) ? bundle : undefined;
      }
    }
  }
  return undefined;
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function main(): Promise<void> {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'aims-score-init-'));
  try {
    const memory = environments.Prod.functions.memorySize;
    const sourceMap = true;
    const runtimeEnv = {
      ...lambdaEnvironment(work, memory),
      ...serviceEnvironment({ serviceName: 'score', metricsNamespace: 'AIMS', sourceMap }),
      ...SCORE_VARIABLES,
    };
    const bundles: Record<string, { file: string; bytes: number; mapBytes: number }> = {};
    for (const [name, entry] of [
      ['score', 'lambdas/score/handler.ts'],
      ['minimal', 'bench/support/minimal-score-handler.ts'],
    ] as const) {
      const outdir = join(work, name);
      await build(esbuildOptions(entry, outdir, sourceMap));
      const file = join(outdir, 'index.mjs');
      bundles[name] = {
        file,
        bytes: statSync(file).size,
        mapBytes: existsSync(`${file}.map`) ? statSync(`${file}.map`).size : 0,
      };
    }
    const deployed = deployedScoreBundle();
    const matchesDeployed = deployed && bundles.score ? sha(deployed) === sha(bundles.score.file) : null;

    const variants: Variant[] = [
      { name: 'floor', args: ['--input-type=module', '-e', FLOOR_PROBE], env: runtimeEnv, wall: [], cpu: [] },
      ...(['minimal', 'score'] as const).map((name) => ({
        name,
        args: ['--input-type=module', '-e', PROBE, pathToFileURL(bundles[name]?.file ?? '').href],
        env: runtimeEnv,
        wall: [],
        cpu: [],
      })),
    ];
    const load = loadavg().map((l) => l.toFixed(1));
    process.stdout.write(
      `${ROUNDS} rounds of ${variants.map((v) => v.name).join(', ')}; load average ${load.join(' ')}\n`,
    );
    // One discarded round fills the OS file cache; then each round runs every variant, so load hits them alike.
    for (let round = 0; round <= ROUNDS; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const r = await coldInit(v.args, v.env);
        if (round > 0) {
          v.wall.push(r.wall);
          v.cpu.push(r.cpu);
        }
      }
    }

    const [floor, minimal, score] = variants as [Variant, Variant, Variant];
    const m = (v: Variant, k: 'wall' | 'cpu') => median(v[k]);
    const ratio = m(score, 'wall') / m(minimal, 'wall');
    const cpuRatio = m(score, 'cpu') / m(minimal, 'cpu');
    const figures: Figure[] = [
      {
        name: 'score bundle cold init (import + app assembly), wall',
        value: round(m(score, 'wall')),
        unit: 'ms',
        target: `≤ ${TARGET_RATIO}× minimal handler`,
        baseline: round(m(minimal, 'wall')),
        ratio: round(ratio, 2),
        pass: ratio <= TARGET_RATIO,
      },
      {
        // Load from other jobs stretches both wall times alike and so flatters the wall ratio; CPU time does not.
        name: 'score bundle cold init (import + app assembly), CPU time',
        value: round(m(score, 'cpu')),
        unit: 'ms',
        target: `≤ ${TARGET_RATIO}× minimal handler`,
        baseline: round(m(minimal, 'cpu')),
        ratio: round(cpuRatio, 2),
        pass: cpuRatio <= TARGET_RATIO,
      },
      info('minimal handler (same SDK clients) cold init, wall', m(minimal, 'wall'), 'ms'),
      info('fresh node process, no import (floor), wall', m(floor, 'wall'), 'ms'),
      info('score bundle size', (bundles.score?.bytes ?? 0) / 1024, 'KiB'),
      info('score source map size', (bundles.score?.mapBytes ?? 0) / 1024, 'KiB'),
      info('minimal bundle size', (bundles.minimal?.bytes ?? 0) / 1024, 'KiB'),
    ];
    const file = writeResult('score-init', started, figures, {
      machine: { loadavgAtStart: load, loadavgAtEnd: loadavg().map((l) => round(l, 2)), node: NODE },
      rounds: ROUNDS,
      memorySize: memory,
      sourceMap,
      matchesDeployedBundle: matchesDeployed,
      deployedBundle: deployed ? relative(ROOT, deployed) : null,
      method:
        'Both handlers are bundled now with serviceBundling() (the options ServiceFunction gives NodejsFunction) and ' +
        'run with serviceEnvironment() plus the variables Lambda sets (AWS_EXECUTION_ENV etc.) and the score ' +
        "function's own. Per round, a fresh Node 22 process per variant imports the bundle (its top level assembles " +
        "the app) and checks the handler export; wall = spawn to that line, CPU = the process's user+system time " +
        `then. One discarded round, then ${ROUNDS} rounds alternating the order; figures are medians.`,
      samples: Object.fromEntries(
        variants.map((v) => [v.name, { wall: v.wall.map((x) => round(x)), cpu: v.cpu.map((x) => round(x)) }]),
      ),
    });
    printTable(figures);
    if (matchesDeployed === false) {
      process.stdout.write('note: the cdk.out score bundle differs from this fresh bundle (run `npm run synth`)\n');
    }
    process.stdout.write(`\nwrote ${relative(ROOT, file)} in ${round((Date.now() - started) / 1000)} s\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
