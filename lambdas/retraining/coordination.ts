// One retraining run per model at a time, drift triggers debounced, and the approval task token parked for the
// approve API: the state machine's lock item (one per model) in the retraining table.
import { z } from 'zod';

export const Trigger = z.enum(['drift', 'schedule', 'api']);

export const CoordinationRequest = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('acquire'),
    model: z.string().min(1),
    trigger: Trigger,
    executionArn: z.string().min(1),
    /** $$.Execution.StartTime (ISO 8601). */
    startedAt: z.iso.datetime({ offset: true }),
  }),
  z.object({ action: z.literal('release'), model: z.string().min(1), executionArn: z.string().min(1) }),
  z.object({
    action: z.literal('await-approval'),
    model: z.string().min(1),
    executionArn: z.string().min(1),
    taskToken: z.string().min(1),
    version: z.string().min(1),
    modelPackageArn: z.string().min(1),
  }),
]);
export type CoordinationRequest = z.infer<typeof CoordinationRequest>;

/** The lock item as stored: `pk` = model name. */
export interface LockItem {
  readonly pk: string;
  readonly holder?: string;
  /** ISO time after which a holder that never released (timed-out execution) is ignored. */
  readonly leaseUntil?: string;
  readonly lastStartedAt?: string;
  readonly lastTrigger?: string;
  readonly taskToken?: string;
  readonly pendingVersion?: string;
  readonly pendingModelPackageArn?: string;
}

/** Port: the lock store. Each method is one conditional write; false when its condition did not hold. */
export interface LockStore {
  tryAcquire(item: {
    model: string;
    holder: string;
    now: string;
    leaseUntil: string;
    trigger: string;
    /** Refuse when the last start is later than this (drift debounce). */
    notStartedSince?: string;
  }): Promise<boolean>;
  release(model: string, holder: string): Promise<boolean>;
  parkToken(
    model: string,
    holder: string,
    token: { taskToken: string; version: string; modelPackageArn: string },
  ): Promise<boolean>;
  get(model: string): Promise<LockItem | undefined>;
}

export interface CoordinationSettings {
  readonly leaseHours: number;
  readonly driftDebounceHours: number;
}

export type CoordinationResult =
  | { acquired: true }
  | { acquired: false; reason: 'busy' | 'debounced'; holder?: string; lastStartedAt?: string }
  | { released: boolean }
  | { parked: true };

const hoursAfter = (iso: string, hours: number) => new Date(new Date(iso).getTime() + hours * 3_600_000).toISOString();

export async function coordinate(
  request: CoordinationRequest,
  store: LockStore,
  settings: CoordinationSettings,
): Promise<CoordinationResult> {
  switch (request.action) {
    case 'acquire': {
      const ok = await store.tryAcquire({
        model: request.model,
        holder: request.executionArn,
        now: request.startedAt,
        leaseUntil: hoursAfter(request.startedAt, settings.leaseHours),
        trigger: request.trigger,
        notStartedSince:
          request.trigger === 'drift' ? hoursAfter(request.startedAt, -settings.driftDebounceHours) : undefined,
      });
      if (ok) return { acquired: true };
      const item = await store.get(request.model);
      const busy = item?.holder !== undefined && (item.leaseUntil ?? '') >= request.startedAt;
      return {
        acquired: false,
        reason: busy ? 'busy' : 'debounced',
        ...(item?.holder ? { holder: item.holder } : {}),
        ...(item?.lastStartedAt ? { lastStartedAt: item.lastStartedAt } : {}),
      };
    }
    case 'release':
      return { released: await store.release(request.model, request.executionArn) };
    case 'await-approval': {
      const ok = await store.parkToken(request.model, request.executionArn, request);
      if (!ok) throw new Error(`model ${request.model}: execution ${request.executionArn} does not hold the lock`);
      return { parked: true };
    }
  }
}

/** In-memory LockStore with the same conditions, for tests and tools. */
export class InMemoryLockStore implements LockStore {
  readonly items = new Map<string, LockItem>();

  async tryAcquire(item: Parameters<LockStore['tryAcquire']>[0]) {
    const current = this.items.get(item.model);
    const free = !current?.holder || (current.leaseUntil ?? '') < item.now;
    const debounced =
      item.notStartedSince !== undefined &&
      current?.lastStartedAt !== undefined &&
      current.lastStartedAt >= item.notStartedSince;
    if (!free || debounced) return false;
    this.items.set(item.model, {
      pk: item.model,
      holder: item.holder,
      leaseUntil: item.leaseUntil,
      lastStartedAt: item.now,
      lastTrigger: item.trigger,
    });
    return true;
  }

  async release(model: string, holder: string) {
    const current = this.items.get(model);
    if (current?.holder !== holder) return false;
    const {
      holder: _h,
      leaseUntil: _l,
      taskToken: _t,
      pendingVersion: _v,
      pendingModelPackageArn: _a,
      ...rest
    } = current;
    this.items.set(model, rest);
    return true;
  }

  async parkToken(
    model: string,
    holder: string,
    token: { taskToken: string; version: string; modelPackageArn: string },
  ) {
    const current = this.items.get(model);
    if (current?.holder !== holder) return false;
    this.items.set(model, {
      ...current,
      taskToken: token.taskToken,
      pendingVersion: token.version,
      pendingModelPackageArn: token.modelPackageArn,
    });
    return true;
  }

  async get(model: string) {
    return this.items.get(model);
  }
}
