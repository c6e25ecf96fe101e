// The client side of the scoring benchmark, in its own process so the load generator never shares an event loop
// with the API emulator and the local backends: autocannon against POST /v1/score and the scorer's bare calls.
// Run by bench/scoring.bench.ts: `node --import tsx bench/support/scoring-load.ts <config.json>`; prints one JSON line.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { BatchGetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import autocannon from 'autocannon';
import { dynamoDocumentClient, sageMakerRuntimeClient } from '../../lambdas/shared/aws.js';

export interface LoadConfig {
  readonly url: string;
  /** The merchant gateway's token: its one credential (the authorizer names its usage-plan key). */
  readonly token: string;
  /** Request bodies are these transactions under fresh ids (every request scores a new transaction). */
  readonly transactions: readonly Record<string, unknown>[];
  readonly idPrefix: string;
  /** AWS_ENDPOINT_URL_* and fake credentials, as the scorer's worker gets them. */
  readonly sdkEnv: Readonly<Record<string, string>>;
  readonly featuresTable: string;
  readonly decisionsTable: string;
  readonly endpointName: string;
  /** `[customerKey, merchantKey]` pairs that exist in the features table. */
  readonly featureKeys: readonly (readonly [string, string])[];
  /** The F+1 occlusion rows the scorer sends in one call. */
  readonly modelRows: readonly (readonly number[])[];
  /** A real audit record, re-put under fresh ids. */
  readonly auditItem: Record<string, unknown>;
  readonly fixedRate: number;
  readonly fixedSeconds: number;
  readonly rampConcurrency: readonly number[];
  readonly rampSeconds: number;
  /** Highest p99 (ms) at which a rate still counts as sustained. */
  readonly saneP99Ms: number;
  readonly bareIterations: number;
}

export interface RunFigures {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly scorerP50?: number;
}

export interface BareCall {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
}

/** The config of the run right after ready (`cold` as the second argument): only a paced run, no bare calls. */
export interface ColdConfig {
  readonly url: string;
  /** The merchant gateway's token: its one credential (the authorizer names its usage-plan key). */
  readonly token: string;
  readonly transactions: readonly Record<string, unknown>[];
  readonly idPrefix: string;
  readonly rate: number;
  readonly seconds: number;
}

export interface LoadResult {
  readonly fixed: RunFigures;
  readonly ramp: (RunFigures & { readonly concurrency: number })[];
  readonly best: (RunFigures & { readonly concurrency: number }) | null;
  readonly bare: {
    readonly calls: BareCall[];
    readonly sumP50: number;
    readonly sumP99: number;
  };
  readonly bareCeiling: { readonly concurrency: number; readonly rps: number; readonly p50: number } | null;
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
const sortNum = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
const log = (line: string) => process.stderr.write(`  ${line}\n`);

const cold = process.argv[3] === 'cold';
const config = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as LoadConfig;
if (!cold) Object.assign(process.env, config.sdkEnv);

let nextId = 0;
const body = () => {
  const i = nextId++;
  const txn = config.transactions[i % config.transactions.length];
  return JSON.stringify({ ...txn, transactionId: `${config.idPrefix}-${i}` });
};

/** One autocannon run against POST /v1/score; latencies are taken per response (µs resolution, 2xx only). */
function scoreRun(o: { connections: number; seconds: number }, parseScorer = false): Promise<RunFigures> {
  const latencies: number[] = [];
  const scorer: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${config.url}/v1/score`,
        method: 'POST',
        connections: o.connections,
        duration: o.seconds,
        headers: {
          authorization: `Bearer ${config.token}`,
          'content-type': 'application/json',
        },
        requests: [
          {
            setupRequest: (req) => ({ ...req, body: body() }),
            ...(parseScorer
              ? {
                  onResponse: (status: number, resBody: string) => {
                    if (status === 200) scorer.push((JSON.parse(resBody) as { latencyMs: number }).latencyMs);
                  },
                }
              : {}),
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const sorted = sortNum(latencies);
        resolve({
          requests: result.requests.total,
          seconds: result.duration,
          rps: latencies.length / result.duration,
          p50: quantile(sorted, 0.5),
          p90: quantile(sorted, 0.9),
          p99: quantile(sorted, 0.99),
          errors: result.errors + result.timeouts,
          non2xx: result.non2xx,
          ...(parseScorer ? { scorerP50: quantile(sortNum(scorer), 0.5) } : {}),
        });
      },
    );
    instance.on('response', (_client, status: number, _bytes, responseTime: number) => {
      if (status >= 200 && status < 300) latencies.push(responseTime);
    });
  });
}

/**
 * The fixed-rate run: requests start at evenly spaced times (open loop), each on a pooled keep-alive connection,
 * whatever the answers before it did. autocannon's `overallRate` cannot do this: each connection sends its share
 * back to back at the start of every second, so "100 req/s over 16 connections" is a burst at concurrency 16 each
 * second, and its latencies are those of that burst. Latency runs from the request's scheduled start, so a
 * generator that falls behind counts against the server, never hides its queue (no coordinated omission).
 */
async function pacedRun(o: { rate: number; seconds: number }, parseScorer = false): Promise<RunFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(`${config.url}/v1/score`);
  const headers = {
    authorization: `Bearer ${config.token}`,
    'content-type': 'application/json',
  };
  const latencies: number[] = [];
  const scorer: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const send = (due: number) =>
    new Promise<void>((done) => {
      const payload = body();
      const req = request(
        url,
        { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(payload)) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              latencies.push(performance.now() - due);
              if (parseScorer) {
                scorer.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { latencyMs: number }).latencyMs);
              }
            } else non2xx++;
            done();
          });
          res.on('error', () => {
            errors++;
            done();
          });
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        done();
      });
      req.end(payload);
    });
  const total = Math.round(o.rate * o.seconds);
  const interval = 1000 / o.rate;
  const pending: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(due));
  }
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = sortNum(latencies);
  return {
    requests: total,
    seconds,
    rps: latencies.length / seconds,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    errors,
    non2xx,
    ...(parseScorer ? { scorerP50: quantile(sortNum(scorer), 0.5) } : {}),
  };
}

// ---- the bare calls ---------------------------------------------------------------------------------------------
const doc = dynamoDocumentClient();
const sagemaker = sageMakerRuntimeClient();
// The cold run makes no bare calls (its config has no model rows).
const modelBody = cold
  ? new Uint8Array()
  : new TextEncoder().encode(
      JSON.stringify({
        inputs: [
          {
            name: 'features',
            shape: [config.modelRows.length, config.modelRows[0]?.length ?? 0],
            datatype: 'FP32',
            data: config.modelRows.flat(),
          },
        ],
      }),
    );
let bareId = 0;
const BARE_CALLS = ['BatchGetItem features', 'InvokeEndpoint (F+1 rows)', 'PutItem audit (conditional)'] as const;

/** The scorer's calls, one after another (the outbox sends the events and the log line off the request path);
 * returns each call's time in ms. */
async function bareSequence(): Promise<number[]> {
  const i = bareId++;
  const [customer, merchant] = config.featureKeys[i % config.featureKeys.length] as readonly [string, string];
  const id = `${config.idPrefix}-bare-${i}`;
  const times: number[] = [];
  const time = async (call: () => Promise<unknown>) => {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  };
  await time(() =>
    doc.send(
      new BatchGetCommand({ RequestItems: { [config.featuresTable]: { Keys: [{ pk: customer }, { pk: merchant }] } } }),
    ),
  );
  await time(() =>
    sagemaker.send(
      new InvokeEndpointCommand({
        EndpointName: config.endpointName,
        ContentType: 'application/json',
        Accept: 'application/json',
        InferenceId: id,
        Body: modelBody,
      }),
    ),
  );
  const item = { ...config.auditItem, transactionId: id };
  await time(() =>
    doc.send(
      new PutCommand({
        TableName: config.decisionsTable,
        Item: item,
        ConditionExpression: 'attribute_not_exists(transactionId)',
      }),
    ),
  );
  return times;
}

async function bareSequential(iterations: number) {
  for (let i = 0; i < 50; i++) await bareSequence();
  const perCall: number[][] = BARE_CALLS.map(() => []);
  const sums: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const times = await bareSequence();
    for (const [k, t] of times.entries()) perCall[k]?.push(t);
    sums.push(times.reduce((a, b) => a + b, 0));
  }
  const sortedSums = sortNum(sums);
  return {
    calls: BARE_CALLS.map((name, k) => {
      const s = sortNum(perCall[k] ?? []);
      return { name, p50: quantile(s, 0.5), p99: quantile(s, 0.99) };
    }),
    sumP50: quantile(sortedSums, 0.5),
    sumP99: quantile(sortedSums, 0.99),
  };
}

/** The bare sequence in `concurrency` parallel loops for `seconds`: sequences per second. */
async function bareConcurrent(concurrency: number, seconds: number) {
  const until = performance.now() + seconds * 1000;
  const sums: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) sums.push((await bareSequence()).reduce((a, b) => a + b, 0));
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { concurrency, rps: sums.length / elapsed, p50: quantile(sortNum(sums), 0.5) };
}

const round = (x: number) => Math.round(x * 100) / 100;
const show = (f: RunFigures) =>
  `${round(f.rps)} req/s, p50 ${round(f.p50)} ms, p99 ${round(f.p99)} ms, ${f.errors} errors, ${f.non2xx} non-2xx`;

async function main(): Promise<LoadResult> {
  log('warm-up: every worker of the score function, 3 s');
  await scoreRun({ connections: Math.max(...config.rampConcurrency), seconds: 3 });
  await pacedRun({ rate: config.fixedRate, seconds: 2 });

  log(`(a) ${config.fixedRate} req/s for ${config.fixedSeconds} s, evenly paced (open loop)`);
  const fixed = await pacedRun({ rate: config.fixedRate, seconds: config.fixedSeconds }, true);
  log(`    ${show(fixed)}, scorer p50 ${round(fixed.scorerP50 ?? Number.NaN)} ms`);

  log(`(b) ramp: concurrency ${config.rampConcurrency.join(', ')}, ${config.rampSeconds} s each`);
  const ramp: (RunFigures & { concurrency: number })[] = [];
  for (const c of config.rampConcurrency) {
    const r = { concurrency: c, ...(await scoreRun({ connections: c, seconds: config.rampSeconds })) };
    ramp.push(r);
    log(`    concurrency ${c}: ${show(r)}`);
  }
  const sustained = ramp.filter((r) => r.errors === 0 && r.non2xx === 0 && r.p99 <= config.saneP99Ms);
  const best = sustained.reduce<(typeof ramp)[number] | null>((b, r) => (!b || r.rps > b.rps ? r : b), null);

  log(`(c) bare calls, ${config.bareIterations} sequences one after another`);
  const bare = await bareSequential(config.bareIterations);
  for (const c of bare.calls) log(`    ${c.name}: p50 ${round(c.p50)} ms, p99 ${round(c.p99)} ms`);
  log(`    sum p50 ${round(bare.sumP50)} ms`);

  let bareCeiling: LoadResult['bareCeiling'] = null;
  if (best) {
    log(`(d) bare sequence at concurrency ${best.concurrency} for ${config.rampSeconds} s`);
    bareCeiling = await bareConcurrent(best.concurrency, config.rampSeconds);
    log(`    ${round(bareCeiling.rps)} sequences/s, p50 ${round(bareCeiling.p50)} ms`);
  }
  return { fixed, ramp, best, bare, bareCeiling };
}

/** Right after ready: one paced run, nothing warmed by this client first. */
async function coldRun(): Promise<RunFigures> {
  const c = config as unknown as ColdConfig;
  log(`(cold) ${c.rate} req/s for ${c.seconds} s from the moment the stage said ready`);
  const figures = await pacedRun({ rate: c.rate, seconds: c.seconds });
  log(`    ${show(figures)}`);
  return figures;
}

const result = cold ? await coldRun() : await main();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
