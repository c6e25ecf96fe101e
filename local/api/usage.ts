// API keys and usage plans: generated key values (persisted), per-key token-bucket throttling and persisted quotas.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ApiKeySpec, RestApiDefinition, UsagePlanSpec } from './model.js';
import { apiDir, readJsonFile, writeJsonFile } from './store.js';

export const keysPath = (dataDir: string): string => join(apiDir(dataDir), 'keys.json');
export const usagePath = (dataDir: string): string => join(apiDir(dataDir), 'usage.json');

/** A token bucket: `burst` tokens at most, refilled at `rate` per second. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The quota window a moment falls in (UTC; a plan's Offset shifts the window start by that many days/weeks). */
export function quotaWindow(period: 'DAY' | 'WEEK' | 'MONTH', at: Date): string {
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  if (period === 'DAY') return d.toISOString().slice(0, 10);
  if (period === 'MONTH') return d.toISOString().slice(0, 7);
  // Weeks start on Monday.
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return `W${d.toISOString().slice(0, 10)}`;
}

export type UsageDecision =
  | { readonly ok: true; readonly key: ApiKeySpec & { readonly value: string } }
  | { readonly ok: false; readonly type: 'INVALID_API_KEY' | 'THROTTLED' | 'QUOTA_EXCEEDED' };

interface UsageFile {
  /** `<planId>|<keyId>` → window and count used in it. */
  readonly counts: Record<string, { window: string; used: number }>;
}

/** Holds the keys of the template with their local values and applies their usage plans. */
export class UsagePlans {
  private readonly byValue = new Map<string, ApiKeySpec & { value: string }>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly plans: Map<string, UsagePlanSpec>;
  private readonly counts: UsageFile['counts'];
  private dirty = false;
  private readonly flushTimer: NodeJS.Timeout;

  constructor(
    private readonly dataDir: string,
    api: RestApiDefinition,
    private readonly enforceLimits: boolean,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.plans = new Map(api.usagePlans.map((p) => [p.id, p]));
    const stored = readJsonFile<Record<string, { id: string; value: string }>>(keysPath(dataDir)) ?? {};
    const next: Record<string, { id: string; value: string }> = {};
    for (const key of api.apiKeys) {
      // API Gateway generates 40-character alphanumeric keys; a template Value always wins.
      const value = key.value ?? stored[key.key]?.value ?? randomBytes(30).toString('base64url').slice(0, 40);
      next[key.key] = { id: key.id, value };
      this.byValue.set(value, { ...key, value });
    }
    writeJsonFile(keysPath(dataDir), next);
    this.counts = readJsonFile<UsageFile>(usagePath(dataDir))?.counts ?? {};
    // Quota counts are flushed in the background: a write per request would dominate the request cost.
    this.flushTimer = setInterval(() => this.flush(), 1_000);
    this.flushTimer.unref();
  }

  /** The key value of an app client: the key whose CustomerId is its id, else one linked by Name or description. */
  valueForClient(client: { readonly clientId: string; readonly name: string }): string | undefined {
    const keys = [...this.byValue.values()];
    return (keys.find((k) => k.customerId === client.clientId) ?? keys.find((k) => k.clientName === client.name))
      ?.value;
  }

  /** GetApiKeys?customerId=…&includeValues=true as API Gateway answers it (the authorizer's key lookup). */
  getApiKeys(customerId: string | undefined): { item: Record<string, unknown>[] } {
    const item = [...this.byValue.values()]
      .filter((k) => customerId === undefined || k.customerId === customerId)
      .map((k) => ({
        id: k.id,
        value: k.value,
        enabled: k.enabled,
        ...(k.customerId ? { customerId: k.customerId } : {}),
        stageKeys: [],
      }));
    return { item };
  }

  /** API Gateway's checks for a method that requires a key: valid, enabled, in a plan of this stage, within limits. */
  check(value: string | undefined): UsageDecision {
    const key = value ? this.byValue.get(value) : undefined;
    if (!key?.enabled || key.usagePlanIds.length === 0) return { ok: false, type: 'INVALID_API_KEY' };
    if (!this.enforceLimits) return { ok: true, key };
    for (const planId of key.usagePlanIds) {
      const plan = this.plans.get(planId);
      if (!plan) continue;
      if (plan.throttle) {
        const id = `${planId}|${key.id}`;
        let bucket = this.buckets.get(id);
        if (!bucket) {
          bucket = new TokenBucket(plan.throttle.rateLimit, plan.throttle.burstLimit);
          this.buckets.set(id, bucket);
        }
        if (!bucket.take()) return { ok: false, type: 'THROTTLED' };
      }
      if (plan.quota) {
        const id = `${planId}|${key.id}`;
        const window = quotaWindow(plan.quota.period, this.clock());
        const entry =
          this.counts[id]?.window === window
            ? (this.counts[id] as { window: string; used: number })
            : { window, used: 0 };
        if (entry.used >= plan.quota.limit) return { ok: false, type: 'QUOTA_EXCEEDED' };
        entry.used++;
        this.counts[id] = entry;
        this.dirty = true;
      }
    }
    return { ok: true, key };
  }

  /** Remaining quota of a key in its current window per plan (for tests and the CLI). */
  remaining(value: string): Record<string, number> {
    const key = this.byValue.get(value);
    const out: Record<string, number> = {};
    for (const planId of key?.usagePlanIds ?? []) {
      const quota = this.plans.get(planId)?.quota;
      if (!quota || !key) continue;
      const entry = this.counts[`${planId}|${key.id}`];
      const used = entry?.window === quotaWindow(quota.period, this.clock()) ? entry.used : 0;
      out[planId] = quota.limit - used;
    }
    return out;
  }

  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    writeJsonFile(usagePath(this.dataDir), { counts: this.counts } satisfies UsageFile);
  }

  close(): void {
    clearInterval(this.flushTimer);
    this.flush();
  }
}
