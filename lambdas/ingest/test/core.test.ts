// Ingest core with an in-memory stream: only refused records are retried, backoff is bounded, results are partial.
import {
  backoffMs,
  ingestStatusCode,
  ingestTransactions,
  type PutOutcome,
  type RetryPolicy,
  type StreamRecord,
  StreamUnavailableError,
  type TransactionStream,
} from '../core.js';
import { txn } from './fixtures.js';

const decoder = new TextDecoder();
const idOf = (r: StreamRecord): string =>
  (JSON.parse(decoder.decode(r.data)) as { transactionId: string }).transactionId;

/** A stream that refuses the ids in `refuse` for the first `times` calls each, and records every call. */
class FlakyStream implements TransactionStream {
  readonly calls: string[][] = [];
  readonly stored: StreamRecord[] = [];
  constructor(
    private readonly refuse: Map<string, number>,
    private readonly code = 'ProvisionedThroughputExceededException',
  ) {}
  async putRecords(records: readonly StreamRecord[]): Promise<PutOutcome[]> {
    this.calls.push(records.map(idOf));
    return records.map((r) => {
      const left = this.refuse.get(idOf(r)) ?? 0;
      if (left > 0) {
        this.refuse.set(idOf(r), left - 1);
        return { ok: false, code: this.code, message: 'Rate exceeded for shard shardId-000000000000' };
      }
      this.stored.push(r);
      return { ok: true, shardId: 'shardId-000000000000', sequenceNumber: String(this.stored.length) };
    });
  }
}

const policy: RetryPolicy = { maxAttempts: 4, baseMs: 50, capMs: 1_000 };

describe('ingestTransactions', () => {
  it('GIVEN a batch the stream takes whole WHEN ingested THEN one call, all accepted, partition key = customer', async () => {
    const stream = new FlakyStream(new Map());
    const batch = [txn(1), txn(2), txn(3)];
    const result = await ingestTransactions(batch, { stream, retry: policy, sleep: async () => {} });
    expect(result).toEqual({ accepted: 3, failed: [] });
    expect(stream.calls).toHaveLength(1);
    expect(stream.stored.map((r) => r.partitionKey)).toEqual(batch.map((t) => t.customerId));
    expect(JSON.parse(decoder.decode(stream.stored[0]?.data))).toEqual(batch[0]);
    expect(ingestStatusCode(result)).toBe(200);
  });

  it('GIVEN two records refused once WHEN ingested THEN only those two are retried and every record lands once', async () => {
    const stream = new FlakyStream(
      new Map([
        ['t-2', 1],
        ['t-4', 1],
      ]),
    );
    const sleeps: number[] = [];
    const batch = [1, 2, 3, 4, 5].map((n) => txn(n));
    const result = await ingestTransactions(batch, {
      stream,
      retry: policy,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
    });
    expect(result).toEqual({ accepted: 5, failed: [] });
    expect(stream.calls).toEqual([
      ['t-1', 't-2', 't-3', 't-4', 't-5'],
      ['t-2', 't-4'],
    ]);
    expect(stream.stored.map(idOf).sort()).toEqual(['t-1', 't-2', 't-3', 't-4', 't-5']);
    expect(sleeps).toEqual([25]);
  });

  it('GIVEN a record refused on every attempt WHEN ingested THEN a partial result names it by index and the last code', async () => {
    const stream = new FlakyStream(new Map([['t-3', 99]]), 'InternalFailure');
    const batch = [1, 2, 3, 4].map((n) => txn(n));
    const result = await ingestTransactions(batch, { stream, retry: policy, sleep: async () => {} });
    expect(result.accepted).toBe(3);
    expect(result.failed).toEqual([
      { index: 2, transactionId: 't-3', code: 'InternalFailure', message: expect.stringContaining('Rate exceeded') },
    ]);
    expect(stream.calls).toHaveLength(policy.maxAttempts);
    expect(stream.calls.slice(1).every((c) => c.length === 1 && c[0] === 't-3')).toBe(true);
    expect(ingestStatusCode(result)).toBe(207);
  });

  it('GIVEN a stream that is down WHEN the first call throws THEN StreamUnavailableError and nothing is retried', async () => {
    let calls = 0;
    const stream: TransactionStream = {
      putRecords: async () => {
        calls++;
        throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
      },
    };
    await expect(ingestTransactions([txn(1)], { stream, sleep: async () => {} })).rejects.toThrow(
      StreamUnavailableError,
    );
    expect(calls).toBe(1);
  });

  it('GIVEN some records landed WHEN a retry call throws THEN the rest are reported failed, not the whole batch', async () => {
    let call = 0;
    const stream: TransactionStream = {
      putRecords: async (records) => {
        call++;
        if (call === 1) {
          return records.map(
            (_, i): PutOutcome =>
              i === 0
                ? { ok: true, shardId: 's', sequenceNumber: '1' }
                : { ok: false, code: 'InternalFailure', message: 'x' },
          );
        }
        throw Object.assign(new Error('socket hang up'), { name: 'NetworkingError' });
      },
    };
    const result = await ingestTransactions([txn(1), txn(2)], {
      stream,
      retry: { ...policy, maxAttempts: 3 },
      sleep: async () => {},
    });
    expect(result).toEqual({
      accepted: 1,
      failed: [{ index: 1, transactionId: 't-2', code: 'NetworkingError', message: 'socket hang up' }],
    });
    expect(call).toBe(3);
  });

  it('GIVEN more than 500 transactions WHEN ingested THEN it refuses before writing anything', async () => {
    const stream = new FlakyStream(new Map());
    const batch = Array.from({ length: 501 }, (_, n) => txn(n));
    await expect(ingestTransactions(batch, { stream })).rejects.toThrow(/at most 500/);
    expect(stream.calls).toHaveLength(0);
  });
});

describe('backoffMs', () => {
  it('GIVEN any attempt and any random draw WHEN computed THEN it stays within [0, cap] and the exponential ceiling', () => {
    for (let attempt = 1; attempt <= 20; attempt++) {
      for (const r of [0, 0.25, 0.999999]) {
        const ms = backoffMs(attempt, policy, () => r);
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThanOrEqual(Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1)));
      }
    }
    expect(backoffMs(30, policy, () => 0.999999)).toBe(999);
  });

  it('GIVEN every record always refused WHEN ingested THEN total sleep is bounded by the sum of the ceilings', async () => {
    const stream = new FlakyStream(new Map([['t-1', 1_000]]));
    const sleeps: number[] = [];
    await ingestTransactions([txn(1)], {
      stream,
      retry: policy,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.999999,
    });
    expect(sleeps).toHaveLength(policy.maxAttempts - 1);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(50 + 100 + 200);
  });
});
