// The lock: one run per model, drift triggers debounced, stale holders expire, the approval token needs the lock.
import { coordinate, InMemoryLockStore } from '../coordination.js';

const settings = { leaseHours: 24, driftDebounceHours: 6 };
const start = (trigger: 'drift' | 'schedule' | 'api', executionArn: string, startedAt: string) =>
  ({ action: 'acquire', model: 'fraud-detector', trigger, executionArn, startedAt }) as const;

describe('GIVEN the retraining lock of a model', () => {
  test('WHEN a second trigger arrives during a run THEN it is refused as busy, and accepted after release', async () => {
    const store = new InMemoryLockStore();
    expect(await coordinate(start('schedule', 'e1', '2026-01-01T00:00:00.000Z'), store, settings)).toEqual({
      acquired: true,
    });
    expect(await coordinate(start('api', 'e2', '2026-01-01T01:00:00.000Z'), store, settings)).toMatchObject({
      acquired: false,
      reason: 'busy',
      holder: 'e1',
    });
    expect(
      await coordinate({ action: 'release', model: 'fraud-detector', executionArn: 'e2' }, store, settings),
    ).toEqual({ released: false });
    expect(
      await coordinate({ action: 'release', model: 'fraud-detector', executionArn: 'e1' }, store, settings),
    ).toEqual({ released: true });
    expect(await coordinate(start('api', 'e3', '2026-01-01T02:00:00.000Z'), store, settings)).toEqual({
      acquired: true,
    });
  });

  test('WHEN drift fires again within the debounce window THEN it is debounced; a schedule is not', async () => {
    const store = new InMemoryLockStore();
    await coordinate(start('drift', 'e1', '2026-01-01T00:00:00.000Z'), store, settings);
    await coordinate({ action: 'release', model: 'fraud-detector', executionArn: 'e1' }, store, settings);
    expect(await coordinate(start('drift', 'e2', '2026-01-01T05:00:00.000Z'), store, settings)).toMatchObject({
      acquired: false,
      reason: 'debounced',
    });
    expect(await coordinate(start('drift', 'e3', '2026-01-01T06:30:00.000Z'), store, settings)).toEqual({
      acquired: true,
    });
    await coordinate({ action: 'release', model: 'fraud-detector', executionArn: 'e3' }, store, settings);
    expect(await coordinate(start('schedule', 'e4', '2026-01-01T06:31:00.000Z'), store, settings)).toEqual({
      acquired: true,
    });
  });

  test('WHEN a holder never released (timed out) THEN the lock is free once its lease has passed', async () => {
    const store = new InMemoryLockStore();
    await coordinate(start('schedule', 'e1', '2026-01-01T00:00:00.000Z'), store, settings);
    expect(await coordinate(start('schedule', 'e2', '2026-01-01T23:00:00.000Z'), store, settings)).toMatchObject({
      acquired: false,
    });
    expect(await coordinate(start('schedule', 'e2', '2026-01-02T00:00:01.000Z'), store, settings)).toEqual({
      acquired: true,
    });
  });

  test('WHEN an execution parks its approval token THEN the approve API can find it; without the lock it fails', async () => {
    const store = new InMemoryLockStore();
    await coordinate(start('schedule', 'e1', '2026-01-01T00:00:00.000Z'), store, settings);
    const park = {
      action: 'await-approval',
      model: 'fraud-detector',
      taskToken: 'tok',
      version: 'v1',
      modelPackageArn: 'arn:pkg/1',
    } as const;
    expect(await coordinate({ ...park, executionArn: 'e1' }, store, settings)).toEqual({ parked: true });
    expect(await store.get('fraud-detector')).toMatchObject({ taskToken: 'tok', pendingVersion: 'v1' });
    await expect(coordinate({ ...park, executionArn: 'other' }, store, settings)).rejects.toThrow(
      /does not hold the lock/,
    );
  });
});
