// The EventPublisher port and its EventBridge adapter: validated entries, batches of 10, failed entries retried.
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type BusEvent, type PutEventsEntry, toPutEventsEntry } from '../contracts/events.js';

/** Port: publish domain events to the bus (all or throw). */
export interface EventPublisher {
  publish(events: readonly BusEvent[]): Promise<void>;
}

/** Thrown when some entries are still rejected after every attempt; says which and why. */
export class EventPublishError extends Error {
  override readonly name = 'EventPublishError';
  constructor(readonly failures: readonly { detailType: string; errorCode: string; errorMessage: string }[]) {
    super(
      `failed to publish ${failures.length} event(s): ${failures
        .map((f) => `${f.detailType} (${f.errorCode}: ${f.errorMessage})`)
        .join(', ')}`,
    );
  }
}

/** PutEvents takes at most 10 entries per call. */
export const PUT_EVENTS_BATCH_SIZE = 10;

export interface EventBridgePublisherProps {
  readonly client: EventBridgeClient;
  readonly eventBusName: string;
  /** Attempts per entry, counting the first. @default 3 */
  readonly maxAttempts?: number;
  /** Delay before the first retry, doubled each time. @default 50 */
  readonly baseDelayMs?: number;
}

export class EventBridgePublisher implements EventPublisher {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;

  constructor(private readonly props: EventBridgePublisherProps) {
    this.maxAttempts = props.maxAttempts ?? 3;
    this.baseDelayMs = props.baseDelayMs ?? 50;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new Error(`maxAttempts must be a positive integer, got ${this.maxAttempts}`);
    }
  }

  async publish(events: readonly BusEvent[]): Promise<void> {
    // Validate everything before sending anything: a bad event must not leave half a batch on the bus.
    const entries = events.map((event) => toPutEventsEntry(event, this.props.eventBusName));
    const batches: PutEventsEntry[][] = [];
    for (let i = 0; i < entries.length; i += PUT_EVENTS_BATCH_SIZE) {
      batches.push(entries.slice(i, i + PUT_EVENTS_BATCH_SIZE));
    }
    const failures = (await Promise.all(batches.map((batch) => this.sendWithRetry(batch)))).flat();
    if (failures.length > 0) throw new EventPublishError(failures);
  }

  private async sendWithRetry(batch: PutEventsEntry[]) {
    let pending = batch;
    let lastErrors: { detailType: string; errorCode: string; errorMessage: string }[] = [];
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(this.baseDelayMs * 2 ** (attempt - 2));
      const out = await this.props.client.send(new PutEventsCommand({ Entries: pending }));
      if (!out.FailedEntryCount) return [];
      // Result entries are positional: entry i answers request entry i.
      const retry: PutEventsEntry[] = [];
      lastErrors = [];
      (out.Entries ?? []).forEach((result, i) => {
        const entry = pending[i];
        if (entry && result.ErrorCode) {
          retry.push(entry);
          lastErrors.push({
            detailType: entry.DetailType,
            errorCode: result.ErrorCode,
            errorMessage: result.ErrorMessage ?? '',
          });
        }
      });
      pending = retry;
    }
    return pending.length > 0 ? lastErrors : [];
  }
}

/** In-memory publisher for core tests and tools: records what was published, validating like the real one. */
export class InMemoryEventPublisher implements EventPublisher {
  readonly published: BusEvent[] = [];
  async publish(events: readonly BusEvent[]): Promise<void> {
    for (const event of events) toPutEventsEntry(event, 'in-memory');
    this.published.push(...events);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
