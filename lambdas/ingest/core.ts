// Ingest use case: put a validated batch of transactions on the stream, retrying only the records Kinesis refused.

import type { Transaction } from '../../models/shared/contracts/transaction.js';
import { MAX_INGEST_BATCH } from '../shared/contracts/api.js';
import { UpstreamUnavailableError } from '../shared/errors.js';

/** Kinesis PutRecords accepts at most 500 records per call; the API keeps the same bound. */
export const MAX_BATCH = MAX_INGEST_BATCH;

/** One record as the stream port takes it. */
export interface StreamRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
}

/** The stream's verdict on one record, in request order (PutRecords' per-record result). */
export type PutOutcome =
  | { readonly ok: true; readonly shardId: string; readonly sequenceNumber: string }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Port: the transaction stream. Must return exactly one outcome per record, in order. */
export interface TransactionStream {
  putRecords(records: readonly StreamRecord[]): Promise<PutOutcome[]>;
}

export interface RetryPolicy {
  /** Total PutRecords calls for one batch, the first included. */
  readonly maxAttempts: number;
  /** Backoff before retry n (1-based) is drawn from [0, min(capMs, baseMs * 2^(n-1))] (full jitter). */
  readonly baseMs: number;
  readonly capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseMs: 50, capMs: 1_000 };

export interface IngestDeps {
  readonly stream: TransactionStream;
  readonly retry?: RetryPolicy;
  /** Injected so tests neither wait nor depend on chance. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface FailedRecord {
  /** Position of the transaction in the submitted batch. */
  readonly index: number;
  readonly transactionId: string;
  /** Kinesis ErrorCode of the last attempt (e.g. ProvisionedThroughputExceededException, InternalFailure). */
  readonly code: string;
  readonly message: string;
}

export interface IngestResult {
  readonly accepted: number;
  readonly failed: FailedRecord[];
}

/** The first call failed outright, so nothing was written: the whole batch may be retried (503 upstream_unavailable). */
export class StreamUnavailableError extends UpstreamUnavailableError {}

const encoder = new TextEncoder();

/** The stream record for one transaction: partition key = customer, so a customer's events stay ordered. */
export function toStreamRecord(txn: Transaction): StreamRecord {
  return { partitionKey: txn.customerId, data: encoder.encode(JSON.stringify(txn)) };
}

/** Delay before retry `attempt` (1-based): full jitter under an exponential ceiling, never above capMs. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function errorText(error: unknown): { code: string; message: string } {
  if (error instanceof Error) return { code: error.name, message: error.message };
  return { code: 'UnknownError', message: String(error) };
}

/**
 * Put `transactions` on the stream. Records Kinesis refuses (per-record ErrorCode) are retried alone with bounded
 * exponential backoff; whatever is still refused after the last attempt is reported in `failed` with its batch index.
 * Throws StreamUnavailableError only if the very first call fails outright, so nothing was written.
 */
export async function ingestTransactions(
  transactions: readonly Transaction[],
  deps: IngestDeps,
): Promise<IngestResult> {
  const policy = deps.retry ?? DEFAULT_RETRY;
  const sleep = deps.sleep ?? realSleep;
  const random = deps.random ?? Math.random;
  if (transactions.length === 0) return { accepted: 0, failed: [] };
  if (transactions.length > MAX_BATCH) {
    throw new RangeError(`a batch holds at most ${MAX_BATCH} transactions, got ${transactions.length}`);
  }

  const records = transactions.map(toStreamRecord);
  let pending = transactions.map((_, index) => index);
  const lastError = new Map<number, { code: string; message: string }>();
  let accepted = 0;

  for (let attempt = 1; attempt <= policy.maxAttempts && pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(backoffMs(attempt - 1, policy, random));
    let outcomes: PutOutcome[];
    try {
      outcomes = await deps.stream.putRecords(pending.map((i) => records[i] as StreamRecord));
    } catch (error) {
      if (accepted === 0 && attempt === 1) {
        throw new StreamUnavailableError('the transaction stream is unavailable; retry the batch', undefined, {
          cause: error,
        });
      }
      // Some records are already on the stream: report the rest as failed rather than lose the partial result.
      const text = errorText(error);
      for (const i of pending) lastError.set(i, text);
      continue;
    }
    if (outcomes.length !== pending.length) {
      throw new Error(`stream port returned ${outcomes.length} outcomes for ${pending.length} records`);
    }
    const stillPending: number[] = [];
    outcomes.forEach((outcome, k) => {
      const index = pending[k] as number;
      if (outcome.ok) {
        accepted++;
        lastError.delete(index);
      } else {
        stillPending.push(index);
        lastError.set(index, { code: outcome.code, message: outcome.message });
      }
    });
    pending = stillPending;
  }

  const failed = pending.map((index) => {
    const error = lastError.get(index) ?? { code: 'Unknown', message: 'no result from the stream' };
    return { index, transactionId: (transactions[index] as Transaction).transactionId, ...error };
  });
  return { accepted, failed };
}

/** HTTP status for an ingest result: 200 when every record landed, 207 (Multi-Status) when any failed. */
export function ingestStatusCode(result: IngestResult): 200 | 207 {
  return result.failed.length === 0 ? 200 : 207;
}
