// Fuzzing every route of the local stage with fast-check: never a 5xx, always the error JSON, no write when refused.
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import * as z from 'zod';
import {
  DecisionRecord,
  FeedbackResponse,
  HealthResponse,
  IngestResponse,
  PredictResponse,
  ScoreResponse,
} from '../../lambdas/shared/contracts/api.js';
import { AuditTrail, DecisionsPage, LiveStats } from '../../lambdas/shared/contracts/review.js';
import { ErrorBody } from '../../lambdas/shared/errors.js';
import { CHANNELS, MERCHANT_CATEGORIES, type Transaction } from '../../models/shared/contracts/transaction.js';
import {
  type ApiResponse,
  type Caller,
  call,
  callerFor,
  type E2eStage,
  mapLimit,
  PATHS,
  refOf,
  runId,
  type SdkClients,
  STAGE_HOOK_TIMEOUT_MS,
  sdkClients,
  startE2eStage,
  transaction,
} from './support.js';

/** Cases per route (CI: 2,000; FUZZ_RUNS=200 for a quick local pass). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
/** Requests in flight: each property run is a batch of this many cases sent together. */
const CONCURRENCY = 12;
const BATCHES = Math.ceil(RUNS / CONCURRENCY);
/** Generous: the slowest route (score, with model calls and audit writes) needs a fraction of this. */
const ROUTE_TIMEOUT_MS = 15 * 60_000;

let e2e: E2eStage;
let aws: SdkClients;
let gateway: Required<Caller>;
let callers: Record<NonNullable<Case['as']>, Required<Caller>>;
const run = runId('fuzz');
const timings: Record<string, { cases: number; seconds: number; statuses: Record<number, number> }> = {};

beforeAll(async () => {
  // Limits off: the usage plan would otherwise throttle the fuzzer (429 is tested in auth.test.ts).
  e2e = await startE2eStage('fuzz', { enforceLimits: false });
  aws = sdkClients(e2e.stage);
  gateway = await callerFor(e2e.stage, 'merchant-gateway');
  callers = {
    'merchant-gateway': gateway,
    'chargeback-feed': await callerFor(e2e.stage, 'chargeback-feed'),
    'analyst-console': await callerFor(e2e.stage, 'analyst-console'),
    'risk-ops': await callerFor(e2e.stage, 'risk-ops'),
  };
}, STAGE_HOOK_TIMEOUT_MS);

afterAll(async () => {
  const lines = Object.entries(timings).map(
    ([route, t]) =>
      `  ${route}: ${t.cases} cases in ${t.seconds.toFixed(1)} s (${(t.cases / t.seconds).toFixed(0)}/s) ${JSON.stringify(t.statuses)}`,
  );
  if (lines.length > 0) process.stdout.write(`fuzz summary:\n${lines.join('\n')}\n`);
  aws?.destroy();
  await e2e?.close();
}, STAGE_HOOK_TIMEOUT_MS);

// ---------- what counts as a write ----------

/** Items of a table; `review` counts only the decisions table's review items (`review#<id>`), `audit` all but them. */
async function itemCount(tablePath: string, only?: 'review' | 'audit'): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  const filter = only
    ? {
        FilterExpression: `${only === 'audit' ? 'NOT ' : ''}begins_with(transactionId, :review)`,
        ExpressionAttributeValues: { ':review': { S: 'review#' } },
      }
    : {};
  do {
    const page = await aws.dynamo.send(
      new ScanCommand({
        TableName: refOf(e2e.stage, tablePath),
        Select: 'COUNT',
        ...filter,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

async function streamRecordCount(): Promise<number> {
  const StreamName = refOf(e2e.stage, PATHS.stream);
  const shards = (await aws.kinesis.send(new ListShardsCommand({ StreamName }))).Shards ?? [];
  let total = 0;
  for (const shard of shards) {
    let iterator = (
      await aws.kinesis.send(
        new GetShardIteratorCommand({ StreamName, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    while (iterator) {
      const page = await aws.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      const n = page.Records?.length ?? 0;
      total += n;
      if (n === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return total;
}

interface Writes {
  decisions: number;
  reviewItems: number;
  labels: number;
  features: number;
  records: number;
  events: number;
}

async function writes(): Promise<Writes> {
  await e2e.stage.settle();
  return {
    decisions: await itemCount(PATHS.decisionsTable, 'audit'),
    reviewItems: await itemCount(PATHS.decisionsTable, 'review'),
    labels: await itemCount(PATHS.labelsTable),
    features: await itemCount(PATHS.featuresTable),
    records: await streamRecordCount(),
    events: e2e.stage.services.archive().length,
  };
}

// ---------- generators ----------

const nonce = fc.nat();
const validTransaction: fc.Arbitrary<Transaction> = fc
  .record({
    n: nonce,
    customerId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    merchantId: fc.constantFrom('m-1', 'm-2', 'm-3'),
    merchantCategory: fc.constantFrom(...MERCHANT_CATEGORIES),
    amount: fc.double({ min: 0.01, max: 1_000_000, noNaN: true }),
    currency: fc.constantFrom('EUR', 'USD', 'GBP'),
    country: fc.constantFrom('DE', 'FR', 'US', 'GB', 'BR'),
    channel: fc.constantFrom(...CHANNELS),
    deviceId: fc.option(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), { nil: undefined }),
    timestamp: fc
      .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
      .map((d) => d.toISOString()),
  })
  .map(({ n, deviceId, ...t }) =>
    transaction(`${run}-${n}`, { ...t, ...(deviceId !== undefined ? { deviceId } : {}) }),
  );

/** Values that break schemas: wrong types, limits, unicode, NaN-like strings, huge strings. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, -1, 1e6, 1_000_000.01, Number.MAX_SAFE_INTEGER, 1e308, 5e-324, -1e-9),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '0x10', '', ' ', '\u0000', '12.34', 'true', 'null'),
  // Timestamps at the edges of ISO 8601 and of the calendar (impossible days, leap seconds, offsets, years 0 and 9999).
  fc.constantFrom(
    '2024-02-30T00:00:00Z',
    '2016-12-31T23:59:60Z',
    '2024-01-01T24:00:00Z',
    '2024-01-01T00:00:00+23:59',
    '2024-01-01T00:00:00-00:00',
    '2024-01-01T00:00:00',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999Z',
    '1970-01-01T00:00:00.000Z',
  ),
  fc.double(),
  fc.integer(),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  // Lone surrogates and control characters (JSON.stringify escapes them).
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(65, 1_000, 100_000, 1_100_000).map((n) => 'x'.repeat(n)),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
);

type Mutation =
  | { kind: 'none' }
  | { kind: 'delete'; field: string }
  | { kind: 'set'; field: string; value: unknown }
  | { kind: 'extra'; name: string; value: unknown };

/** A mutation of one of `fields`; `intact` weighs leaving the value valid against the 8 of breaking it. */
const mutationOf = (fields: readonly string[], intact = 2): fc.Arbitrary<Mutation> =>
  fc.oneof(
    { weight: intact, arbitrary: fc.constant<Mutation>({ kind: 'none' }) },
    { weight: 2, arbitrary: fc.constantFrom(...fields).map((field): Mutation => ({ kind: 'delete', field })) },
    {
      weight: 5,
      arbitrary: fc
        .record({ field: fc.constantFrom(...fields), value: weird })
        .map((m): Mutation => ({ kind: 'set', ...m })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ name: fc.string({ maxLength: 12 }), value: weird })
        .map((m): Mutation => ({ kind: 'extra', ...m })),
    },
  );

function mutate(value: Record<string, unknown>, m: Mutation): Record<string, unknown> {
  const out = { ...value };
  if (m.kind === 'delete') delete out[m.field];
  else if (m.kind === 'set') out[m.field] = m.value;
  else if (m.kind === 'extra') out[m.name] = m.value;
  return out;
}

/** A JSON text: the object itself, or a textual corruption JSON.stringify cannot produce. */
const asText = (value: unknown): fc.Arbitrary<string> => {
  const json = JSON.stringify(value) ?? 'null';
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(json) },
    { weight: 1, arbitrary: fc.nat({ max: Math.max(0, json.length - 1) }).map((n) => json.slice(0, n)) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-0', '00012', '1.', '.5', '0x1F', '"\\ud800"')
        .map((literal) => json.replace(/"amount":[^,}]*/, `"amount":${literal}`)),
    },
    { weight: 1, arbitrary: fc.constant(json.replace(/^\{/, '{"transactionId":1,')) },
  );
};

const arbitraryBody: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.constantFrom('', ' ', '{', '[]', '{}', 'null', '"x"', '{"transactions":null}'),
);

const transactionBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: arbitraryBody },
  {
    weight: 8,
    arbitrary: fc
      .tuple(validTransaction, mutationOf([...Object.keys(transaction('x')), 'transactionId']))
      .chain(([t, m]) => asText(mutate(t as unknown as Record<string, unknown>, m))),
  },
);

const ingestBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: arbitraryBody },
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.array(
          // Mostly intact transactions, so whole batches are accepted too and the stream count is exercised.
          fc
            .tuple(validTransaction, mutationOf(Object.keys(transaction('x')), 24))
            .map(([t, m]) => mutate(t as unknown as Record<string, unknown>, m)),
          { minLength: 0, maxLength: 4 },
        ),
        mutationOf(['transactions'], 8),
        fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 0, 0, 501),
      )
      .chain(([transactions, m, pad]) => {
        const list = pad > 0 ? Array.from({ length: pad }, (_, i) => transaction(`${run}-pad-${i}`)) : transactions;
        return asText(mutate({ transactions: list }, m));
      }),
  },
);

const validLabel = fc.record({
  transactionId: nonce.map((n) => `${run}-l-${n}`),
  isFraud: fc.boolean(),
  reportedAt: fc
    .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  source: fc.constantFrom('chargeback', 'analyst', 'customer'),
});

const feedbackBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: arbitraryBody },
  {
    weight: 8,
    arbitrary: fc
      .tuple(validLabel, mutationOf(['transactionId', 'isFraud', 'reportedAt', 'source']))
      .chain(([l, m]) => asText(mutate(l, m))),
  },
);

/** merchant-risk's request: one merchant's day, internally consistent (counts within count). */
const validMerchantDay = fc
  .record({
    merchantId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    date: fc
      .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10)),
    count: fc.integer({ min: 1, max: 5_000 }),
    amountMax: fc.double({ min: 0.001, max: 10_000, noNaN: true }),
    shares: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 6, maxLength: 6 }),
  })
  .map(({ merchantId, date, count, amountMax, shares }) => {
    const part = (i: number) => Math.floor((shares[i] as number) * count);
    const distinctCustomers = Math.max(1, part(0));
    return {
      merchantId,
      date,
      count,
      amountSum: amountMax * count,
      amountMax,
      smallCount: part(1),
      distinctCustomers,
      newCustomers: Math.floor((shares[2] as number) * distinctCustomers),
      nightCount: part(3),
      crossBorderCount: part(4),
      onlineCount: part(5),
    };
  });

const merchantDayBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: arbitraryBody },
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        validMerchantDay,
        mutationOf(['merchantId', 'date', 'count', 'amountSum', 'nightCount', 'distinctCustomers'], 6),
      )
      .chain(([d, m]) => asText(mutate(d, m))),
  },
);

/** The Idempotency-Key: mostly a fresh valid one, sometimes missing or off the pattern. */
const idempotencyKey: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 8, arbitrary: nonce.map((n) => ({ 'Idempotency-Key': `${run}-p-${n}` })) },
  { weight: 1, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('', ' ', 'a b', 'x'.repeat(65), 'k\u00e9', 'k#1', '../k')
      .map((k) => ({ 'Idempotency-Key': k })),
  },
);

/** Extra headers a client might send, and sometimes a Content-Type other than JSON. */
const headers: fc.Arbitrary<Record<string, string>> = fc
  .tuple(
    fc.dictionary(fc.stringMatching(/^x-fuzz-[a-z0-9-]{1,16}$/), fc.stringMatching(/^[\x21-\x7e]{0,64}$/), {
      maxKeys: 3,
    }),
    fc.option(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/xml',
      ),
      { freq: 4 },
    ),
  )
  .map(([extra, contentType]) => ({ ...extra, ...(contentType ? { 'content-type': contentType } : {}) }));

/** Path ids: valid-looking, unicode (encoded), traversal and broken percent-encodings, very long. */
const pathId: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }).map(encodeURIComponent),
  fc.constantFrom('%ZZ', '%', '%00', '%2F', '..%2F..%2Fetc', 'a%20b', '%E2%82', 'x'.repeat(65), 'x'.repeat(10_000)),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
);

const query: fc.Arbitrary<string> = fc.option(
  fc
    .dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 })
    .map((q) => `?${new URLSearchParams(q).toString()}`),
  { nil: '', freq: 3 },
);

// ---------- the invariants ----------

interface Case {
  readonly method: string;
  readonly path: string;
  /** Which client sends it (by name, so a counterexample prints readably); none = no credentials. */
  readonly as?: 'merchant-gateway' | 'chargeback-feed' | 'analyst-console' | 'risk-ops';
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

function checkInvariants(c: Case, r: ApiResponse, success: z.ZodType, route: string): void {
  const where = `${c.method} ${c.path.slice(0, 120)} body=${(c.body ?? '').slice(0, 300)} headers=${JSON.stringify(c.headers ?? {})}`;
  if (r.status >= 500) throw new Error(`${route}: ${r.status} for ${where}: ${r.text.slice(0, 500)}`);
  if (r.status >= 400) {
    const parsed = ErrorBody.safeParse(r.json);
    if (!parsed.success)
      throw new Error(`${route}: ${r.status} without the error JSON for ${where}: ${r.text.slice(0, 300)}`);
  } else {
    const parsed = success.safeParse(r.json);
    if (!parsed.success)
      throw new Error(`${route}: ${r.status} with a body off the contract for ${where}: ${r.text.slice(0, 300)}`);
  }
}

/** Fuzzes one route in batches of CONCURRENCY concurrent cases; returns every (case, response) pair sent. */
async function fuzzRoute(
  route: string,
  arbitrary: fc.Arbitrary<Case>,
  success: z.ZodType,
): Promise<{ c: Case; r: ApiResponse }[]> {
  const seen: { c: Case; r: ApiResponse }[] = [];
  const statuses: Record<number, number> = {};
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(fc.array(arbitrary, { minLength: CONCURRENCY, maxLength: CONCURRENCY }), async (cases) => {
      const responses = await mapLimit(cases, CONCURRENCY, (c) =>
        call(e2e.stage, c.method, c.path, {
          ...(c.as ? { caller: callers[c.as] } : {}),
          ...(c.body !== undefined ? { rawBody: c.body } : {}),
          ...(c.headers ? { headers: c.headers } : {}),
        }),
      );
      cases.forEach((c, i) => {
        const r = responses[i] as ApiResponse;
        seen.push({ c, r });
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        checkInvariants(c, r, success, route);
      });
    }),
    { numRuns: BATCHES, endOnFailure: true },
  );
  timings[route] = { cases: seen.length, seconds: (performance.now() - started) / 1000, statuses };
  return seen;
}

const distinct = (values: readonly (string | undefined)[]): number =>
  new Set(values.filter((v): v is string => v !== undefined)).size;

describe('GIVEN values at the edge of what the contract accepts', () => {
  it('WHEN a transaction carries the smallest positive amounts THEN the scorer answers without a 5xx', async () => {
    // The contract only says `positive()`; DynamoDB stores no magnitude below 1e-130, so these reach the audit write.
    for (const amount of [Number.MIN_VALUE, 1e-200, 1e-131]) {
      const body = JSON.stringify(transaction(`${run}-tiny-${amount}`, { amount }));
      const response = await call(e2e.stage, 'POST', '/v1/score', { caller: gateway, rawBody: body });
      checkInvariants({ method: 'POST', path: '/v1/score', body }, response, ScoreResponse, 'POST /v1/score');
    }
  });
});

describe(`GIVEN ${RUNS} fuzzed requests per route with a valid token and API key`, () => {
  it(
    'WHEN POST /v1/score is fuzzed THEN no 5xx, the error JSON on 4xx, and only accepted transactions are written',
    async () => {
      const before = await writes();
      const seen = await fuzzRoute(
        'POST /v1/score',
        fc
          .record({ body: transactionBody, headers })
          .map((x) => ({ method: 'POST', path: '/v1/score', as: 'merchant-gateway' as const, ...x })),
        ScoreResponse,
      );
      expect(seen.length).toBeGreaterThanOrEqual(RUNS);
      const after = await writes();
      const accepted = seen.filter((s) => s.r.status === 200).map((s) => s.r.json as ScoreResponse);
      const created = distinct(accepted.map((a) => a.transactionId));
      expect(after.decisions - before.decisions).toBe(created);
      // One TransactionScored per new decision, plus one FraudSuspected per new review/decline.
      const flagged = distinct(accepted.filter((a) => a.decision !== 'approve').map((a) => a.transactionId));
      expect(after.events - before.events).toBe(created + flagged);
      // The outbox opens one review item per new review decision (the review queue).
      const reviews = distinct(accepted.filter((a) => a.decision === 'review').map((a) => a.transactionId));
      expect(after.reviewItems - before.reviewItems).toBe(reviews);
      expect(after.records).toBe(before.records);
      expect(after.labels).toBe(before.labels);
      expect(created).toBeGreaterThan(0);
    },
    ROUTE_TIMEOUT_MS,
  );

  it(
    'WHEN POST /v1/models/merchant-risk/predict is fuzzed THEN no 5xx, the error JSON on 4xx, one audit record and one PredictionMade per accepted key',
    async () => {
      const path = '/v1/models/merchant-risk/predict';
      const before = await writes();
      const seen = await fuzzRoute(
        `POST ${path}`,
        fc.record({ body: merchantDayBody, headers, key: idempotencyKey }).map(({ key, ...x }) => ({
          method: 'POST',
          path,
          as: 'risk-ops' as const,
          body: x.body,
          headers: { ...x.headers, ...key },
        })),
        PredictResponse,
      );
      expect(seen.length).toBeGreaterThanOrEqual(RUNS);
      const after = await writes();
      const created = distinct(
        seen.filter((s) => s.r.status === 200).map((s) => (s.r.json as PredictResponse).auditId),
      );
      expect(after.decisions - before.decisions).toBe(created);
      expect(after.events - before.events).toBe(created);
      expect(after.records).toBe(before.records);
      expect(created).toBeGreaterThan(0);
    },
    ROUTE_TIMEOUT_MS,
  );

  it(
    'WHEN POST /v1/transactions is fuzzed THEN no 5xx, the error JSON on 4xx, and only accepted transactions reach the stream',
    async () => {
      const before = await writes();
      const seen = await fuzzRoute(
        'POST /v1/transactions',
        fc
          .record({ body: ingestBody, headers })
          .map((x) => ({ method: 'POST', path: '/v1/transactions', as: 'merchant-gateway' as const, ...x })),
        IngestResponse,
      );
      expect(seen.length).toBeGreaterThanOrEqual(RUNS);
      const after = await writes();
      const accepted = seen
        .filter((s) => s.r.status === 200 || s.r.status === 207)
        .reduce((sum, s) => sum + (s.r.json as IngestResponse).accepted, 0);
      expect(after.records - before.records).toBe(accepted);
      expect(after.decisions).toBe(before.decisions);
      expect(accepted).toBeGreaterThan(0);
    },
    ROUTE_TIMEOUT_MS,
  );

  it(
    'WHEN POST /v1/feedback is fuzzed THEN no 5xx, the error JSON on 4xx, and only accepted labels are stored',
    async () => {
      const before = await writes();
      const seen = await fuzzRoute(
        'POST /v1/feedback',
        fc
          .record({ body: feedbackBody, headers })
          .map((x) => ({ method: 'POST', path: '/v1/feedback', as: 'chargeback-feed' as const, ...x })),
        FeedbackResponse,
      );
      expect(seen.length).toBeGreaterThanOrEqual(RUNS);
      const after = await writes();
      const stored = distinct(
        seen.filter((s) => s.r.status === 200).map((s) => (s.r.json as FeedbackResponse).transactionId),
      );
      expect(after.labels - before.labels).toBe(stored);
      expect(after.decisions).toBe(before.decisions);
      expect(after.records).toBe(before.records);
      expect(stored).toBeGreaterThan(0);
    },
    ROUTE_TIMEOUT_MS,
  );

  it(
    'WHEN GET /v1/decisions/{id} is fuzzed THEN no 5xx, the error JSON on 4xx, the record on 200, and nothing is written',
    async () => {
      // A few real decisions so the fuzzer also hits the 200 path.
      const known = await mapLimit([0, 1, 2], 3, async (i) => {
        const t = transaction(`${run}-known-${i}`);
        expect((await call(e2e.stage, 'POST', '/v1/score', { caller: gateway, body: t })).status).toBe(200);
        return t.transactionId;
      });
      const before = await writes();
      const id = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...known) }, { weight: 9, arbitrary: pathId });
      const seen = await fuzzRoute(
        'GET /v1/decisions/{id}',
        fc.record({ id, query, headers }).map((x) => ({
          method: 'GET',
          path: `/v1/decisions/${x.id}${x.query}`,
          as: 'analyst-console' as const,
          headers: x.headers,
        })),
        DecisionRecord,
      );
      expect(seen.length).toBeGreaterThanOrEqual(RUNS);
      expect(seen.some((s) => s.r.status === 200)).toBe(true);
      expect(await writes()).toEqual(before);
    },
    ROUTE_TIMEOUT_MS,
  );

  it(
    'WHEN the review read routes are fuzzed (list, queue, audit, live figures) THEN no 5xx, the error JSON on 4xx, the contract on 200, and nothing is written',
    async () => {
      const before = await writes();
      const iso = fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true });
      const value = fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom('approve', 'review', 'decline', 'fraud-detector', '0', '-1', '1e309', '100', '101', 'NaN'),
        iso.map((d) => d.toISOString()),
        // Cursors: base64url JSON, valid-looking or not.
        fc
          .record({
            d: fc.oneof(
              iso.map((d) => d.toISOString().slice(0, 10)),
              fc.string(),
            ),
            i: fc.string(),
            a: fc.string(),
          })
          .map((c) => Buffer.from(JSON.stringify(c)).toString('base64url')),
      );
      const names = fc.constantFrom(
        'decision',
        'model',
        'customerId',
        'from',
        'to',
        'minAmount',
        'maxAmount',
        'limit',
        'cursor',
        'minutes',
        'x',
      );
      const params = fc
        .dictionary(names, value, { maxKeys: 4 })
        .map((q) => (Object.keys(q).length > 0 ? `?${new URLSearchParams(q).toString()}` : ''));
      const path = fc.oneof(
        fc.constantFrom('/v1/decisions', '/v1/review-queue', '/v1/stats/live'),
        pathId.map((id) => `/v1/decisions/${id}/audit`),
      );
      const seen = await fuzzRoute(
        'GET review reads',
        fc.record({ path, params, headers }).map((x) => ({
          method: 'GET',
          path: `${x.path}${x.params}`,
          as: 'analyst-console' as const,
          headers: x.headers,
        })),
        z.union([DecisionsPage, AuditTrail, LiveStats]),
      );
      expect(seen.length).toBeGreaterThanOrEqual(RUNS);
      expect(seen.some((s) => s.r.status === 200)).toBe(true);
      expect(await writes()).toEqual(before);
    },
    ROUTE_TIMEOUT_MS,
  );

  it(
    'WHEN GET /v1/health is fuzzed (with and without credentials) THEN it always answers 200 ok and writes nothing',
    async () => {
      const before = await writes();
      const seen = await fuzzRoute(
        'GET /v1/health',
        fc.record({ query, headers, authenticated: fc.boolean() }).map((x) => ({
          method: 'GET',
          path: `/v1/health${x.query}`,
          headers: x.headers,
          ...(x.authenticated ? { as: 'analyst-console' as const } : {}),
        })),
        HealthResponse,
      );
      expect(seen.length).toBeGreaterThanOrEqual(RUNS);
      expect(seen.every((s) => s.r.status === 200)).toBe(true);
      expect(await writes()).toEqual(before);
    },
    ROUTE_TIMEOUT_MS,
  );
});
