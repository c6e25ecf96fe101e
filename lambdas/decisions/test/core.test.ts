// The decisions read core with an in-memory index: the cursor, the day walk and its read budget per page.
import { DAY_QUERIES_PER_PAGE } from '../../shared/contracts/api.js';
import { ValidationError } from '../../shared/errors.js';
import {
  type DayIndex,
  type DayQuery,
  decodeCursor,
  encodeCursor,
  type IndexRow,
  type ListPorts,
  walkDays,
} from '../core.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const row = (id: string, decidedAt: string): IndexRow => ({
  transactionId: id,
  customerId: 'c-1',
  merchantId: 'm-1',
  amount: 10,
  currency: 'EUR',
  decision: 'approve',
  score: 0.1,
  model: { name: 'fraud-detector', version: '1' },
  degraded: false,
  decidedAt,
});

/** Rows by day, newest first; counts Queries. */
class MemoryIndex implements DayIndex {
  queries: DayQuery[] = [];
  constructor(private readonly rows: readonly IndexRow[]) {}
  async query(q: DayQuery) {
    this.queries.push(q);
    const day = this.rows
      .filter((r) => r.decidedAt.startsWith(q.day) && r.decidedAt >= q.lo && r.decidedAt <= q.hi)
      .sort((a, b) => b.decidedAt.localeCompare(a.decidedAt));
    const start = q.after ? day.findIndex((r) => r.transactionId === q.after?.id) + 1 : 0;
    const page = day.slice(start, start + q.limit);
    const last = page.at(-1);
    return start + q.limit < day.length && last
      ? { rows: page, last: { id: last.transactionId, decidedAt: last.decidedAt } }
      : { rows: page };
  }
}

const ports = (index: DayIndex): ListPorts => ({
  index,
  reviews: { getMany: async () => new Map(), overrides: async () => new Map() },
  retentionDays: 90,
  now: () => NOW,
});

describe('the cursor', () => {
  it('GIVEN a cursor WHEN decoded THEN the same day and position; tampering THEN a ValidationError', () => {
    const c = { day: '2026-12-07', after: { id: 't-1', decidedAt: '2026-12-07T10:00:00.000Z' } };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    expect(decodeCursor(encodeCursor({ day: '2026-12-06' }))).toEqual({ day: '2026-12-06' });
    const bad = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');
    for (const text of [
      '%%%',
      bad({ d: 'x' }),
      bad({ d: '2026-12-07', i: 'review#t-1', a: '2026-12-07T10:00:00.000Z' }),
      bad({ d: '2026-12-07', i: 't-1', a: '2026-12-06T10:00:00.000Z' }),
    ]) {
      expect(() => decodeCursor(text)).toThrow(ValidationError);
    }
  });
});

describe('walkDays', () => {
  it('GIVEN decisions three days apart WHEN paged by 2 THEN all of them once, newest first, across the empty days', async () => {
    const index = new MemoryIndex([
      row('a', '2026-12-07T11:00:00.000Z'),
      row('b', '2026-12-07T10:00:00.000Z'),
      row('c', '2026-12-07T09:00:00.000Z'),
      row('d', '2026-12-04T09:00:00.000Z'),
    ]);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await walkDays(
        'decisions',
        { limit: 2, from: '2026-12-01T00:00:00Z', ...(cursor ? { cursor } : {}) },
        ports(index),
      );
      seen.push(...page.rows.map((r) => r.transactionId));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  it('GIVEN months without decisions WHEN a page is read THEN at most DAY_QUERIES_PER_PAGE Queries and a cursor to go on', async () => {
    const index = new MemoryIndex([row('old', '2026-10-01T09:00:00.000Z')]);
    const page = await walkDays('decisions', { limit: 25 }, ports(index));
    expect(index.queries).toHaveLength(DAY_QUERIES_PER_PAGE);
    expect(page.rows).toEqual([]);
    expect(page.nextCursor).toBeDefined();
  });

  it('GIVEN from after to, or a cursor outside the window THEN nothing / a ValidationError', async () => {
    const index = new MemoryIndex([]);
    expect(
      await walkDays('decisions', { limit: 5, from: '2026-12-07T10:00:00Z', to: '2026-12-07T09:00:00Z' }, ports(index)),
    ).toEqual({ rows: [] });
    const cursor = encodeCursor({ day: '2026-12-09' });
    await expect(walkDays('decisions', { limit: 5, cursor }, ports(index))).rejects.toThrow(/outside the window/);
  });
});
