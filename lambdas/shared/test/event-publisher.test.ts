// EventBridge publisher with the real SDK against a local PutEvents endpoint: batches of 10, failed entries retried.

import { EventBridgePublisher, EventPublishError } from '../adapters/event-publisher.js';
import { eventBridgeClient } from '../aws.js';
import { busEvent, EVENT_SOURCES } from '../contracts/events.js';
import { startJsonServer } from './local.js';

const event = (n: number) =>
  busEvent('TransactionSubmitted', EVENT_SOURCES.ingest, {
    transactionId: `t-${n}`,
    customerId: 'c-1',
    merchantId: 'm-1',
    merchantCategory: 'grocery',
    amount: 10,
    currency: 'EUR',
    country: 'DE',
    channel: 'online',
    timestamp: '2026-11-01T12:00:00Z',
  });

type Entry = { Detail: string };

describe('EventBridgePublisher', () => {
  it('GIVEN 23 events and one throttled entry WHEN publishing THEN 3 batches go out and only the failed entry is retried', async () => {
    let failedOnce = false;
    const server = await startJsonServer(({ body }) => {
      const entries = JSON.parse(body).Entries as Entry[];
      const results = entries.map((e) => {
        if (!failedOnce && JSON.parse(e.Detail).data.transactionId === 't-5') {
          failedOnce = true;
          return { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' };
        }
        return { EventId: 'x' };
      });
      return {
        status: 200,
        body: { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results },
      };
    });
    try {
      const publisher = new EventBridgePublisher({
        client: eventBridgeClient(server.clientOptions),
        eventBusName: 'bus',
        baseDelayMs: 1,
      });
      await publisher.publish(Array.from({ length: 23 }, (_, i) => event(i)));
      // The three batches go out concurrently, so the retry may overtake a later batch: assert content, not order.
      const batches = server.requests.map((r) =>
        (JSON.parse(r.body).Entries as Entry[]).map((e) => JSON.parse(e.Detail).data.transactionId as string),
      );
      expect(batches.map((b) => b.length).sort((a, b) => a - b)).toEqual([1, 3, 10, 10]);
      const retry = batches.findIndex((b) => b.length === 1);
      const original = batches.findIndex((b) => b.length === 10 && b.includes('t-5'));
      expect(batches[retry]).toEqual(['t-5']);
      expect(original).toBeLessThan(retry);
      expect(batches.flat().sort()).toEqual([...Array.from({ length: 23 }, (_, i) => `t-${i}`), 't-5'].sort());
    } finally {
      await server.close();
    }
  });

  it('GIVEN an entry that keeps failing WHEN attempts run out THEN EventPublishError lists it', async () => {
    const server = await startJsonServer(() => ({
      status: 200,
      body: { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] },
    }));
    try {
      const publisher = new EventBridgePublisher({
        client: eventBridgeClient(server.clientOptions),
        eventBusName: 'bus',
        maxAttempts: 3,
        baseDelayMs: 1,
      });
      const err = await publisher.publish([event(1)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EventPublishError);
      expect((err as EventPublishError).failures).toEqual([
        { detailType: 'TransactionSubmitted', errorCode: 'InternalFailure', errorMessage: 'boom' },
      ]);
      expect(server.requests).toHaveLength(3);
    } finally {
      await server.close();
    }
  });

  it('GIVEN 12 events and a call the endpoint rejects whole WHEN publishing each THEN only that call’s entries report it', async () => {
    const server = await startJsonServer(({ body }) => {
      const entries = JSON.parse(body).Entries as Entry[];
      // The call holding t-11 is refused as a whole (a 400 the SDK does not retry); the other is accepted.
      if (entries.some((e) => e.Detail.includes('"t-11"'))) {
        return { status: 400, body: { __type: 'ValidationException', message: 'bad batch' } };
      }
      return { status: 200, body: { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) } };
    });
    try {
      const publisher = new EventBridgePublisher({
        client: eventBridgeClient(server.clientOptions),
        eventBusName: 'bus',
      });
      const out = await publisher.publishEach(Array.from({ length: 12 }, (_, i) => event(i)));
      expect(out.slice(0, 10)).toEqual(Array(10).fill(undefined));
      expect(out.slice(10)).toEqual([
        { detailType: 'TransactionSubmitted', errorCode: 'ValidationException', errorMessage: 'bad batch' },
        { detailType: 'TransactionSubmitted', errorCode: 'ValidationException', errorMessage: 'bad batch' },
      ]);
    } finally {
      await server.close();
    }
  });
});
