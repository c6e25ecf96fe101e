// Bus event contracts: versioned envelopes validated both ways, PutEvents entries, draft-04 schemas for the registry.
import {
  busEvent,
  DETAIL_TYPES,
  EVENT_SOURCES,
  EventValidationError,
  eventDetailJsonSchemas,
  eventJsonSchemas,
  parseBusEvent,
  toPutEventsEntry,
} from '../contracts/events.js';

const scored = {
  transactionId: 't-1',
  customerId: 'c-1',
  merchantId: 'm-1',
  amount: 12.5,
  currency: 'EUR',
  decision: 'approve' as const,
  score: 0.1,
  degraded: false,
  model: { name: 'fraud-detector', version: '3' },
  decidedAt: '2026-11-01T12:00:00.000Z',
};

describe('bus events', () => {
  it('GIVEN a TransactionScored event WHEN rendered and parsed back THEN the round trip keeps source, type and data', () => {
    const entry = toPutEventsEntry(busEvent('TransactionScored', EVENT_SOURCES.score, scored), 'bus');
    expect(entry).toMatchObject({ Source: 'aims.score', DetailType: 'TransactionScored', EventBusName: 'bus' });
    expect(JSON.parse(entry.Detail)).toEqual({ version: 1, data: scored });
    const parsed = parseBusEvent({
      'detail-type': entry.DetailType,
      source: entry.Source,
      detail: JSON.parse(entry.Detail),
    });
    expect(parsed).toEqual({ detailType: 'TransactionScored', source: 'aims.score', data: scored });
  });

  it('GIVEN an invalid detail WHEN publishing or consuming THEN EventValidationError names the problem', () => {
    expect(() =>
      toPutEventsEntry(busEvent('TransactionScored', EVENT_SOURCES.score, { ...scored, score: 2 }), 'b'),
    ).toThrow(EventValidationError);
    expect(() =>
      parseBusEvent({ 'detail-type': 'LabelReported', source: 'x', detail: { version: 2, data: {} } }),
    ).toThrow(/invalid LabelReported event detail/);
    expect(() => parseBusEvent({ 'detail-type': 'Nope', source: 'x', detail: {} })).toThrow(
      /unknown detail-type 'Nope'/,
    );
  });

  it('GIVEN an external LabelReported without source WHEN parsed THEN the default applies', () => {
    const out = parseBusEvent({
      'detail-type': 'LabelReported',
      source: 'aims.external',
      detail: { version: 1, data: { transactionId: 't-1', isFraud: true, reportedAt: '2026-11-02T00:00:00Z' } },
    });
    expect(out.detailType === 'LabelReported' && out.data.source).toBe('chargeback');
  });

  it('GIVEN a ShadowCompared event WHEN rendered and parsed back THEN it keeps the verdict; a negative PSI is refused', () => {
    const compared = {
      model: 'fraud-detector',
      trigger: 'pipeline' as const,
      windowStart: '2026-11-23T10:00:00.000Z',
      windowEnd: '2026-11-23T10:30:00.000Z',
      pairs: 120,
      unpaired: { champion: 2, shadow: 0 },
      meanAbsDiff: 0.01,
      p99AbsDiff: 0.08,
      agreement: 0.99,
      scorePsi: 0.02,
      passed: true,
      judged: true,
      reasons: [],
    };
    const entry = toPutEventsEntry(busEvent('ShadowCompared', EVENT_SOURCES.shadow, compared), 'bus');
    expect(entry).toMatchObject({ Source: 'aims.shadow', DetailType: 'ShadowCompared' });
    expect(
      parseBusEvent({ 'detail-type': entry.DetailType, source: entry.Source, detail: JSON.parse(entry.Detail) }),
    ).toEqual({ detailType: 'ShadowCompared', source: 'aims.shadow', data: compared });
    expect(() =>
      toPutEventsEntry(busEvent('ShadowCompared', EVENT_SOURCES.shadow, { ...compared, scorePsi: -0.1 }), 'bus'),
    ).toThrow(/invalid ShadowCompared event detail/);
  });

  it('GIVEN every detail type WHEN exporting JSON Schema THEN draft-04 with the version/data envelope', () => {
    const details = eventDetailJsonSchemas();
    const events = eventJsonSchemas();
    expect(Object.keys(details).sort()).toEqual(Object.keys(DETAIL_TYPES).sort());
    for (const [type, schema] of Object.entries(details)) {
      expect(schema).toMatchObject({
        $schema: 'http://json-schema.org/draft-04/schema#',
        title: type,
        required: ['version', 'data'],
      });
      expect(events[type as keyof typeof events]).toMatchObject({ properties: { 'detail-type': { enum: [type] } } });
    }
  });
});
