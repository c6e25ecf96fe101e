// Batch APIs that answer per entry (EventBridge PutEvents, Firehose PutRecordBatch): send a batch, then resend only the
// entries that failed, with exponential backoff.

/** What one entry reported on its last attempt. */
export interface EntryFailure {
  readonly errorCode: string;
  readonly errorMessage: string;
}

export interface EntryRetryOptions {
  /** Attempts per entry, counting the first (a positive integer). */
  readonly maxAttempts: number;
  /** Delay before the first retry, doubled each time. */
  readonly baseDelayMs: number;
}

/** What an adapter over a per-entry batch API takes: both optional, with the defaults `entryRetryOptions` fills in. */
export interface EntryRetryProps {
  /** Attempts per entry, counting the first. @default 3 */
  readonly maxAttempts?: number;
  /** Delay before the first retry, doubled each time. @default 50 */
  readonly baseDelayMs?: number;
}

/** The options with their defaults; throws when `maxAttempts` is not a positive integer (adapters call it in their
 *  constructors, so a bad value fails at cold start). */
export function entryRetryOptions(props: EntryRetryProps): EntryRetryOptions {
  const options = { maxAttempts: props.maxAttempts ?? 3, baseDelayMs: props.baseDelayMs ?? 50 };
  if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
    throw new Error(`maxAttempts must be a positive integer, got ${options.maxAttempts}`);
  }
  return options;
}

/**
 * Sends `entries` with `send`, which answers one result per entry in request order (a failure, or undefined when the
 * entry was accepted), and resends the failed ones until they are accepted or attempts run out. Returns each entry's
 * failure after its last attempt (undefined = accepted). A call that throws (the SDK gave up on the whole request)
 * propagates: the caller decides what that means for the batch.
 */
export async function sendWithEntryRetry<E>(
  entries: readonly E[],
  send: (batch: readonly E[]) => Promise<readonly (EntryFailure | undefined)[]>,
  options: EntryRetryOptions,
): Promise<(EntryFailure | undefined)[]> {
  const outcome: (EntryFailure | undefined)[] = entries.map(() => undefined);
  let pending = entries.map((entry, index) => ({ entry, index }));
  for (let attempt = 1; attempt <= options.maxAttempts && pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(options.baseDelayMs * 2 ** (attempt - 2));
    const results = await send(pending.map((p) => p.entry));
    const retry: typeof pending = [];
    pending.forEach((p, i) => {
      const failure = results[i];
      outcome[p.index] = failure;
      if (failure) retry.push(p);
    });
    pending = retry;
  }
  return outcome;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs one `send` per batch concurrently and returns one result per entry across all batches, in order. A batch whose
 * call threw fails each of its entries with the error's name and message; the other batches keep their results.
 */
export async function sendBatchesEach<E>(
  batches: readonly (readonly E[])[],
  send: (batch: readonly E[]) => Promise<readonly (EntryFailure | undefined)[]>,
): Promise<(EntryFailure | undefined)[]> {
  const settled = await Promise.allSettled(batches.map((batch) => send(batch)));
  return settled.flatMap((s, b) => {
    if (s.status === 'fulfilled') return [...s.value];
    const error = s.reason as { name?: unknown; message?: unknown } | undefined;
    const failure = { errorCode: String(error?.name ?? 'Error'), errorMessage: String(error?.message ?? s.reason) };
    return (batches[b] ?? []).map(() => failure);
  });
}

/**
 * The per-entry results of a batch call that answers positionally (result i answers entry i), as `send` returns them
 * to `sendWithEntryRetry`: undefined when nothing failed or the result carries no error code.
 */
export function positionalFailures(
  sent: number,
  failedCount: number | undefined,
  results: readonly { ErrorCode?: string; ErrorMessage?: string }[] | undefined,
): (EntryFailure | undefined)[] {
  return Array.from({ length: sent }, (_, i) => {
    const result = failedCount ? results?.[i] : undefined;
    return result?.ErrorCode ? { errorCode: result.ErrorCode, errorMessage: result.ErrorMessage ?? '' } : undefined;
  });
}
