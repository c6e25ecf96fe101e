// The override use case with in-memory ports: the decision in force, the create-once number, a lost head write.
import type { OverrideRecord } from '../../shared/contracts/review.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import { decisionRecord } from '../../shared/test/records.js';
import { type OverrideHead, type OverridePorts, overrideDecision } from '../core.js';

function memory(headWrites = true) {
  const records = new Map<string, OverrideRecord>();
  const heads = new Map<string, OverrideHead>();
  const ports: OverridePorts = {
    decision: async (id) => (id === 'gone' ? undefined : decisionRecord(id, { decision: 'review' })),
    head: async (id) => heads.get(id) ?? { count: 0 },
    override: async (id, n) => records.get(`${id}#${n}`),
    create: async (n, r) => {
      if (records.has(`${r.transactionId}#${n}`)) return false;
      records.set(`${r.transactionId}#${n}`, r);
      return true;
    },
    applyHead: async (n, r) => {
      if (headWrites && (heads.get(r.transactionId)?.count ?? 0) < n)
        heads.set(r.transactionId, { count: n, decision: r.decision });
    },
    newId: () => 'ov-1',
    now: () => new Date('2026-12-07T12:00:00.000Z'),
  };
  return { ports, records, heads };
}
const ana = { principal: 'ana', clientId: 'analyst-console' };

describe('overrideDecision', () => {
  it('GIVEN a review decision WHEN overridden twice THEN records 1 and 2, each pointing at the decision it replaced', async () => {
    const m = memory();
    await overrideDecision('t-1', { decision: 'decline', note: 'stolen' }, ana, m.ports);
    const second = await overrideDecision('t-1', { decision: 'approve', note: 'found' }, ana, m.ports);
    expect(second).toMatchObject({ previousDecision: 'decline', decision: 'approve', actor: ana, kind: 'override' });
    expect([...m.records.keys()]).toEqual(['t-1#1', 't-1#2']);
  });

  it('GIVEN the decision in force WHEN asked again THEN 409; an unknown decision THEN 404', async () => {
    const m = memory();
    await expect(overrideDecision('t-1', { decision: 'review', note: 'same' }, ana, m.ports)).rejects.toThrow(
      ConflictError,
    );
    await expect(overrideDecision('gone', { decision: 'approve', note: 'x' }, ana, m.ports)).rejects.toThrow(
      NotFoundError,
    );
  });

  it('GIVEN a head write lost after a record WHEN the next override comes THEN 409 and the head is brought up to date', async () => {
    const m = memory(false);
    await overrideDecision('t-1', { decision: 'decline', note: 'stolen' }, ana, m.ports);
    expect(m.heads.get('t-1')).toBeUndefined();
    const repaired = memory();
    for (const [k, v] of m.records) repaired.records.set(k, v);
    await expect(overrideDecision('t-1', { decision: 'approve', note: 'found' }, ana, repaired.ports)).rejects.toThrow(
      /landed first/,
    );
    expect(repaired.heads.get('t-1')).toEqual({ count: 1, decision: 'decline' });
    const retried = await overrideDecision('t-1', { decision: 'approve', note: 'found' }, ana, repaired.ports);
    expect(retried.previousDecision).toBe('decline');
  });
});
