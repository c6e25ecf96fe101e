// Dynamic micro-batching: coalesces concurrent requests into one ORT run (bounded by rows and queue delay) and
// splits the output back, so each request gets exactly the rows it sent.
import { HttpError } from './errors.js';
import type { LoadedModel } from './model.js';

export interface BatcherOptions {
  /** Most rows in one ORT run; a single larger request still runs, alone. */
  maxBatchSize: number;
  /** Longest a queued request waits for company before its batch starts, while more requests are arriving. */
  maxQueueDelayMicroseconds: number;
  /** Queued longer than this, a request fails with 503 instead of running. */
  timeoutMs: number;
  /** ORT runs in flight at once. @default 1 — requests queue behind a run, which is what fills the next batch */
  maxConcurrentBatches?: number;
}

export interface BatchResult {
  model: LoadedModel;
  values: Float32Array;
}

interface Job {
  rows: number;
  width: number;
  data: Float32Array;
  enqueuedNs: bigint;
  resolve: (r: BatchResult) => void;
  reject: (e: unknown) => void;
}

/**
 * A lone request on an idle runner runs in its own turn (`tryRunNow`), which is the batch-1 latency path. Otherwise,
 * when the runner is idle and no other request is mid-upload, a batch starts at the end of the current event-loop
 * turn: waiting longer could only add latency, and every request parsed in that turn is coalesced. While other requests are
 * still arriving, it waits up to `maxQueueDelayMicroseconds` (or until `maxBatchSize` rows) for them — Triton's
 * rule, applied only when it can pay off. While a run is in flight, new requests queue and form the next batch.
 */
export class MicroBatcher {
  private queue: Job[] = [];
  private queuedRows = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private idleWaiters: (() => void)[] = [];
  private options!: BatcherOptions;
  private maxConcurrent = 1;
  private delayNs = 0n;

  constructor(
    private readonly currentModel: () => LoadedModel,
    options: BatcherOptions,
    /** How many requests have started but not finished uploading (a hint that company is coming). */
    private readonly arriving: () => number = () => 0,
  ) {
    this.configure(options);
  }

  /** Applies new limits (a reloaded manifest may change them); queued requests keep their place. */
  configure(options: BatcherOptions): void {
    this.options = options;
    this.maxConcurrent = options.maxConcurrentBatches ?? 1;
    this.delayNs = BigInt(Math.round(options.maxQueueDelayMicroseconds * 1000));
  }

  /**
   * Scores a request in the caller's own event-loop turn, without queueing, when that cannot cost any batching:
   * the model runs synchronously (native ORT session), nothing is queued or running, no other request is
   * mid-upload, and neither this turn nor the previous one has seen another request. Under concurrent load
   * many requests become ready in the same turn, so after the first such turn everything queues and batches as
   * before. Returns undefined when the request must go through `submit` instead; throws what the run throws.
   */
  tryRunNow(rows: number, width: number, data: Float32Array): BatchResult | undefined {
    const quiet = this.readyThisTurn === 0 && this.readyLastTurn <= 1;
    this.noteReady();
    if (!quiet || this.queue.length > 0 || this.inFlight > 0 || this.arriving() > 0) return undefined;
    const model = this.currentModel();
    if (!model.runsSynchronously || width !== model.width) return undefined;
    const stats = model.stats;
    const startNs = process.hrtime.bigint();
    model.acquire();
    try {
      const values = model.runSync(data, rows);
      stats.batches++;
      stats.computeNs += Number(process.hrtime.bigint() - startNs);
      stats.lastInferenceMs = Date.now();
      stats.requests++;
      stats.rows += rows;
      return { model, values };
    } catch (err) {
      stats.failures++;
      throw err;
    } finally {
      model.releaseUse();
    }
  }

  submit(rows: number, width: number, data: Float32Array): Promise<BatchResult> {
    this.noteReady();
    return new Promise<BatchResult>((resolve, reject) => {
      this.queue.push({ rows, width, data, enqueuedNs: process.hrtime.bigint(), resolve, reject });
      this.queuedRows += rows;
      this.schedule();
    });
  }

  /** Counts requests that became ready to run in this event-loop turn; the count moves to `readyLastTurn` at its end. */
  private noteReady(): void {
    if (this.readyThisTurn++ === 0) setImmediate(this.endTurn);
  }
  private readyThisTurn = 0;
  private readyLastTurn = 0;
  private readonly endTurn = (): void => {
    this.readyLastTurn = this.readyThisTurn;
    this.readyThisTurn = 0;
  };

  /** Re-evaluates the queue, e.g. after an arriving request turned out to be malformed. */
  poke(): void {
    if (this.queue.length > 0) this.schedule();
  }

  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves when nothing is queued or running. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.queue.length === 0 || this.inFlight >= this.maxConcurrent) return;
    if (this.queuedRows >= this.options.maxBatchSize) {
      // A full batch gains nothing from waiting.
      this.clearTimer();
      this.dispatch();
      return;
    }
    if (this.delayNs === 0n || this.arriving() === 0) {
      // Nothing else is uploading: flush at the end of this event-loop turn. The immediate runs right after the
      // I/O callbacks of this turn, so it adds no wait at batch 1, yet every request parsed in the same turn
      // (under load, many) joins the batch.
      this.flushSoon();
      return;
    }
    const oldest = this.queue[0];
    if (oldest === undefined) return;
    const waitedNs = process.hrtime.bigint() - oldest.enqueuedNs;
    if (waitedNs >= this.delayNs) {
      this.flushSoon();
      return;
    }
    if (this.timer !== undefined || this.immediate !== undefined) return;
    const remainingMs = Number(this.delayNs - waitedNs) / 1e6;
    if (remainingMs >= 1) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, Math.floor(remainingMs));
    } else {
      // setTimeout cannot wait less than 1 ms; re-check each event-loop turn, letting I/O in between.
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.schedule();
      });
    }
  }

  private flushSoon(): void {
    this.clearTimer();
    if (this.immediate !== undefined) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.dispatch();
    });
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private dispatch(): void {
    if (this.queue.length === 0 || this.inFlight >= this.maxConcurrent) return;
    const model = this.currentModel();
    const now = process.hrtime.bigint();
    const timeoutNs = BigInt(this.options.timeoutMs) * 1_000_000n;
    const batch: Job[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const job = this.queue[0] as Job;
      if (batch.length > 0 && rows + job.rows > this.options.maxBatchSize) break;
      this.queue.shift();
      this.queuedRows -= job.rows;
      if (now - job.enqueuedNs > timeoutNs) {
        job.reject(new HttpError(503, `request waited more than ${this.options.timeoutMs} ms in the batch queue`));
        continue;
      }
      if (job.width !== model.width) {
        // Only possible across a reload that changed the input width; the client must re-encode its rows.
        job.reject(new HttpError(409, `model changed to ${model.width} features while the request was queued; retry`));
        continue;
      }
      batch.push(job);
      rows += job.rows;
    }
    if (batch.length === 0) {
      this.afterRun();
      return;
    }
    this.inFlight++;
    model.acquire();
    void this.runBatch(model, batch, rows, now);
  }

  private async runBatch(model: LoadedModel, batch: Job[], rows: number, startNs: bigint): Promise<void> {
    const stats = model.stats;
    try {
      let input: Float32Array;
      if (batch.length === 1) {
        input = (batch[0] as Job).data;
      } else {
        input = new Float32Array(rows * model.width);
        let offset = 0;
        for (const job of batch) {
          input.set(job.data, offset);
          offset += job.data.length;
        }
      }
      const values = await model.run(input, rows);
      const endNs = process.hrtime.bigint();
      stats.batches++;
      stats.computeNs += Number(endNs - startNs);
      stats.lastInferenceMs = Date.now();
      let offset = 0;
      for (const job of batch) {
        const n = job.rows * model.outputWidth;
        stats.requests++;
        stats.rows += job.rows;
        stats.queueNs += Number(startNs - job.enqueuedNs);
        job.resolve({ model, values: values.subarray(offset, offset + n) });
        offset += n;
      }
    } catch (err) {
      stats.failures += batch.length;
      for (const job of batch) job.reject(err);
    } finally {
      this.inFlight--;
      this.afterRun();
      model.releaseUse();
    }
  }

  private afterRun(): void {
    if (this.queue.length > 0) this.schedule();
    else if (this.pending === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
