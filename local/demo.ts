// `npm run demo`: replays simulated card traffic through the running local stage's API (score, stream, feedback) at a
// steady rate and shows what AIMS decides, live, against the simulator's ground truth.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { predictScope, type ScoreResponse } from '../lambdas/shared/contracts/api.js';
import { environments } from '../lib/config/environments.js';
import type { Label, Transaction } from '../models/shared/contracts/transaction.js';
import type { FraudScenario } from '../models/shared/simulator/simulate.js';
import { type LocalCredentials, localCredentials } from './api/index.js';
import { runBatchDemo } from './demo-batch.js';
import { runDriftDemo } from './demo-drift.js';
import {
  PREDICT_CLIENT,
  PREDICT_MODEL,
  type PredictSummary,
  pickMerchantDays,
  showMerchantPredictions,
} from './demo-predict.js';
import { demoTraffic } from './demo-traffic.js';
import { defaultDataDir, type LocalStage, ROOT, startLocalStage } from './stage.js';

/** The dev usage plan every client key is on (the same config the template is synthesized from). */
const DEV_PLAN = environments.Dev.api;
/** Below the plan's steady rate, leaving room for the stream batches that share the merchant-gateway key. */
const DEFAULT_RATE = Math.floor(DEV_PLAN.rateLimit * 0.8);

interface DemoOptions {
  rate: number;
  concurrency: number;
  duration?: number;
  transactions?: number;
  seed: number;
  customers: number;
  days: number;
  fraudRate: number;
  ingestBatch: number;
  merchants: number;
  batch: boolean;
  dataDir?: string;
  start: boolean;
  drift: boolean;
  synth: boolean;
  limits: boolean;
}

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
};
const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!(n > 0 && Number.isFinite(n))) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
};
const seedValue = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InvalidArgumentError(`expected an integer seed in 0..4294967295, got '${value}'`);
  }
  return n;
};
const fraudRate = (value: string): number => {
  const n = Number(value);
  if (!(n >= 0 && n < 0.5)) throw new InvalidArgumentError(`expected a rate in [0, 0.5), got '${value}'`);
  return n;
};

function parseOptions(argv: readonly string[]): DemoOptions {
  const program = new Command('npm run demo --')
    .description(
      'Replays simulated card traffic through the local stage: POST /v1/score per transaction, POST /v1/transactions\n' +
        'for the stream (in batches), POST /v1/feedback as labels arrive; prints a live summary and a final table.\n' +
        'The first simulated days go to the stream only, as history, so the features are warm when scoring starts.\n' +
        `Then the second model: POST /v1/models/${PREDICT_MODEL}/predict for a few of the live day's merchant-days.`,
    )
    .option('--rate <n>', 'score requests per second', positiveNumber, DEFAULT_RATE)
    .option('--concurrency <n>', 'most score requests in flight', positiveInt, 8)
    .option(
      '--duration <seconds>',
      'stop after this long (default: 60 s unless --transactions is given)',
      positiveNumber,
    )
    .option('--transactions <n>', 'stop after scoring this many transactions', positiveInt)
    .option('--seed <n>', 'simulator seed (same seed, same traffic)', seedValue, 7)
    .option('--customers <n>', 'simulated customers', positiveInt, 2000)
    .option('--days <n>', 'simulated days; all but the last are streamed as history first', positiveInt, 2)
    .option('--fraud-rate <r>', 'share of simulated transactions that are fraud', fraudRate, 0.01)
    .option('--ingest-batch <n>', 'transactions per POST /v1/transactions', positiveInt, 50)
    .option(
      '--merchants <n>',
      `merchant-days of the live day to predict with ${PREDICT_MODEL} after the traffic`,
      positiveInt,
      4,
    )
    .option('--data-dir <dir>', 'the local stage data directory (default: $AIMS_DATA_DIR or .aims)')
    .option('--start', 'start the local stage in this process (in a temporary data directory unless --data-dir)', false)
    .option(
      '--drift',
      'instead of traffic, show the model lifecycle: drift injected → detected → retraining → gate → new version (implies --start)',
      false,
    )
    .option(
      '--batch',
      'instead of traffic, show a nightly batch run of merchant-risk: lake → Athena → transform → PredictionsReady → predictions API (implies --start)',
      false,
    )
    .option('--synth', 'with --start: synthesize the dev stage first (default: only when cdk.out is missing)', false)
    .addOption(
      new Option('--no-limits', 'with --start: do not enforce the usage plan, so --rate may exceed its limit').default(
        true,
      ),
    )
    .addHelpText(
      'after',
      `
Rate limits: every client key is on the dev usage plan, ${DEV_PLAN.rateLimit} req/s steady with bursts of ${DEV_PLAN.burstLimit}
and ${DEV_PLAN.dailyQuota.toLocaleString('en')} requests a day, enforced by \`npm start\` as API Gateway does. The score requests and the
stream batches share the merchant-gateway key, so the default --rate is ${DEFAULT_RATE}; above about ${DEV_PLAN.rateLimit} req/s the
API answers 429 and the demo counts them. The limit comes from the dev stage's config (lib/config/environments.ts)
and cannot be raised from here; for a faster run start the stage with the demo and no limits:
  npm run demo -- --start --no-limits --rate 150 --concurrency 16

Examples:
  npm start                      # in one terminal
  npm run demo                   # in another: 60 s at ${DEFAULT_RATE} req/s
  npm run demo -- --transactions 2000 --seed 42
  npm run demo -- --start        # one command: starts a local stage in a temporary directory, then the demo`,
    )
    .showHelpAfterError()
    .parse(argv, { from: 'user' });
  const o = program.opts<DemoOptions>();
  if (o.drift || o.batch) o.start = true;
  if (o.drift && o.batch) program.error('--drift and --batch are two demos: pick one');
  if (!o.limits && !o.start) program.error('--no-limits only applies to a stage the demo starts itself (--start)');
  if (o.synth && !o.start) program.error('--synth only applies with --start');
  if (o.days < 2) program.error('--days must be at least 2: the first days build the customers\u2019 history');
  return o;
}

// ---- traffic ----------------------------------------------------------------------------------------------------

// ---- the API client ---------------------------------------------------------------------------------------------

type Client = LocalCredentials['clients'][number];

/** One OAuth2 client-credentials client; its token is its one credential (the authorizer names its usage-plan key),
 *  renewed before it expires. */
class ApiClient {
  private token: { value: string; renewAt: number } | undefined;

  constructor(
    private readonly apiUrl: string,
    private readonly client: Client,
  ) {
    // Without a usage-plan key the authorizer refuses the client's tokens: say so before the first call.
    if (!client.apiKey) throw new Error(`client '${client.name}' has no usage-plan API key in the template`);
  }

  private async accessToken(): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return this.token.value;
    const res = await fetch(this.client.tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(this.client.clientId)}:${encodeURIComponent(this.client.clientSecret)}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    if (!res.ok) throw new Error(`token endpoint answered ${res.status} for ${this.client.name}: ${await res.text()}`);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    this.token = { value: body.access_token, renewAt: Date.now() + body.expires_in * 800 };
    return body.access_token;
  }

  async post(
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${this.apiUrl}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await this.accessToken()}`,
        'content-type': 'application/json',
        ...headers,
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }
}

// ---- statistics -------------------------------------------------------------------------------------------------

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);

class Stats {
  readonly latencies: number[] = [];
  readonly scorerLatencies: number[] = [];
  private readonly completions: number[] = [];
  readonly decisions = { approve: 0, review: 0, decline: 0 };
  readonly fraud = { caught: 0, missed: 0 };
  readonly legit = { flagged: 0, passed: 0 };
  readonly byScenario = new Map<string, { caught: number; total: number }>();
  degraded = 0;
  /** The second model's on-demand predictions after the traffic. */
  predictions: PredictSummary | undefined;
  readonly errors = new Map<string, number>();
  ingest = { batches: 0, accepted: 0, failed: 0 };
  feedback = { sent: 0, fraud: 0 };
  readonly started = performance.now();

  error(route: string, status: number | string): void {
    const key = `${route} ${status}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  scored(ms: number, r: ScoreResponse, truth: { isFraud: boolean; scenario: FraudScenario | null } | undefined): void {
    this.latencies.push(ms);
    this.scorerLatencies.push(r.latencyMs);
    this.completions.push(performance.now());
    this.decisions[r.decision]++;
    if (r.degraded) this.degraded++;
    const flagged = r.decision !== 'approve';
    if (truth?.isFraud) {
      if (flagged) this.fraud.caught++;
      else this.fraud.missed++;
      const s = this.byScenario.get(truth.scenario ?? 'unknown') ?? { caught: 0, total: 0 };
      s.total++;
      if (flagged) s.caught++;
      this.byScenario.set(truth.scenario ?? 'unknown', s);
    } else if (flagged) this.legit.flagged++;
    else this.legit.passed++;
  }

  /** Completions per second over the last five seconds. */
  recentRate(): number {
    const now = performance.now();
    const window = Math.min(5_000, now - this.started);
    let n = 0;
    for (let i = this.completions.length - 1; i >= 0 && now - (this.completions[i] as number) <= window; i--) n++;
    return window > 0 ? (n * 1000) / window : 0;
  }

  get count(): number {
    return this.latencies.length;
  }
  get errorCount(): number {
    return [...this.errors.values()].reduce((a, b) => a + b, 0);
  }
  falsePositiveRate(): number {
    const legit = this.legit.flagged + this.legit.passed;
    return legit === 0 ? 0 : this.legit.flagged / legit;
  }
  percentiles(): { p50: number; p99: number } {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
  }
}

// ---- the run ----------------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const pct = (num: number, den: number) => (den === 0 ? '–' : `${((100 * num) / den).toFixed(1)} %`);

/** Finds the running stage through the credentials it wrote, and checks that it answers. */
async function connect(dataDir: string): Promise<LocalCredentials> {
  let creds: LocalCredentials;
  try {
    creds = localCredentials(dataDir);
  } catch {
    throw new Error(
      `no local stage has run with the data directory ${dataDir}.\n` +
        '  Start one in another terminal with `npm start` (same AIMS_DATA_DIR), or let the demo start its own:\n' +
        '  npm run demo -- --start',
    );
  }
  try {
    const res = await fetch(`${creds.apiUrl}/v1/health`, { signal: AbortSignal.timeout(3_000) });
    if (!res.ok) throw new Error(`GET /v1/health answered ${res.status}`);
  } catch (error) {
    throw new Error(
      `no local stage answers at ${creds.apiUrl} (${errorText(error)}); ${dataDir}/api/clients.json is from an earlier run.\n` +
        '  Start it with `npm start` in another terminal (same AIMS_DATA_DIR), or run `npm run demo -- --start`.',
    );
  }
  return creds;
}

function clientNamed(creds: LocalCredentials, name: string, scope: string): Client {
  const c = creds.clients.find((x) => x.name === name);
  if (!c)
    throw new Error(`the local stage has no '${name}' client; known: ${creds.clients.map((x) => x.name).join(', ')}`);
  if (!c.scopes.includes(scope)) throw new Error(`client '${name}' lacks the ${scope} scope`);
  return c;
}

/**
 * Waits until the stream's consumers have processed everything streamed so far: exactly through the stage when the
 * demo runs it, else by watching the event-source mappings' checkpoints (`<dataDir>/esm/`) until they stop moving.
 */
function streamSettler(dataDir: string, stage: LocalStage | undefined): (since: number) => Promise<boolean> {
  if (stage) return () => stage.settle().then(() => true);
  return async (since) => {
    const dir = join(dataDir, 'esm');
    const giveUp = Date.now() + 120_000;
    const lastUpdate = () => {
      if (!existsSync(dir)) return 0;
      let latest = 0;
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
        try {
          const state = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
            shards?: Record<string, { updatedAt?: string }>;
          };
          for (const s of Object.values(state.shards ?? {}))
            latest = Math.max(latest, Date.parse(s.updatedAt ?? '') || 0);
        } catch {
          // A checkpoint being replaced right now: read it on the next poll.
        }
      }
      return latest;
    };
    while (Date.now() < giveUp) {
      await sleep(250);
      const latest = lastUpdate();
      // Moved since the history was sent, and quiet for two poll intervals of the mapping.
      if (latest >= since && Date.now() - latest > 2_000) return true;
    }
    return false;
  };
}

async function run(
  o: DemoOptions,
  creds: LocalCredentials,
  waitForStream: (since: number) => Promise<boolean>,
): Promise<Stats> {
  const runTag = `demo${Date.now().toString(36)}`;
  const write = (line: string) => process.stdout.write(`${line}\n`);
  const simStarted = performance.now();
  const traffic = demoTraffic(o, runTag);
  const duration = o.duration ?? (o.transactions === undefined ? 60 : undefined);
  const planned = Math.min(
    traffic.live.length,
    o.transactions ?? Number.POSITIVE_INFINITY,
    duration === undefined ? Number.POSITIVE_INFINITY : Math.ceil(duration * o.rate),
  );
  write(
    `▶ simulated ${o.customers} customers over ${o.days} days (seed ${o.seed}) in ${fmt((performance.now() - simStarted) / 1000)} s: ` +
      `${traffic.history.length} history + ${traffic.live.length} live transactions, ${traffic.labels.length} labels; run ${runTag}`,
  );
  if (o.rate + o.rate / o.ingestBatch > DEV_PLAN.rateLimit && o.limits) {
    write(
      `! --rate ${o.rate} plus the stream batches exceeds the dev usage plan (${DEV_PLAN.rateLimit} req/s per key): expect 429s (see --help)`,
    );
  }

  const gateway = new ApiClient(creds.apiUrl, clientNamed(creds, 'merchant-gateway', 'aims/score'));
  const chargebacks = new ApiClient(creds.apiUrl, clientNamed(creds, 'chargeback-feed', 'aims/feedback'));
  const stats = new Stats();

  const ingest = async (batch: Transaction[]) => {
    try {
      const r = await gateway.post('/v1/transactions', { transactions: batch });
      if (r.status !== 200) return stats.error('ingest', r.status);
      const body = r.json as { accepted: number; failed: unknown[] };
      stats.ingest.batches++;
      stats.ingest.accepted += body.accepted;
      stats.ingest.failed += body.failed.length;
    } catch (error) {
      stats.error('ingest', (error as { cause?: { code?: string } }).cause?.code ?? 'network');
    }
  };

  // History: the stream only, in the largest batches the API takes, paced under the plan's burst.
  const historyBatch = 500;
  const historyStarted = Date.now();
  for (let i = 0; i < traffic.history.length; i += historyBatch)
    await ingest(traffic.history.slice(i, i + historyBatch));
  write(`  streamed ${stats.ingest.accepted} history transactions in ${stats.ingest.batches} batches`);
  const caughtUp = await waitForStream(historyStarted);
  write(
    caughtUp
      ? `  the stream consumers have caught up (${fmt((performance.now() - simStarted) / 1000)} s so far)`
      : '  ! the stream consumers are still busy; scoring anyway (early features may be incomplete)',
  );
  const historyAccepted = stats.ingest.accepted;

  // Labels arrive by their reportedAt: those before the live day now, the rest as the replay's clock passes them.
  let labelCursor = 0;
  const sentIds = new Set(traffic.history.map((t) => t.transactionId));
  const labelQueue: Label[] = [];
  const releaseLabels = (until: number) => {
    while (labelCursor < traffic.labels.length) {
      const l = traffic.labels[labelCursor] as Label;
      if (Date.parse(l.reportedAt) > until) break;
      if (sentIds.has(l.transactionId)) labelQueue.push(l);
      labelCursor++;
    }
  };
  let feedbackBusy: Promise<void> = Promise.resolve();
  const drainLabels = () => {
    feedbackBusy = feedbackBusy.then(async () => {
      while (labelQueue.length > 0) {
        const l = labelQueue.shift() as Label;
        try {
          const r = await chargebacks.post('/v1/feedback', l);
          if (r.status !== 200) stats.error('feedback', r.status);
          else {
            stats.feedback.sent++;
            if (l.isFraud) stats.feedback.fraud++;
          }
        } catch (error) {
          stats.error('feedback', (error as { cause?: { code?: string } }).cause?.code ?? 'network');
        }
      }
    });
  };
  const firstLive = traffic.live[0];
  releaseLabels(firstLive ? Date.parse(firstLive.timestamp) : Number.POSITIVE_INFINITY);
  drainLabels();

  // Live: one score request per transaction on a fixed schedule, at most `concurrency` in flight.
  const tty = process.stdout.isTTY === true;
  const bars = new MultiBar(
    { hideCursor: true, clearOnComplete: false, noTTYOutput: false, format: '{line}', autopadding: true },
    Presets.shades_classic,
  );
  const progress = tty
    ? bars.create(planned, 0, { line: '' }, { format: ' {bar} {percentage}% | {value}/{total} scored | {line}' })
    : undefined;
  const decisionsBar = tty ? bars.create(1, 0, { line: '' }) : undefined;
  const errorsBar = tty ? bars.create(1, 0, { line: '' }) : undefined;
  const render = () => {
    const { p50, p99 } = stats.percentiles();
    const live = `${fmt(stats.recentRate())} req/s | p50 ${fmt(p50)} ms p99 ${fmt(p99)} ms`;
    const frauds = stats.fraud.caught + stats.fraud.missed;
    const decisions =
      `approve ${stats.decisions.approve}  review ${stats.decisions.review}  decline ${stats.decisions.decline}` +
      ` | fraud caught ${stats.fraud.caught}/${frauds}, missed ${stats.fraud.missed}` +
      ` | false-positive rate ${pct(stats.legit.flagged, stats.legit.flagged + stats.legit.passed)}`;
    const errors = [...stats.errors].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
    const other =
      `degraded ${stats.degraded} | streamed ${stats.ingest.accepted - historyAccepted} | ` +
      `labels ${stats.feedback.sent} | errors ${errors}`;
    if (progress) {
      progress.update(stats.count, { line: live });
      decisionsBar?.update(0, { line: `   ${decisions}` });
      errorsBar?.update(0, { line: `   ${other}` });
    } else write(`  ${stats.count}/${planned} scored | ${live} | ${decisions} | ${other}`);
  };
  const ticker = setInterval(render, tty ? 250 : 5_000);

  let stopping = false;
  const onSigint = () => {
    stopping = true;
  };
  process.once('SIGINT', onSigint);
  const liveStarted = performance.now();
  const deadline = duration === undefined ? Number.POSITIVE_INFINITY : liveStarted + duration * 1000;
  const interval = 1000 / o.rate;
  let inFlight = 0;
  let slotFreed: (() => void) | undefined;
  let streamBuffer: Transaction[] = [];
  let lastFlush = performance.now();
  let streamBusy: Promise<void> = Promise.resolve();
  const flushStream = () => {
    if (streamBuffer.length === 0) return;
    const batch = streamBuffer;
    streamBuffer = [];
    lastFlush = performance.now();
    streamBusy = streamBusy.then(() => ingest(batch));
  };
  const scoreOne = async (txn: Transaction) => {
    const t0 = performance.now();
    try {
      const r = await gateway.post('/v1/score', txn);
      const ms = performance.now() - t0;
      if (r.status === 200) stats.scored(ms, r.json as ScoreResponse, traffic.truth.get(txn.transactionId));
      else stats.error('score', r.status);
    } catch (error) {
      stats.error('score', (error as { cause?: { code?: string } }).cause?.code ?? 'network');
    }
    // Scored first, then streamed: the features the scorer read never include the transaction itself.
    sentIds.add(txn.transactionId);
    streamBuffer.push(txn);
    if (streamBuffer.length >= o.ingestBatch) flushStream();
  };

  for (let i = 0; i < planned && !stopping; i++) {
    const due = liveStarted + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (performance.now() >= deadline) break;
    while (inFlight >= o.concurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
    const txn = traffic.live[i] as Transaction;
    inFlight++;
    void scoreOne(txn).finally(() => {
      inFlight--;
      slotFreed?.();
      slotFreed = undefined;
    });
    releaseLabels(Date.parse(txn.timestamp));
    if (labelQueue.length > 0) drainLabels();
    if (performance.now() - lastFlush > 1_000) flushStream();
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (slotFreed = resolve));
  const liveSeconds = (performance.now() - liveStarted) / 1000;
  flushStream();
  await streamBusy;
  await feedbackBusy;
  clearInterval(ticker);
  render();
  if (tty) bars.stop();
  process.off('SIGINT', onSigint);
  summarize(stats, liveSeconds, stopping);
  if (!stopping && firstLive) {
    const date = new Date(Date.parse(firstLive.timestamp)).toISOString().slice(0, 10);
    const riskOps = new ApiClient(creds.apiUrl, clientNamed(creds, PREDICT_CLIENT, predictScope(PREDICT_MODEL)));
    const days = pickMerchantDays([...traffic.history, ...traffic.live], date, o.merchants);
    stats.predictions = await showMerchantPredictions(
      (path, body, headers) => riskOps.post(path, body, headers),
      days,
      write,
    );
  }
  return stats;
}

function summarize(stats: Stats, seconds: number, interrupted: boolean): void {
  const { p50, p99 } = stats.percentiles();
  const sorted = [...stats.latencies].sort((a, b) => a - b);
  const inner = [...stats.scorerLatencies].sort((a, b) => a - b);
  const frauds = stats.fraud.caught + stats.fraud.missed;
  const rows: [string, string][] = [
    ['transactions scored', `${stats.count}${interrupted ? ' (interrupted)' : ''}`],
    ['score throughput', `${fmt(stats.count / seconds)} req/s over ${fmt(seconds)} s`],
    [
      'latency p50 / p90 / p99 / max',
      `${fmt(p50)} / ${fmt(quantile(sorted, 0.9))} / ${fmt(p99)} / ${fmt(sorted.at(-1) ?? Number.NaN)} ms`,
    ],
    ['scorer time p50 / p99 (latencyMs)', `${fmt(quantile(inner, 0.5))} / ${fmt(quantile(inner, 0.99))} ms`],
    [
      'decisions',
      `approve ${stats.decisions.approve}, review ${stats.decisions.review}, decline ${stats.decisions.decline}`,
    ],
    ['fraud caught (review or decline)', `${stats.fraud.caught} of ${frauds} (${pct(stats.fraud.caught, frauds)})`],
    ['fraud missed (approved)', String(stats.fraud.missed)],
    ...[...stats.byScenario].map(([s, v]): [string, string] => [`  ${s}`, `${v.caught} of ${v.total} caught`]),
    [
      'false-positive rate',
      `${pct(stats.legit.flagged, stats.legit.flagged + stats.legit.passed)} (${stats.legit.flagged} legitimate flagged)`,
    ],
    ['degraded (rules fallback)', String(stats.degraded)],
    [
      'streamed (POST /v1/transactions)',
      `${stats.ingest.accepted} accepted, ${stats.ingest.failed} failed, ${stats.ingest.batches} batches`,
    ],
    ['labels (POST /v1/feedback)', `${stats.feedback.sent} stored (${stats.feedback.fraud} fraud)`],
    ['errors by status', [...stats.errors].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\n${'AIMS demo summary'.padEnd(width)}\n${'-'.repeat(width)}  ${'-'.repeat(40)}\n`);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  let stage: LocalStage | undefined;
  let tempDir: string | undefined;
  try {
    let dataDir = o.dataDir ?? defaultDataDir();
    if (o.start) {
      if (!o.dataDir) tempDir = mkdtempSync(join(tmpdir(), 'aims-demo-'));
      dataDir = o.dataDir ?? (tempDir as string);
      const synth = o.synth || !existsSync(join(ROOT, 'cdk.out', 'assembly-Dev'));
      process.stdout.write(`▶ starting a local stage in ${dataDir}${o.limits ? '' : ' (usage-plan limits off)'}\n`);
      const options = {
        dataDir,
        port: 0,
        synth,
        enforceLimits: o.limits,
        log: (line: string) => process.stdout.write(`  ${line}\n`),
        // The demo cannot wait out the template's 5-minute canary bake.
        ...(o.drift ? { lifecycle: { canaryBakeSeconds: 3 } } : {}),
      };
      // Worker init has a 10 s limit that a busy machine can exceed at first start; one more try, then it stands.
      stage = await startLocalStage(options).catch((error: unknown) => {
        process.stdout.write(`  the stage did not start (${errorText(error).split('\n')[0]}); trying once more\n`);
        return startLocalStage({ ...options, synth: false });
      });
      process.stdout.write(`  ready at ${stage.url} in ${fmt(stage.readySeconds)} s\n`);
    }
    if (o.drift && stage) return await runDriftDemo(stage, (line) => process.stdout.write(`${line}\n`));
    if (o.batch && stage) return await runBatchDemo(stage, (line) => process.stdout.write(`${line}\n`));
    const creds = await connect(dataDir);
    process.stdout.write(`▶ replaying traffic through ${creds.apiUrl}\n`);
    const stats = await run(o, creds, streamSettler(dataDir, stage));
    return stats.count > 0 && (stats.predictions?.errors ?? 0) === 0 ? 0 : 1;
  } finally {
    if (stage) {
      process.stdout.write('\n▶ stopping the local stage\n');
      await stage.close();
    }
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\n✖ ${errorText(error)}\n`);
    process.exit(1);
  },
);
