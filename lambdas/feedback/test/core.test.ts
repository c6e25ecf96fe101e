// Feedback core with in-memory ports: ground-truth format and key layout, newest label wins, bus echo avoided.
import type { Label } from '../../../models/shared/contracts/transaction.js';
import {
  type GroundTruthSink,
  groundTruthKey,
  groundTruthLine,
  type LabelAnnouncer,
  type LabelStore,
  type ReviewResolver,
  recordLabel,
  type StoredLabel,
} from '../core.js';

class MemoryLabels implements LabelStore {
  readonly items = new Map<string, StoredLabel>();
  async putIfNotOlder(label: StoredLabel) {
    const current = this.items.get(label.transactionId);
    if (current && current.reportedAtMs > label.reportedAtMs) return { stored: false, current };
    this.items.set(label.transactionId, label);
    return { stored: true, current: label };
  }
}
class MemorySink implements GroundTruthSink {
  readonly objects = new Map<string, string>();
  async put(key: string, body: string): Promise<void> {
    this.objects.set(key, body);
  }
}
class MemoryReviews implements ReviewResolver {
  readonly resolved: string[] = [];
  async resolveByLabel(transactionId: string): Promise<void> {
    this.resolved.push(transactionId);
  }
}
class MemoryAnnouncer implements LabelAnnouncer {
  readonly published: Label[] = [];
  async labelReported(label: Label): Promise<void> {
    this.published.push(label);
  }
}

const label = (overrides: Partial<Label> = {}): Label => ({
  transactionId: 'txn-42',
  isFraud: true,
  reportedAt: '2026-11-20T10:15:00Z',
  source: 'chargeback',
  ...overrides,
});
const now = () => new Date('2026-11-23T07:05:09.123Z');

describe('groundTruthLine', () => {
  it('GIVEN a fraud and a genuine label WHEN rendered THEN each is one Model Monitor ground-truth record', () => {
    expect(JSON.parse(groundTruthLine(label()))).toEqual({
      groundTruthData: { data: '1', encoding: 'CSV' },
      eventMetadata: { eventId: 'txn-42' },
      eventVersion: '0',
    });
    expect(groundTruthLine(label({ isFraud: false }))).toBe(
      '{"groundTruthData":{"data":"0","encoding":"CSV"},"eventMetadata":{"eventId":"txn-42"},"eventVersion":"0"}',
    );
  });
});

describe('groundTruthKey', () => {
  it('GIVEN a prefix and a collection time WHEN keyed THEN <prefix>/yyyy/MM/dd/HH/<uuid>.jsonl in UTC', () => {
    const key = groundTruthKey('ground-truth/fraud-detector', new Date('2026-01-02T03:59:59+01:00'), label());
    expect(key).toMatch(
      /^ground-truth\/fraud-detector\/2026\/01\/02\/02\/[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jsonl$/,
    );
  });
  it('GIVEN slashes around the prefix or none WHEN keyed THEN no empty path segment', () => {
    expect(groundTruthKey('/gt/', now(), label())).toMatch(/^gt\/2026\/11\/23\/07\//);
    expect(groundTruthKey('', now(), label())).toMatch(/^2026\/11\/23\/07\//);
  });
  it('GIVEN the same label twice WHEN keyed THEN the same name; a different label THEN another', () => {
    expect(groundTruthKey('p', now(), label())).toBe(groundTruthKey('p', now(), label()));
    expect(groundTruthKey('p', now(), label({ isFraud: false }))).not.toBe(groundTruthKey('p', now(), label()));
  });
});

describe('recordLabel and the review queue', () => {
  it('GIVEN a label from a person WHEN recorded THEN the actor is stored and the review resolved', async () => {
    const labels = new MemoryLabels();
    const reviews = new MemoryReviews();
    const deps = { labels, groundTruth: new MemorySink(), reviews, groundTruthPrefix: 'gt', now };
    const actor = { principal: 'ana', clientId: 'analyst-console' };
    await recordLabel(label(), deps, actor);
    expect(labels.items.get('txn-42')?.actor).toEqual(actor);
    expect(reviews.resolved).toEqual(['txn-42']);
  });
});

describe('recordLabel', () => {
  const deps = () => {
    const labels = new MemoryLabels();
    const groundTruth = new MemorySink();
    const announcer = new MemoryAnnouncer();
    const reviews = new MemoryReviews();
    return { labels, groundTruth, announcer, reviews, groundTruthPrefix: 'gt', now };
  };

  it('GIVEN a new label from the API WHEN recorded THEN stored, ground truth written, LabelReported published', async () => {
    const d = deps();
    const result = await recordLabel(label(), d);
    expect(result).toEqual({
      transactionId: 'txn-42',
      stored: true,
      isFraud: true,
      recordedAt: '2026-11-23T07:05:09.123Z',
      groundTruthKey: expect.stringMatching(/^gt\//),
    });
    expect(d.labels.items.get('txn-42')).toMatchObject({
      isFraud: true,
      reportedAtMs: Date.parse('2026-11-20T10:15:00Z'),
      storedAt: '2026-11-23T07:05:09.123Z',
    });
    expect([...d.groundTruth.objects.values()]).toEqual([`${groundTruthLine(label())}\n`]);
    expect(d.announcer.published).toEqual([label()]);
  });

  it('GIVEN a newer label stored WHEN an older one arrives (other offset) THEN nothing changes and nothing is sent', async () => {
    const d = deps();
    await recordLabel(label({ isFraud: false, reportedAt: '2026-11-20T22:30:00Z' }), d);
    // Sorts after the stored one as a string, yet is 2026-11-20T21:00Z: older.
    const older = label({ isFraud: true, reportedAt: '2026-11-21T00:00:00+03:00' });
    const result = await recordLabel(older, d);
    // The answer reports the label in force, not the one just refused.
    expect(result).toEqual({ transactionId: 'txn-42', stored: false, isFraud: false, recordedAt: now().toISOString() });
    expect(d.labels.items.get('txn-42')?.isFraud).toBe(false);
    expect(d.groundTruth.objects.size).toBe(1);
    expect(d.announcer.published).toHaveLength(1);
  });

  it('GIVEN a stored label WHEN a newer one arrives THEN it overwrites and gets its own ground-truth object', async () => {
    const d = deps();
    await recordLabel(label({ isFraud: false, reportedAt: '2026-11-20T10:00:00Z' }), d);
    const result = await recordLabel(label({ isFraud: true, reportedAt: '2026-11-22T10:00:00Z' }), d);
    expect(result.stored).toBe(true);
    expect(d.labels.items.get('txn-42')?.isFraud).toBe(true);
    expect(d.groundTruth.objects.size).toBe(2);
  });

  it('GIVEN the same label retried WHEN recorded again THEN the same ground-truth object is overwritten', async () => {
    const d = deps();
    await recordLabel(label(), d);
    await recordLabel(label(), d);
    expect(d.groundTruth.objects.size).toBe(1);
  });

  it('GIVEN a label from the bus (no announcer) WHEN recorded THEN stored and written but not republished', async () => {
    const d = deps();
    const result = await recordLabel(label(), { ...d, announcer: undefined });
    expect(result.stored).toBe(true);
    expect(d.groundTruth.objects.size).toBe(1);
    expect(d.announcer.published).toEqual([]);
  });
});
