// The EventPublisher ports and their EventBridge adapter: validated entries, batches of 10, failed entries retried.
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type BusEvent, type PutEventsEntry, toPutEventsEntry } from '../contracts/events.js';
import {
  type EntryFailure,
  type EntryRetryOptions,
  type EntryRetryProps,
  entryRetryOptions,
  positionalFailures,
  sendBatchesEach,
  sendWithEntryRetry,
} from './entry-retry.js';

/** Port: publish domain events to the bus (all or throw). */
export interface EventPublisher {
  publish(events: readonly BusEvent[]): Promise<void>;
}

/** One event that could not be published after every attempt. */
export interface EventFailure extends EntryFailure {
  readonly detailType: string;
}

/** Port: publish many events at once and learn, per event, which could not be published (a relay maps them back). */
export interface EventBatchPublisher {
  /** Validates every event first (throws EventValidationError); then one result per event, undefined = published. */
  publishEach(events: readonly BusEvent[]): Promise<(EventFailure | undefined)[]>;
}

/** Thrown when some entries are still rejected after every attempt; says which and why. */
export class EventPublishError extends Error {
  override readonly name = 'EventPublishError';
  constructor(readonly failures: readonly EventFailure[]) {
    super(
      `failed to publish ${failures.length} event(s): ${failures
        .map((f) => `${f.detailType} (${f.errorCode}: ${f.errorMessage})`)
        .join(', ')}`,
    );
  }
}

/** PutEvents takes at most 10 entries per call. */
export const PUT_EVENTS_BATCH_SIZE = 10;

export interface EventBridgePublisherProps extends EntryRetryProps {
  readonly client: EventBridgeClient;
  readonly eventBusName: string;
}

export class EventBridgePublisher implements EventPublisher, EventBatchPublisher {
  private readonly retry: EntryRetryOptions;

  constructor(private readonly props: EventBridgePublisherProps) {
    this.retry = entryRetryOptions(props);
  }

  async publish(events: readonly BusEvent[]): Promise<void> {
    // Validate everything before sending anything: a bad event must not leave half a batch on the bus.
    const batches = this.batches(events);
    const results = (await Promise.all(batches.map((batch) => this.send(batch)))).flat();
    const failures = named(batches.flat(), results).filter((f): f is EventFailure => f !== undefined);
    if (failures.length > 0) throw new EventPublishError(failures);
  }

  async publishEach(events: readonly BusEvent[]): Promise<(EventFailure | undefined)[]> {
    const batches = this.batches(events);
    return named(batches.flat(), await sendBatchesEach(batches, (batch) => this.send(batch)));
  }

  private batches(events: readonly BusEvent[]): PutEventsEntry[][] {
    const entries = events.map((event) => toPutEventsEntry(event, this.props.eventBusName));
    const batches: PutEventsEntry[][] = [];
    for (let i = 0; i < entries.length; i += PUT_EVENTS_BATCH_SIZE) {
      batches.push(entries.slice(i, i + PUT_EVENTS_BATCH_SIZE));
    }
    return batches;
  }

  private send(batch: readonly PutEventsEntry[]): Promise<(EntryFailure | undefined)[]> {
    return sendWithEntryRetry(
      batch,
      async (pending) => {
        const out = await this.props.client.send(new PutEventsCommand({ Entries: [...pending] }));
        return positionalFailures(pending.length, out.FailedEntryCount, out.Entries);
      },
      this.retry,
    );
  }
}

const named = (entries: readonly PutEventsEntry[], results: readonly (EntryFailure | undefined)[]) =>
  results.map((failure, i) => failure && { detailType: entries[i]?.DetailType ?? '', ...failure });

/** In-memory publisher for core tests and tools: records what was published, validating like the real one. */
export class InMemoryEventPublisher implements EventPublisher, EventBatchPublisher {
  readonly published: BusEvent[] = [];
  async publish(events: readonly BusEvent[]): Promise<void> {
    for (const event of events) toPutEventsEntry(event, 'in-memory');
    this.published.push(...events);
  }
  async publishEach(events: readonly BusEvent[]): Promise<undefined[]> {
    await this.publish(events);
    return events.map(() => undefined);
  }
}
