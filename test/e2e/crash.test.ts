// Crash test: the local stage as `npm start` runs it, under steady load from a few clients (scores — a share of them
// fraud that the model and the rules fallback both flag — and ingests), is SIGKILLed as a whole process group and
// restarted on the same data dir, then stopped with Ctrl-C under load and restarted again. After each restart the
// client retries, with the same body, what got no answer (as an integrating client does), waits for the pipeline to
// settle, and the test proves and prints that nothing acknowledged was lost or done twice: every acknowledged score
// has its audit record with the decision answered, one TransactionScored in the bus archive, one decision-log line in
// the lake and, when not approved, one alert on the alerts topic; every acknowledged ingest is folded into the
// features once. It reads what a user can see: the API's answers, the archive, the lake, the topic, the tables.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import { IngestResponse, ScoreResponse } from '../../lambdas/shared/contracts/api.js';
import { ROOT, STAGE_NAME } from '../../local/stage.js';
import { loadLocalTemplate } from '../../local/template/index.js';
import type { LocalTemplate } from '../../local/types.js';
import { type CustomerState, idHash } from '../../models/fraud-detector/src/features.js';
import type { Decision } from '../../models/shared/contracts/decision.js';
import type { Transaction } from '../../models/shared/contracts/transaction.js';
import { killGroup, type StageProcess, startStageProcess } from '../support/process.js';
import {
  type Caller,
  callerOfDataDir,
  mapLimit,
  PATHS,
  postJson,
  type RequestOutcome,
  refOf,
  runId,
  tempDataDir,
  transaction,
} from './support.js';

/** How long each phase loads the stage before the signal. */
const LOAD_MS = 4_000;
const SCORE_LANES = 3;
const INGEST_LANES = 1;
/** Transactions per ingest request, all of one new customer: the customer's count in the features tells once from
 *  twice. */
const INGEST_BATCH = 3;
/** Every FRAUD_EVERY-th score is the card-testing victim's: declined by the model and by the rules fallback alike. */
const FRAUD_EVERY = 3;
/** A load lane's pause after a 429 (the dev usage plan allows 50 req/s; a quiet machine outruns it). */
const THROTTLED_PAUSE_MS = 200;
/** Score requests in flight when the signal lands, on top of the lanes'. */
const BURST = 8;
/** How long the SIGKILL waits, at most, for a decision of the burst to be written and not yet answered. */
const COMMIT_WAIT_MS = 3_000;
/** The local Firehose's buffer (a test hook, AIMS_FIREHOSE_BUFFER_SECONDS): longer than a load phase, so the kill
 *  finds every decision-log line of the first phase still buffered; short enough to poll the lake afterwards. */
const FIREHOSE_BUFFER_SECONDS = 8;
/** Deadline for the pipeline to settle after a restart (stream → bus → alerts, Firehose buffer) before counting. */
const SETTLE_TIMEOUT_MS = 25_000;
const SETTLE_POLL_MS = 500;
/** Attempts per request a client makes after a restart (backing off on 429 and 5xx). */
const RETRY_ATTEMPTS = 6;
/** Ctrl-C must stop the stage within this. */
const STOP_LIMIT_MS = 5_000;
/**
 * Duplicates tolerated after a SIGKILL, per derived output (events, decision-log lines). The outbox derives them from
 * the decisions table's stream at least once: across a crash a batch that reached its targets before the reader's
 * position was saved is delivered again, so a duplicate can only be what was in flight at the kill — at most one
 * stream batch (the relay's event source mapping reads up to 100 records at once). After a Ctrl-C the stage drains:
 * none.
 */
const ONE_STREAM_BATCH = 100;
/** Bounds the whole scenario: three starts (≈ 7–40 s each on this 2-core machine) and two load phases take ≈ 1–1.5
 *  min; this is the ceiling for a machine that is busy, not the expected time. */
const FILE_TIMEOUT_MS = 240_000;

const dataDir = tempDataDir('crash');
const run = runId('crash');
const template: LocalTemplate = loadLocalTemplate({ assemblyDir: join(ROOT, 'cdk.out'), stageName: STAGE_NAME });
const stageEnv = { AIMS_FIREHOSE_BUFFER_SECONDS: String(FIREHOSE_BUFFER_SECONDS) };

// ---- the victim: a card-testing burst half an hour ago, then charges from another continent on a new device
const victim = `${run}-victim`;
const shop = `${run}-shop`;
const seedStart = Date.now() - 30 * 60_000;
const victimHistory: Transaction[] = Array.from({ length: 5 }, (_, i) =>
  transaction(`${run}-probe-${i}`, {
    customerId: victim,
    merchantId: shop,
    merchantCategory: 'digital_goods',
    amount: 1 + i * 0.25,
    channel: 'online',
    deviceId: `${run}-dev-${i}`,
    timestamp: new Date(seedStart + i * 5 * 60_000).toISOString(),
  }),
);
const fraudOf = (id: string): Transaction =>
  transaction(id, {
    customerId: victim,
    merchantId: shop,
    merchantCategory: 'digital_goods',
    amount: 2.5,
    channel: 'online',
    country: 'US',
    deviceId: `${run}-dev-new`,
  });

// ---- the client's ledger: every request, how it ended, what was acknowledged

interface ScoreCall {
  readonly txn: Transaction;
  last?: RequestOutcome;
  /** The decision of its 2xx answer, once acknowledged. */
  answered?: { readonly decision: Decision; readonly degraded: boolean };
}

interface IngestCall {
  readonly customerId: string;
  readonly txns: readonly Transaction[];
  last?: RequestOutcome;
  /** Ids of transactions a 2xx answer accepted (a 207 names the others in `failed`). */
  readonly accepted: Set<string>;
}

interface Phase {
  readonly label: string;
  readonly scores: ScoreCall[];
  readonly ingests: IngestCall[];
}

const newPhase = (label: string): Phase => ({ label, scores: [], ingests: [] });

/** Sends one score request and books its outcome. */
async function sendScore(url: string, caller: Caller, call: ScoreCall): Promise<RequestOutcome> {
  call.last = await postJson(`${url}/v1/score`, caller, call.txn);
  if (call.last.status !== undefined && call.last.status >= 200 && call.last.status < 300) {
    const answer = ScoreResponse.parse(call.last.body);
    call.answered = { decision: answer.decision, degraded: answer.degraded };
  }
  return call.last;
}

/** Sends the transactions of an ingest call that are not accepted yet, and books which were. */
async function sendIngest(url: string, caller: Caller, call: IngestCall): Promise<RequestOutcome> {
  const pending = call.txns.filter((t) => !call.accepted.has(t.transactionId));
  call.last = await postJson(`${url}/v1/transactions`, caller, { transactions: pending });
  if (call.last.status !== undefined && call.last.status >= 200 && call.last.status < 300) {
    const failed = new Set(IngestResponse.parse(call.last.body).failed.map((f) => f.transactionId));
    for (const t of pending) if (!failed.has(t.transactionId)) call.accepted.add(t.transactionId);
  }
  return call.last;
}

const ingestDone = (call: IngestCall): boolean => call.accepted.size === call.txns.length;

/** Steady load until stopped: score lanes (every FRAUD_EVERY-th the victim's) and ingest lanes, each one request at
 *  a time. */
function startLoad(url: string, caller: Caller, phase: Phase) {
  let stopped = false;
  const nextScore = (): ScoreCall => {
    const n = phase.scores.length;
    const id = `${run}-${phase.label}-s${n}`;
    const fraud = n % FRAUD_EVERY === FRAUD_EVERY - 1;
    const call: ScoreCall = { txn: fraud ? fraudOf(id) : transaction(id) };
    phase.scores.push(call);
    return call;
  };
  const nextIngest = (): IngestCall => {
    const customerId = `${run}-${phase.label}-c${phase.ingests.length}`;
    const txns = Array.from({ length: INGEST_BATCH }, (_, i) =>
      transaction(`${customerId}-t${i}`, { customerId, merchantId: `${run}-ingest-shop` }),
    );
    const call: IngestCall = { customerId, txns, accepted: new Set() };
    phase.ingests.push(call);
    return call;
  };
  // A lane backs off when throttled, as a client honouring 429 does (what was throttled is retried after the restart).
  const lane = async (send: () => Promise<RequestOutcome>): Promise<void> => {
    while (!stopped) {
      if ((await send()).status === 429) await new Promise((resolve) => setTimeout(resolve, THROTTLED_PAUSE_MS));
    }
  };
  const lanes = [
    ...Array.from({ length: SCORE_LANES }, () => lane(() => sendScore(url, caller, nextScore()))),
    ...Array.from({ length: INGEST_LANES }, () => lane(() => sendIngest(url, caller, nextIngest()))),
  ];
  return {
    /** Requests issued at once without waiting, so more are in flight when the signal lands. */
    burst: (): Promise<RequestOutcome>[] => [
      ...Array.from({ length: BURST }, () => sendScore(url, caller, nextScore())),
      sendIngest(url, caller, nextIngest()),
    ],
    /** Stops issuing; resolves when every issued request has ended. */
    stop: async (): Promise<void> => {
      stopped = true;
      await Promise.all(lanes);
    },
  };
}

/**
 * Polls (every few ms, bounded) until a score in flight has its audit record written and no answer yet: a kill then lands
 * between the commit point of a decision and its answer, where everything derived from it is most easily lost.
 * Resolves with how many were in that state (0 when none got there within the bound).
 */
async function decidedUnanswered(phase: Phase): Promise<number> {
  const aws = backendClients();
  const table = refOf({ template }, PATHS.decisionsTable);
  try {
    const deadline = Date.now() + COMMIT_WAIT_MS;
    while (Date.now() < deadline) {
      const open = phase.scores.filter((c) => c.last === undefined);
      if (open.length === 0) return 0;
      const got = await aws.doc.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: {
              Keys: open.map((c) => ({ transactionId: c.txn.transactionId })),
              ProjectionExpression: 'transactionId',
            },
          },
        }),
      );
      const written = new Set((got.Responses?.[table] ?? []).map((item) => String(item.transactionId)));
      const caught = open.filter((c) => written.has(c.txn.transactionId) && c.last === undefined).length;
      if (caught > 0) return caught;
    }
    return 0;
  } finally {
    aws.destroy();
  }
}

/** Runs the load for LOAD_MS, then `signal` lands with requests in flight (for a SIGKILL, right after a decision
 *  was written and before its answer); resolves once the stage has exited. */
async function loadThenSignal(stage: StageProcess, caller: Caller, phase: Phase, signal: NodeJS.Signals) {
  const load = startLoad(stage.url, caller, phase);
  await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
  const burst = load.burst();
  const caught = signal === 'SIGKILL' ? await decidedUnanswered(phase) : 0;
  const sentAt = Date.now();
  process.kill(-stage.pid, signal);
  await Promise.all([load.stop(), ...burst]);
  const exit = await stage.exited;
  return { ...exit, tookMs: exit.at - sentAt, caught };
}

const retriable = (o: RequestOutcome | undefined): boolean =>
  o === undefined || o.error !== undefined || o.status === 429 || (o.status ?? 0) >= 500;

/** What got no answer (or a 429/5xx) is sent again with the same body, with backoff, as a client does (bounded). */
async function retryUnanswered(
  url: string,
  caller: Caller,
  phase: Phase,
): Promise<{ scores: number; ingests: number }> {
  const scores = phase.scores.filter((c) => !c.answered && retriable(c.last));
  const ingests = phase.ingests.filter((c) => !ingestDone(c) && retriable(c.last));
  const withBackoff = async (send: () => Promise<RequestOutcome>, done: () => boolean): Promise<void> => {
    for (let attempt = 1; attempt <= RETRY_ATTEMPTS && !done(); attempt++) {
      if (!retriable(await send()) || done()) return;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  };
  await mapLimit(scores, 4, (c) =>
    withBackoff(
      () => sendScore(url, caller, c),
      () => c.answered !== undefined,
    ),
  );
  await mapLimit(ingests, 2, (c) =>
    withBackoff(
      () => sendIngest(url, caller, c),
      () => ingestDone(c),
    ),
  );
  return { scores: scores.length, ingests: ingests.length };
}

// ---- what the stage holds, read the way a user can: files it documents, and its tables and lake through the SDK

/** JSON lines of an append-only file; a last line still being written is left for the next read. */
function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** The running stage's DynamoDB and S3, from the line its backends log when they are ready. */
function backendClients() {
  const log = readFileSync(join(dataDir, 'logs', 'backends.log'), 'utf8');
  const ready = [...log.matchAll(/backends ready: (\{.*\})/g)].pop();
  if (!ready) throw new Error(`no "backends ready" line in ${dataDir}/logs/backends.log`);
  const endpoints = JSON.parse(ready[1] as string) as { dynamodb: string; s3: string };
  const common = { region: template.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const dynamo = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb });
  return {
    doc: DynamoDBDocumentClient.from(dynamo),
    s3: new S3Client({ ...common, endpoint: endpoints.s3, forcePathStyle: true }),
    destroy(): void {
      dynamo.destroy();
      this.s3.destroy();
    },
  };
}
type Clients = ReturnType<typeof backendClients>;

const countBy = (keys: Iterable<string>): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
};

/** transactionId → the decision each copy found of an output carries (one entry per copy). */
type Copies = Map<string, string[]>;

const copiesOf = (entries: Iterable<{ transactionId?: string; decision?: string }>): Copies => {
  const copies: Copies = new Map();
  for (const { transactionId, decision } of entries) {
    const id = String(transactionId);
    copies.set(id, [...(copies.get(id) ?? []), String(decision)]);
  }
  return copies;
};

interface Observed {
  /** transactionId → decision of its audit record. */
  readonly audits: Map<string, string>;
  readonly scoredEvents: Copies;
  readonly suspectedEvents: Copies;
  readonly lakeLines: Copies;
  readonly alerts: Copies;
  readonly customers: Map<string, CustomerState>;
}

type Line = { transactionId?: string; decision?: string };

/** Lake objects already read (objects are written once; a redelivery rewrites the same key with the same records). */
const lakeCache = new Map<string, Line[]>();

async function observe(aws: Clients): Promise<Observed> {
  const audits = new Map<string, string>();
  for await (const page of paginateScan(
    { client: aws.doc },
    {
      TableName: refOf({ template }, PATHS.decisionsTable),
      ProjectionExpression: 'transactionId, decision',
    },
  )) {
    for (const item of page.Items ?? []) audits.set(String(item.transactionId), String(item.decision));
  }

  const archive = readJsonLines<{ event: { 'detail-type': string; detail: { data?: Line } } }>(
    join(dataDir, 'events', 'archive.jsonl'),
  );
  const eventsOf = (detailType: string) =>
    copiesOf(archive.filter((a) => a.event['detail-type'] === detailType).map((a) => a.event.detail.data ?? {}));

  const lake = refOf({ template }, PATHS.lakeBucket);
  let token: string | undefined;
  const lakeLines: Line[] = [];
  do {
    const page = await aws.s3.send(
      new ListObjectsV2Command({ Bucket: lake, Prefix: 'decisions/', ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const cacheKey = `${object.Key}|${object.ETag}`;
      let lines = lakeCache.get(cacheKey);
      if (!lines) {
        const got = await aws.s3.send(new GetObjectCommand({ Bucket: lake, Key: object.Key }));
        const bytes = Buffer.from(
          await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
        );
        const text = (object.Key?.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
        lines = text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as Line);
        lakeCache.set(cacheKey, lines);
      }
      lakeLines.push(...lines);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);

  const topic = template.resources.find((r) => r.path === PATHS.alertsTopic)?.attributes.TopicName;
  const alerts = copiesOf(
    readJsonLines<{ Message: string }>(join(dataDir, 'sns', `${topic}.jsonl`)).map(
      (m) => JSON.parse(m.Message) as Line,
    ),
  );

  const customers = new Map<string, CustomerState>();
  for await (const page of paginateScan(
    { client: aws.doc },
    {
      TableName: refOf({ template }, PATHS.featuresTable),
      FilterExpression: 'begins_with(pk, :p)',
      ExpressionAttributeValues: { ':p': `customer#${run}-` },
    },
  )) {
    for (const item of page.Items ?? []) {
      customers.set(String(item.pk).slice('customer#'.length), item.state as CustomerState);
    }
  }
  return {
    audits,
    scoredEvents: eventsOf('TransactionScored'),
    suspectedEvents: eventsOf('FraudSuspected'),
    lakeLines: copiesOf(lakeLines),
    alerts,
    customers,
  };
}

// ---- the proof: per check, what was acknowledged, what is missing, what is there twice

interface Check {
  readonly name: string;
  readonly expected: number;
  readonly missing: string[];
  /** Ids found more than once, once per extra copy. */
  readonly duplicates: string[];
  /** Found, but not what was answered (an audit record with another decision, an alert for an approval). */
  readonly wrong: string[];
  /** Derived from the audit record at least once (events, decision-log lines): a crash may repeat a stream batch. */
  readonly atLeastOnce: boolean;
}

function prove(phase: Phase, seen: Observed): Check[] {
  const acked = phase.scores.filter((c) => c.answered);
  const flagged = acked.filter((c) => c.answered?.decision !== 'approve');
  /** One copy of `copies` per call expected: missing, extra copies, and copies with another decision. */
  const once = (name: string, calls: readonly ScoreCall[], copies: Copies, atLeastOnce = false): Check => ({
    name,
    atLeastOnce,
    expected: calls.length,
    missing: calls.filter((c) => !copies.has(c.txn.transactionId)).map((c) => c.txn.transactionId),
    duplicates: calls.flatMap((c) => (copies.get(c.txn.transactionId) ?? []).slice(1).map(() => c.txn.transactionId)),
    wrong: calls
      .filter((c) => (copies.get(c.txn.transactionId) ?? []).some((d) => d !== c.answered?.decision))
      .map((c) => c.txn.transactionId),
  });
  const audits: Copies = new Map([...seen.audits].map(([id, decision]) => [id, [decision]]));
  const alerts = once('alert, when not approved', flagged, seen.alerts);
  // An approval has no alert.
  const approvedWithAlert = acked
    .filter((c) => c.answered?.decision === 'approve' && seen.alerts.has(c.txn.transactionId))
    .map((c) => c.txn.transactionId);
  const ingested = phase.ingests.flatMap((c) => c.txns.filter((t) => c.accepted.has(t.transactionId)));
  const applied = (t: Transaction) => seen.customers.get(t.customerId)?.seen.includes(idHash(t.transactionId)) === true;
  return [
    once('audit record, decision answered', acked, audits),
    once('TransactionScored in the archive', acked, seen.scoredEvents, true),
    once('decision-log line in the lake', acked, seen.lakeLines, true),
    { ...alerts, wrong: [...alerts.wrong, ...approvedWithAlert] },
    {
      name: 'ingest folded into the features',
      expected: ingested.length,
      missing: ingested.filter((t) => !applied(t)).map((t) => t.transactionId),
      // The fold counts every transaction it applies; more than the distinct ids it holds is one applied twice.
      duplicates: phase.ingests.flatMap((c) => {
        const state = seen.customers.get(c.customerId);
        if (!state) return [];
        const distinct = c.txns.filter((t) => state.seen.includes(idHash(t.transactionId))).length;
        return Array.from({ length: Math.max(0, state.count - distinct) }, () => c.customerId);
      }),
      wrong: [],
      atLeastOnce: false,
    },
  ];
}

const incomplete = (checks: readonly Check[]): number =>
  checks.reduce((sum, c) => sum + c.missing.length + c.wrong.length, 0);

/** Polls what the stage holds until every check of the first of `phases` (the latest) is complete or the deadline
 *  passes; returns the last proofs of every phase, and how long it took. */
async function settle(
  phases: readonly Phase[],
): Promise<{ proofs: Check[][]; seen: Observed; ms: number; settled: boolean }> {
  const started = Date.now();
  const aws = backendClients();
  try {
    for (;;) {
      const seen = await observe(aws);
      const proofs = phases.map((p) => prove(p, seen));
      const settled = incomplete(proofs[0] ?? []) === 0;
      if (settled || Date.now() - started > SETTLE_TIMEOUT_MS) {
        return { proofs, seen, ms: Date.now() - started, settled };
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    }
  } finally {
    aws.destroy();
  }
}

const say = (line: string): void => {
  process.stdout.write(`crash ${line}\n`);
};

function outcomeCounts(outcomes: readonly (RequestOutcome | undefined)[]): string {
  const counts = countBy(outcomes.map((o) => (o === undefined ? 'unsent' : (o.error ?? String(o.status)))));
  return [...counts].map(([k, v]) => `${k} ×${v}`).join(', ');
}

function printLoad(phase: Phase, what: string): void {
  const acked = phase.scores.filter((c) => c.answered);
  const decisions = countBy(acked.map((c) => c.answered?.decision ?? ''));
  say(
    `${phase.label} ${what}: ${phase.scores.length} scores (${outcomeCounts(phase.scores.map((c) => c.last))}), ` +
      `${acked.length} acknowledged: ${[...decisions].map(([k, v]) => `${k} ${v}`).join(', ')}, ` +
      `${acked.filter((c) => c.answered?.degraded).length} by the rules fallback; ` +
      `${phase.ingests.length} ingests of ${INGEST_BATCH} (${outcomeCounts(phase.ingests.map((c) => c.last))}), ` +
      `${phase.ingests.reduce((n, c) => n + c.accepted.size, 0)} transactions acknowledged`,
  );
}

/** Where a missing output's trail ends, to print beside it: what the archive holds, which queue (a DLQ) has it and
 *  why its last delivery failed. */
function trailOf(id: string, seen: Observed): string {
  const dir = join(dataDir, 'sqs');
  const parked: string[] = [];
  for (const file of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []) {
    const saved = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      messages?: { Body: string; MessageAttributes?: Record<string, { StringValue?: string }> }[];
    };
    for (const m of saved.messages ?? []) {
      if (!m.Body.includes(id)) continue;
      // EventBridge's DLQ says why in an attribute; Lambda's on-failure record in its responsePayload.
      const record = JSON.parse(m.Body) as { responsePayload?: { errorMessage?: string } };
      const why = m.MessageAttributes?.ERROR_MESSAGE?.StringValue ?? record.responsePayload?.errorMessage;
      parked.push(why === undefined ? file : `${file} (${why})`);
    }
  }
  return (
    `${id} (archive: TransactionScored ×${seen.scoredEvents.get(id)?.length ?? 0}, ` +
    `FraudSuspected ×${seen.suspectedEvents.get(id)?.length ?? 0}; ${parked.length > 0 ? `in ${parked.join(', ')}` : 'in no queue'})`
  );
}

function printProof(title: string, checks: readonly Check[], seen: Observed): void {
  say(`${title}`);
  say(
    `  ${'check'.padEnd(34)}${'acked'.padStart(7)}${'missing'.padStart(9)}${'dupes'.padStart(7)}${'wrong'.padStart(7)}`,
  );
  for (const c of checks) {
    say(
      `  ${c.name.padEnd(34)}${String(c.expected).padStart(7)}${String(c.missing.length).padStart(9)}` +
        `${String(c.duplicates.length).padStart(7)}${String(c.wrong.length).padStart(7)}`,
    );
  }
  for (const c of checks) {
    const sample = (ids: readonly string[]) => `${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}`;
    if (c.missing.length > 0) say(`  missing ${c.name}: ${sample(c.missing.map((id) => trailOf(id, seen)))}`);
    if (c.duplicates.length > 0) say(`  duplicated ${c.name}: ${sample(c.duplicates)}`);
    if (c.wrong.length > 0) say(`  wrong ${c.name}: ${sample(c.wrong)}`);
  }
}

/** Waits (bounded) until the features table holds the victim's history: its frauds are flagged from then on. */
async function seedVictim(url: string, caller: Caller, phase: Phase): Promise<void> {
  const call: IngestCall = { customerId: victim, txns: victimHistory, accepted: new Set() };
  phase.ingests.push(call);
  await sendIngest(url, caller, call);
  if (!ingestDone(call)) throw new Error(`seeding the victim's history failed: ${JSON.stringify(call.last)}`);
  const aws = backendClients();
  try {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const { Item } = await aws.doc.send(
        new GetCommand({
          TableName: refOf({ template }, PATHS.featuresTable),
          Key: { pk: `customer#${victim}` },
          ConsistentRead: true,
        }),
      );
      if ((Item?.state as CustomerState | undefined)?.count === victimHistory.length) return;
      if (Date.now() > deadline) throw new Error(`the victim's history was not folded within ${SETTLE_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    }
  } finally {
    aws.destroy();
  }
}

let current: StageProcess | undefined;
const killed = newPhase('sigkill');
const interrupted = newPhase('sigint');
const results: {
  afterKill?: Check[];
  interrupt?: { code: number | null; tookMs: number; stoppedLine: boolean };
  afterInterrupt?: Check[];
  /** The SIGKILL phase counted again after the second restart. */
  killAgain?: Check[];
} = {};

async function start(label: string): Promise<StageProcess> {
  current = await startStageProcess(dataDir, { env: stageEnv });
  say(`${label}: ready in ${current.startSeconds.toFixed(1)} s`);
  return current;
}

/** Retries what got no answer, waits for the pipeline, prints each phase's counts; returns them in order. */
async function restartedProof(url: string, caller: Caller, phases: readonly Phase[]): Promise<Check[][]> {
  const [latest] = phases;
  if (latest) {
    const retried = await retryUnanswered(url, caller, latest);
    printLoad(latest, `after retrying ${retried.scores} scores and ${retried.ingests} ingests`);
  }
  const { proofs, seen, ms, settled } = await settle(phases);
  if (!settled) say(`${latest?.label} phase: not complete within ${SETTLE_TIMEOUT_MS} ms; counting what is there`);
  phases.forEach((phase, i) => {
    const checks = proofs[i] as Check[];
    const state = incomplete(checks) === 0 ? 'complete' : 'INCOMPLETE';
    const when = i === 0 ? `counted ${ms} ms after the retries` : 'counted again';
    printProof(`${phase.label} phase, ${when}: ${state}`, checks, seen);
  });
  return proofs;
}

beforeAll(async () => {
  const began = Date.now();
  // Life 1: fresh data dir, the victim's history, steady load, then SIGKILL to the whole group mid-load.
  let stage = await start('first start');
  let caller = await callerOfDataDir(dataDir, 'merchant-gateway');
  await seedVictim(stage.url, caller, killed);
  const kill = await loadThenSignal(stage, caller, killed, 'SIGKILL');
  printLoad(
    killed,
    `load, then SIGKILL to the group with ${kill.caught} decisions written and not yet answered (ended ${kill.signal ?? kill.code}, ${kill.tookMs} ms later)`,
  );

  // Life 2: restart on the same data dir, retry what got no answer, settle, prove.
  stage = await start('restart after the SIGKILL');
  caller = await callerOfDataDir(dataDir, 'merchant-gateway');
  [results.afterKill] = await restartedProof(stage.url, caller, [killed]);

  // Then Ctrl-C (SIGINT to the group) under load: it drains and says "stopped" within 5 s.
  const interrupt = await loadThenSignal(stage, caller, interrupted, 'SIGINT');
  results.interrupt = {
    code: interrupt.code,
    tookMs: interrupt.tookMs,
    stoppedLine: /stopped in \d+\.\d s; state kept/.test(stage.output()),
  };
  printLoad(interrupted, `load, then SIGINT to the group (exit ${interrupt.code} ${interrupt.tookMs} ms later)`);

  // Life 3: restart, retry, settle, prove (and the first phase still holds).
  stage = await start('restart after the Ctrl-C');
  caller = await callerOfDataDir(dataDir, 'merchant-gateway');
  [results.afterInterrupt, results.killAgain] = await restartedProof(stage.url, caller, [interrupted, killed]);
  say(`whole scenario: ${((Date.now() - began) / 1000).toFixed(1)} s`);
}, FILE_TIMEOUT_MS);

afterAll(() => {
  if (current) killGroup(current.pid);
  rmSync(dataDir, { recursive: true, force: true });
});

/** Zero missing, zero wrong, at most `maxDuplicates` extra copies of an output derived at least once (events, lake
 *  lines) and none of the others (audit records, alerts, ingests). */
function expectNothingLost(checks: readonly Check[] | undefined, maxDuplicates: number): void {
  expect(checks).toBeDefined();
  const counts = (checks ?? []).map((c) => ({
    name: c.name,
    missing: c.missing.length,
    wrong: c.wrong.length,
    tooManyDuplicates: c.duplicates.length > (c.atLeastOnce ? maxDuplicates : 0),
  }));
  expect(counts).toEqual(counts.map((c) => ({ ...c, missing: 0, wrong: 0, tooManyDuplicates: false })));
}

/** Answers a client cannot get by retrying (4xx but 429) mean the test sent something wrong: there must be none. */
function unexpectedAnswers(phase: Phase): string[] {
  return [
    ...phase.scores.map((c) => ({ id: c.txn.transactionId, o: c.last })),
    ...phase.ingests.map((c) => ({ id: c.customerId, o: c.last })),
  ]
    .filter(({ o }) => o?.status !== undefined && o.status >= 400 && o.status < 500 && o.status !== 429)
    .map(({ id, o }) => `${id}: ${o?.status} ${JSON.stringify(o?.body)}`);
}

describe('GIVEN the local stage under steady load of scores (a share of them fraud) and ingests', () => {
  it('WHEN its whole process group is SIGKILLed and it restarts on the same data THEN nothing acknowledged is lost', () => {
    // The load was real: scores and ingests acknowledged, and frauds among them (so the alert path was exercised).
    const flagged = killed.scores.filter((c) => c.answered && c.answered.decision !== 'approve');
    expect(flagged.length).toBeGreaterThan(0);
    expect(killed.ingests.some((c) => c.accepted.size > 0)).toBe(true);
    expect(unexpectedAnswers(killed)).toEqual([]);
    expectNothingLost(results.afterKill, ONE_STREAM_BATCH);
    // Still so after the next restart: no late loss, no redelivery beyond the crash's batch.
    expectNothingLost(results.killAgain, ONE_STREAM_BATCH);
  });

  it('WHEN it gets a Ctrl-C under load THEN it prints its stopped line and exits within 5 s', () => {
    expect(results.interrupt).toMatchObject({ code: 0, stoppedLine: true });
    expect(results.interrupt?.tookMs).toBeLessThan(STOP_LIMIT_MS);
  });

  it('WHEN it restarts after the Ctrl-C THEN nothing acknowledged is lost and nothing is there twice', () => {
    const flagged = interrupted.scores.filter((c) => c.answered && c.answered.decision !== 'approve');
    expect(flagged.length).toBeGreaterThan(0);
    expect(unexpectedAnswers(interrupted)).toEqual([]);
    expectNothingLost(results.afterInterrupt, 0);
  });
});
