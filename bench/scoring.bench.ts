// Benchmark of POST /v1/score on the local stage: p50/p99 at a fixed rate and the highest sustained rate, next to the
// bare calls the scorer makes on its request path (same run, same backends), the first seconds after ready at a
// fixed rate, and the rate those bare calls alone reach.
// Run: npx tsx bench/scoring.bench.ts   (about 2 minutes; writes bench/results/scoring.json)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../lambdas/shared/aws.js';
import { type LocalStage, startLocalStage } from '../local/stage.js';
import { sdkEnvironment } from '../local/types.js';
import { FEATURE_NAMES } from '../models/fraud-detector/src/features.js';
import { referenceBaseline } from '../models/fraud-detector/src/reference.js';
import type { Transaction } from '../models/shared/contracts/transaction.js';
import { formatTimestamp, simulate } from '../models/shared/simulator/simulate.js';
import { apiEvent } from './support/api-event.js';
import { type Figure, info, printTable } from './support/figures.js';
import type { ColdConfig, LoadConfig, LoadResult, RunFigures } from './support/scoring-load.js';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const node = join(root, 'node_modules', '.bin', 'node');
const FIXED_RATE = 100;
const FIXED_SECONDS = 20;
/** Right after ready: the rate a new user's demo sends, over the seconds a fresh stage used to miss it. */
const COLD_RATE = 30;
const COLD_SECONDS = 10;
const RAMP = [1, 2, 4, 8, 16, 32];
const RAMP_SECONDS = 5;
/** The dev stage's API p99 alarm threshold: above it a rate is not "sustained", whatever it counts. */
const SANE_P99_MS = 250;
const BARE_ITERATIONS = 600;
const DIRECT_INVOKES = 300;
const DAY = 86_400_000;

const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;
const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Simulated traffic moved to the present by whole days: the first day streamed as history, the second scored. */
function traffic(tag: string) {
  const start = '2026-01-05';
  const sim = simulate({ seed: 11, days: 2, customers: 1000, start });
  const shift = Math.floor((Date.now() - (Date.parse(`${start}T00:00:00Z`) + 2 * DAY)) / DAY) * DAY;
  const liveFrom = Date.parse(`${start}T00:00:00Z`) + DAY + shift;
  const moved = sim.transactions.map((t): Transaction => {
    const m = /([+-])(\d{2}):(\d{2})$/.exec(t.timestamp);
    const offset = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
    return {
      ...t,
      customerId: `${tag}-${t.customerId}`,
      merchantId: `${tag}-${t.merchantId}`,
      transactionId: `${tag}-${t.transactionId}`,
      timestamp: formatTimestamp(Date.parse(t.timestamp) + shift, offset),
    };
  });
  return {
    history: moved.filter((t) => Date.parse(t.timestamp) < liveFrom),
    live: moved.filter((t) => Date.parse(t.timestamp) >= liveFrom),
  };
}

function scoreFunction(stage: LocalStage) {
  const fn = stage.runtime.functions.find((f) => f.environment.MODEL_ENDPOINT_NAME && f.environment.DECISIONS_TABLE);
  if (!fn) throw new Error('the dev template has no score function (one with MODEL_ENDPOINT_NAME and DECISIONS_TABLE)');
  const env = (k: string) => {
    const v = fn.environment[k];
    if (!v) throw new Error(`the score function has no ${k} in its environment`);
    return v;
  };
  return {
    fn,
    featuresTable: env('FEATURES_TABLE'),
    decisionsTable: env('DECISIONS_TABLE'),
    endpointName: env('MODEL_ENDPOINT_NAME'),
  };
}

/** Sequential invocations through the Lambda runtime alone (no HTTP, no API emulator): ms per call. */
async function directInvokes(stage: LocalStage, target: string, event: (i: number) => unknown, n: number) {
  for (let i = 0; i < 30; i++) await stage.runtime.invoke(target, event(-1 - i));
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await stage.runtime.invoke(target, event(i));
    if (!r.ok) throw new Error(`direct invoke of ${target} failed: ${r.errorType}: ${r.errorMessage}`);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

function runLoad(configPath: string): Promise<LoadResult>;
function runLoad(configPath: string, phase: 'cold'): Promise<RunFigures>;
function runLoad(configPath: string, phase?: 'cold'): Promise<LoadResult | RunFigures> {
  const args = [
    '--import',
    'tsx',
    join(root, 'bench', 'support', 'scoring-load.ts'),
    configPath,
    ...(phase ? [phase] : []),
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(node, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = out.trim().split('\n').at(-1);
      if (code !== 0 || !last) return reject(new Error(`the load client exited with ${code}`));
      resolvePromise(JSON.parse(last) as LoadResult | RunFigures);
    });
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'aims-bench-scoring-'));
  const synth = !existsSync(join(root, 'cdk.out', 'assembly-Dev'));
  say(`▶ starting the local stage (${synth ? 'synthesizing first' : 'from cdk.out'}) in ${dataDir}`);
  const options = { port: 0, synth, enforceLimits: false, dataDir, log: () => {} };
  // Workers time out at init (10 s) when other jobs load the two cores; one more try, then the error stands.
  const stage = await startLocalStage(options).catch((error: unknown) => {
    say(`  the stage did not start (${String(error).split('\n')[0]}); trying once more`);
    return startLocalStage({ ...options, synth: false });
  });
  try {
    say(`  ready in ${round(stage.readySeconds, 1)} s at ${stage.url}`);
    const tag = `b${Date.now().toString(36)}`;
    const { history, live } = traffic(tag);
    const creds = stage.api.credentials();
    const gateway = creds.clients.find((c) => c.name === 'merchant-gateway');
    if (!gateway?.apiKey) throw new Error('the dev template has no merchant-gateway client with an API key');
    const token = await stage.api.mintToken({ client: 'merchant-gateway' });
    // The first seconds after ready, before anything else touches the stage: what a new user's demo meets.
    const coldConfig: ColdConfig = {
      url: stage.url,
      token,
      transactions: live.slice(0, COLD_RATE * COLD_SECONDS),
      idPrefix: `${tag}-cold`,
      rate: COLD_RATE,
      seconds: COLD_SECONDS,
    };
    const coldPath = join(dataDir, 'cold-config.json');
    writeFileSync(coldPath, JSON.stringify(coldConfig));
    say('▶ load client right after ready (separate process)');
    const coldRun = await runLoad(coldPath, 'cold');
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    };

    // History through the API's stream route, so the scorer reads real feature items, as in production.
    for (let i = 0; i < history.length; i += 500) {
      const res = await fetch(`${stage.url}/v1/transactions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ transactions: history.slice(i, i + 500) }),
      });
      if (!res.ok) throw new Error(`POST /v1/transactions answered ${res.status}: ${await res.text()}`);
    }
    await stage.settle();
    say(`  streamed ${history.length} history transactions; ${live.length} live transactions as request bodies`);

    const s = scoreFunction(stage);
    // A real audit record of this model and feature set, for the bare PutItem.
    const sample = live[0] as Transaction;
    const scored = await fetch(`${stage.url}/v1/score`, { method: 'POST', headers, body: JSON.stringify(sample) });
    if (!scored.ok) throw new Error(`POST /v1/score answered ${scored.status}: ${await scored.text()}`);
    Object.assign(process.env, sdkEnvironment(stage.endpoints, stage.template.region));
    const doc = dynamoDocumentClient();
    const audit = (
      await doc.send(new GetCommand({ TableName: s.decisionsTable, Key: { transactionId: sample.transactionId } }))
    ).Item;
    if (!audit) throw new Error(`no audit record for ${sample.transactionId} after scoring it`);
    const baseline = referenceBaseline();
    const vector = FEATURE_NAMES.map((n) => Number((audit.features as Record<string, number>)[n] ?? baseline[n]));
    const modelRows = [
      vector,
      ...vector.map((_, i) =>
        vector.map((v, k) => (k === i ? baseline[FEATURE_NAMES[k] as keyof typeof baseline] : v)),
      ),
    ];
    // The runtime alone: what the worker hop and the handler cost without HTTP and the API emulator.
    const caller = { clientId: gateway.clientId, scopes: 'aims/score aims/ingest' };
    const health = stage.runtime.functions.find((f) => /health/i.test(f.name));
    say(`▶ direct invokes through the Lambda runtime (${DIRECT_INVOKES} each, sequential)`);
    const directScore = await directInvokes(
      stage,
      s.fn.name,
      (i) =>
        apiEvent(
          caller,
          i,
          '/v1/score',
          JSON.stringify({
            ...(live[(i + live.length) % live.length] as Transaction),
            transactionId: `${tag}-direct-${i}`,
          }),
        ),
      DIRECT_INVOKES,
    );
    const directHealth = health
      ? await directInvokes(stage, health.name, (i) => apiEvent(caller, i, '/v1/health', null), DIRECT_INVOKES)
      : [];
    say(`  score p50 ${round(quantile(directScore, 0.5))} ms, health p50 ${round(quantile(directHealth, 0.5))} ms`);

    const config: LoadConfig = {
      url: stage.url,
      token,
      transactions: live.slice(1),
      idPrefix: tag,
      sdkEnv: sdkEnvironment(stage.endpoints, stage.template.region),
      featuresTable: s.featuresTable,
      decisionsTable: s.decisionsTable,
      endpointName: s.endpointName,
      featureKeys: live.slice(0, 500).map((t) => [`customer#${t.customerId}`, `merchant#${t.merchantId}`] as const),
      modelRows,
      auditItem: audit,
      fixedRate: FIXED_RATE,
      fixedSeconds: FIXED_SECONDS,
      rampConcurrency: RAMP,
      rampSeconds: RAMP_SECONDS,
      saneP99Ms: SANE_P99_MS,
      bareIterations: BARE_ITERATIONS,
    };
    const configPath = join(dataDir, 'load-config.json');
    writeFileSync(configPath, JSON.stringify(config));
    say('▶ load client (separate process)');
    const cacheBefore = stage.api.authorizerCache();
    const load = await runLoad(configPath);
    const cache = stage.api.authorizerCache();
    const stats = stage.runtime.stats().find((f) => f.name === s.fn.name);

    const p99Target = 10;
    const bestRps = load.best?.rps ?? 0;
    const ceiling = load.bareCeiling?.rps ?? Number.NaN;
    /** A run's latency at a quantile against the bare-call sum at that quantile, `factor` times it the target; a
     *  `clean` run must also have no errors and no non-2xx answers. */
    const againstBare = (name: string, run: RunFigures, q: 'p50' | 'p99', factor: number, clean: boolean): Figure => {
      const sum = q === 'p50' ? load.bare.sumP50 : load.bare.sumP99;
      return {
        name,
        value: round(run[q]),
        unit: 'ms',
        target: `<= ${factor} × bare-call sum ${q}`,
        baseline: round(sum),
        ratio: round(run[q] / sum),
        pass: run[q] <= factor * sum && (!clean || (run.errors === 0 && run.non2xx === 0)),
      };
    };
    const figures: Figure[] = [
      {
        name: `score p99 at ${FIXED_RATE} req/s`,
        value: round(load.fixed.p99),
        unit: 'ms',
        target: `<= ${p99Target} ms`,
        baseline: null,
        ratio: null,
        pass: load.fixed.p99 <= p99Target && load.fixed.errors === 0 && load.fixed.non2xx === 0,
      },
      againstBare(`score p50 at ${FIXED_RATE} req/s`, load.fixed, 'p50', 1.5, false),
      againstBare(`score p99 at ${FIXED_RATE} req/s against the bare calls`, load.fixed, 'p99', 2, false),
      againstBare(`score p50 at ${COLD_RATE} req/s, first ${COLD_SECONDS} s after ready`, coldRun, 'p50', 1.5, true),
      againstBare(`score p99 at ${COLD_RATE} req/s, first ${COLD_SECONDS} s after ready`, coldRun, 'p99', 2, true),
      info(`bare calls on the score request path`, load.bare.calls.length, 'calls'),
      {
        name: `highest sustained score rate (0 errors, p99 <= ${SANE_P99_MS} ms)`,
        value: round(bestRps, 1),
        unit: 'req/s',
        target: '>= 70% of the bare-call ceiling',
        baseline: round(ceiling, 1),
        ratio: round(bestRps / ceiling),
        pass: bestRps >= 0.7 * ceiling,
      },
      info(`score rate achieved in the ${FIXED_RATE} req/s run`, load.fixed.rps, 'req/s'),
      info(`score p90 at ${FIXED_RATE} req/s`, load.fixed.p90, 'ms'),
      info(
        `scorer's own latencyMs p50 at ${FIXED_RATE} req/s (features + model + compute)`,
        load.fixed.scorerP50 ?? Number.NaN,
        'ms',
      ),
      info('score via Lambda runtime alone p50 (no HTTP, no API emulator)', quantile(directScore, 0.5), 'ms'),
      info('health via Lambda runtime alone p50 (worker hop floor)', quantile(directHealth, 0.5), 'ms'),
      ...load.bare.calls.map((c) => info(`bare ${c.name} p50`, c.p50, 'ms')),
      info('bare-call sum p99', load.bare.sumP99, 'ms'),
      info(`concurrency of the best sustained rate`, load.best?.concurrency ?? 0, 'connections'),
      info('p50 at the best sustained rate', load.best?.p50 ?? Number.NaN, 'ms'),
      info('p99 at the best sustained rate', load.best?.p99 ?? Number.NaN, 'ms'),
      ...load.ramp.map((r) =>
        info(
          `score rate at concurrency ${r.concurrency} (p99 ${round(r.p99)} ms, ${r.errors + r.non2xx} errors)`,
          r.rps,
          'req/s',
        ),
      ),
      info(
        'authorizer cache hit rate during the load',
        (cache.hits - cacheBefore.hits) /
          Math.max(1, cache.hits + cache.misses - cacheBefore.hits - cacheBefore.misses),
        'ratio',
      ),
    ];

    const resultsDir = join(root, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const result = {
      benchmark: 'scoring',
      date: new Date().toISOString(),
      machine: { cores: cpus().length, node: process.version },
      seconds: round((Date.now() - started) / 1000, 1),
      scoreFunction: stats ?? null,
      figures,
      ramp: load.ramp,
      bare: load.bare,
      bareCeiling: load.bareCeiling,
      cold: coldRun,
    };
    writeFileSync(join(resultsDir, 'scoring.json'), `${JSON.stringify(result, null, 2)}\n`);

    printTable(figures);
    say(`\nwrote bench/results/scoring.json in ${result.seconds} s`);
  } finally {
    await stage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
