// The outbox core: a decision's events and log line from its audit record's stream image, batched across records,
// poison parked, failed deliveries returned per record.
import { DecisionRecord } from '../../shared/contracts/api.js';
import {
  EVENT_SOURCES,
  FraudSuspectedData,
  PredictionMadeData,
  TransactionScoredData,
} from '../../shared/contracts/events.js';
import { type ChangeRecord, decisionLogRecord, derive, eventsFor, relayDecisions } from '../core.js';
import { decision, image, ports, prediction } from './fakes.js';

const insert = (recordId: string, record: unknown): ChangeRecord => ({
  recordId,
  eventName: 'INSERT',
  newImage: image(record),
});

describe('GIVEN an audit record', () => {
  it('WHEN it was declined THEN TransactionScored and FraudSuspected go out from aims.score with the contracts’ data', () => {
    const r = decision(1, { decision: 'decline', score: 0.95, reasons: ['amount far above usual'] });
    const events = eventsFor(r);
    expect(events.map((e) => [e.detailType, e.source])).toEqual([
      ['TransactionScored', EVENT_SOURCES.score],
      ['FraudSuspected', EVENT_SOURCES.score],
    ]);
    expect(TransactionScoredData.parse(events[0]?.data)).toEqual({
      transactionId: 't-1',
      customerId: 'c-1',
      merchantId: 'm-7',
      amount: 129.9,
      currency: 'EUR',
      decision: 'decline',
      score: 0.95,
      degraded: false,
      model: { name: 'fraud-detector', version: '3' },
      decidedAt: '2026-11-01T12:00:01.000Z',
    });
    expect(FraudSuspectedData.parse(events[1]?.data)).toMatchObject({
      reasons: ['amount far above usual'],
      explanation: r.explanation,
    });
  });

  it('WHEN it was approved THEN only TransactionScored goes out', () => {
    expect(eventsFor(decision(2)).map((e) => e.detailType)).toEqual(['TransactionScored']);
  });

  it('WHEN its stream image is derived THEN the log line is the record without requestHash and expiresAt, bit for bit', () => {
    const r = decision(3, { decision: 'review', score: 0.6 });
    const derived = derive(image(r));
    if (!derived.ok || !derived.line) throw new Error(derived.ok ? 'no line' : derived.reason);
    expect(derived.line).toEqual(decisionLogRecord(r));
    expect(Object.keys(derived.line)).not.toContain('requestHash');
    expect(Object.keys(derived.line)).not.toContain('expiresAt');
    // Numbers survive DynamoDB's decimal strings exactly (the feature hash is over these values).
    expect(derived.line.features).toEqual(r.features);
    expect(DecisionRecord.parse({ ...derived.line, requestHash: r.requestHash, expiresAt: r.expiresAt })).toEqual(r);
  });

  it.each([
    ['no image at all', undefined, /no NewImage/],
    ['an image that is not a decision', image({ transactionId: 't-9', note: 'hello' }), /not a DecisionRecord/],
    ['a score outside 0..1', image(decision(9, { score: 1.5 })), /not a DecisionRecord/],
    ['an attribute value DynamoDB never sends', { transactionId: { Q: 'x' } }, /cannot be unmarshalled/],
  ])('WHEN the image has %s THEN it is poison, with a reason', (_, newImage, reason) => {
    const derived = derive(newImage as never);
    expect(derived.ok).toBe(false);
    if (!derived.ok) expect(derived.reason).toMatch(reason);
  });
});

describe('GIVEN a stream batch', () => {
  it('WHEN every delivery succeeds THEN one publish and one append carry the whole batch', async () => {
    const p = ports();
    const records = [
      decision(1),
      decision(2, { decision: 'decline', score: 0.97 }),
      decision(3, { decision: 'review', score: 0.55 }),
    ];
    const out = await relayDecisions(
      records.map((r, i) => insert(String(i), r)),
      p,
    );
    expect(out).toMatchObject({ relayed: 3, events: 5, ignored: [], poisoned: [] });
    expect(out.failures.size).toBe(0);
    expect(p.bus.calls).toEqual([5]);
    expect(
      p.bus.published.map((e) => `${e.detailType}:${(e.data as { transactionId: string }).transactionId}`),
    ).toEqual([
      'TransactionScored:t-1',
      'TransactionScored:t-2',
      'FraudSuspected:t-2',
      'TransactionScored:t-3',
      'FraudSuspected:t-3',
    ]);
    expect(p.log.lines.map((l) => JSON.parse(l).transactionId)).toEqual(['t-1', 't-2', 't-3']);
  });

  it('WHEN one record’s event and another’s log line are refused THEN exactly those two are returned for retry', async () => {
    const p = ports();
    p.bus.failFor.add('t-2');
    p.log.failFor.add('t-3');
    const out = await relayDecisions(
      [decision(1), decision(2, { decision: 'decline', score: 0.97 }), decision(3)].map((r, i) => insert(`s${i}`, r)),
      p,
    );
    expect([...out.failures.keys()]).toEqual(['s1', 's2']);
    expect(out.failures.get('s1')?.message).toMatch(/TransactionScored not published.*FraudSuspected not published/);
    expect(out.failures.get('s2')?.message).toMatch(/decision-log line not accepted/);
    expect(out.relayed).toBe(1);
    expect(out.events).toBe(2);
  });

  it('WHEN a record is poison THEN it is parked with its image and reason, not retried, and the others go out', async () => {
    const p = ports();
    const bad = image({ ...decision(2), decision: 'maybe' });
    const out = await relayDecisions(
      [insert('a', decision(1)), { recordId: 'b', eventName: 'INSERT', newImage: bad }, insert('c', decision(3))],
      p,
    );
    expect(out.failures.size).toBe(0);
    expect(p.dead.parked).toEqual([{ recordId: 'b', reason: expect.stringMatching(/decision/), image: bad }]);
    expect(out.poisoned).toHaveLength(1);
    expect(out.relayed).toBe(2);
    expect(p.log.lines).toHaveLength(2);
  });

  it('WHEN the poison record cannot be parked THEN it is returned for retry rather than dropped', async () => {
    const p = ports();
    p.dead.failing = true;
    const out = await relayDecisions(
      [{ recordId: 'x', eventName: 'INSERT', newImage: undefined }, insert('y', decision(1))],
      p,
    );
    expect([...out.failures.keys()]).toEqual(['x']);
    expect(out.failures.get('x')?.message).toMatch(/not parked: dead-letter queue unavailable/);
    expect(out.poisoned).toEqual([]);
    expect(out.relayed).toBe(1);
  });

  it('WHEN a record is not an INSERT (TTL removal) THEN it is ignored: no event, no line, no retry', async () => {
    const p = ports();
    const out = await relayDecisions([{ recordId: 'r', eventName: 'REMOVE' }, insert('i', decision(1))], p);
    expect(out.ignored).toEqual(['r']);
    expect(out.failures.size).toBe(0);
    expect(p.log.lines).toHaveLength(1);
    expect(p.bus.published).toHaveLength(1);
  });

  it('WHEN the same INSERT is delivered twice THEN it is relayed twice (at least once; consumers dedupe by transactionId)', async () => {
    const p = ports();
    await relayDecisions([insert('1', decision(1))], p);
    await relayDecisions([insert('1', decision(1))], p);
    expect(p.log.lines).toHaveLength(2);
    expect(new Set(p.log.lines).size).toBe(1);
    expect(p.bus.published.map((e) => (e.data as { transactionId: string }).transactionId)).toEqual(['t-1', 't-1']);
  });
});

describe('GIVEN a prediction audit record (kind prediction, beside the decisions)', () => {
  it('WHEN its image is derived THEN one PredictionMade from aims.predict and no decision-log line', () => {
    const derived = derive(image(prediction('k-1')));
    if (!derived.ok) throw new Error(derived.reason);
    expect(derived.line).toBeUndefined();
    expect(derived.events.map((e) => [e.detailType, e.source])).toEqual([['PredictionMade', EVENT_SOURCES.predict]]);
    expect(PredictionMadeData.parse(derived.events[0]?.data)).toEqual({
      auditId: 'prediction#merchant-risk#k-1',
      modelName: 'merchant-risk',
      model: { name: 'merchant-risk', version: '1' },
      score: 0.42,
      outcome: 'watch',
      degraded: false,
      predictedAt: '2026-11-02T00:40:00.000Z',
    });
  });

  it('WHEN predictions and decisions share a batch THEN all are relayed, only decisions are logged, none is parked', async () => {
    const p = ports();
    const out = await relayDecisions(
      [insert('1', decision(1)), insert('2', prediction('k-2')), insert('3', decision(3, { decision: 'decline' }))],
      p,
    );
    expect(out).toMatchObject({ relayed: 3, events: 4, poisoned: [] });
    expect(out.failures.size).toBe(0);
    expect(p.dead.parked).toEqual([]);
    expect(p.log.lines.map((l) => JSON.parse(l).transactionId)).toEqual(['t-1', 't-3']);
    expect(p.bus.published.map((e) => e.detailType)).toEqual([
      'TransactionScored',
      'PredictionMade',
      'TransactionScored',
      'FraudSuspected',
    ]);
  });

  it('WHEN a log line fails beside a prediction THEN only the decision is retried (the line is not the prediction’s)', async () => {
    const p = ports();
    p.log.failFor.add('t-4');
    const out = await relayDecisions([insert('p', prediction('k-3')), insert('d', decision(4))], p);
    expect([...out.failures.keys()]).toEqual(['d']);
    expect(out.relayed).toBe(1);
  });

  it('WHEN a prediction record is malformed THEN it is parked as poison with a PredictionRecord reason', () => {
    const derived = derive(image({ ...prediction('k-4'), prediction: { score: 2, outcome: 'watch' } }));
    expect(derived.ok).toBe(false);
    if (!derived.ok) expect(derived.reason).toMatch(/not a PredictionRecord/);
  });
});

describe('GIVEN the review queue items of the decisions table', () => {
  const override = {
    overrideId: 'ov-1',
    transactionId: 't-8',
    kind: 'override' as const,
    previousDecision: 'review' as const,
    decision: 'decline' as const,
    note: 'stolen card',
    actor: { principal: 'ana', clientId: 'analyst-console' },
    overriddenAt: '2026-11-01T12:05:00.000Z',
  };
  const overrideItem = {
    transactionId: 'override#t-8#0002',
    kind: 'override',
    record: override,
    expiresAt: 1_900_000_000,
  };

  it('WHEN a review decision (with its index bucket) arrives THEN its review item is opened beside its events', async () => {
    const p = ports();
    const out = await relayDecisions(
      [insert('1', { ...decision(7, { decision: 'review' }), dayBucket: 'd#2026-11-01' }), insert('2', decision(9))],
      p,
    );
    expect(out).toMatchObject({ relayed: 2, poisoned: [] });
    expect(p.queue.opened).toEqual(['t-7']);
  });

  it('WHEN an override record arrives THEN DecisionOverridden from aims.review and the head moved to its number', async () => {
    const p = ports();
    const out = await relayDecisions([insert('1', overrideItem)], p);
    expect(out).toMatchObject({ relayed: 1, events: 1, poisoned: [] });
    expect(p.bus.published).toEqual([{ detailType: 'DecisionOverridden', source: 'aims.review', data: override }]);
    expect(p.queue.heads.get('t-8')).toEqual({ n: 2, decision: 'decline' });
    expect(p.log.lines).toEqual([]);
  });

  it('WHEN a review item arrives THEN it owes nothing; WHEN the review write fails THEN that record is retried', async () => {
    const p = ports();
    p.queue.failFor.add('t-8');
    const item = { transactionId: 'review#t-1', kind: 'review', status: 'pending' };
    const out = await relayDecisions([insert('r', item), insert('o', overrideItem)], p);
    expect([...out.failures.keys()]).toEqual(['o']);
    expect(out.failures.get('o')?.message).toMatch(/review item not written/);
    expect(out.poisoned).toEqual([]);
  });
});
