// Test doubles for the score ports: a real (linear) model function and in-memory stores.
import {
  applyToCustomer,
  type CustomerState,
  emptyCustomerState,
  emptyMerchantState,
  FEATURE_NAMES,
  type FeatureName,
  type MerchantState,
} from '../../../models/fraud-detector/src/features.js';
import fraudDetector from '../../../models/fraud-detector/src/module.js';
import type { ModelRef } from '../../../models/shared/contracts/decision.js';
import type { Transaction } from '../../../models/shared/contracts/transaction.js';
import { InMemoryDecisionStore } from '../../shared/adapters/decision-store.js';
import {
  createModelPolicy,
  type FallbackReason,
  type FeatureReader,
  type ModelEndpoint,
} from '../../shared/inference.js';
import type { ScoreConfig, ScorePorts } from '../core.js';

export function txn(n: number, overrides: Partial<Transaction> = {}): Transaction {
  return {
    transactionId: `t-${n}`,
    customerId: 'c-1',
    merchantId: 'm-1',
    merchantCategory: 'grocery',
    amount: 40,
    currency: 'EUR',
    country: 'DE',
    channel: 'card_present',
    deviceId: 'd-1',
    timestamp: '2026-11-01T12:00:00Z',
    ...overrides,
  };
}

/** A customer with `n` prior ordinary purchases, one a day before `txn(…)`'s timestamp. */
export function customerWithHistory(n: number): CustomerState {
  let state = emptyCustomerState();
  for (let i = 1; i <= n; i++) {
    const t = new Date(Date.parse('2026-11-01T12:00:00Z') - i * 86_400_000).toISOString();
    state = applyToCustomer(state, txn(1000 + i, { timestamp: t }));
  }
  return state;
}

export class MemoryFeatureReader implements FeatureReader {
  readonly customers = new Map<string, CustomerState>();
  readonly merchants = new Map<string, MerchantState>();
  async read(request: Transaction) {
    return {
      customer: this.customers.get(request.customerId) ?? emptyCustomerState(),
      merchant: this.merchants.get(request.merchantId) ?? emptyMerchantState(),
    };
  }
}

/** score = clamp(bias + Σ weight·feature): occlusion contributions are then exactly weight·(x − baseline). */
export class LinearModel implements ModelEndpoint {
  readonly calls: { rows: number[][]; inferenceId: string }[] = [];
  mode: 'ok' | 'error' | 'hang' = 'ok';
  constructor(
    readonly weights: Partial<Record<FeatureName, number>>,
    readonly bias = 0.05,
    readonly model: ModelRef = { name: 'fraud-detector', version: '7' },
  ) {}

  scoreRow(row: readonly number[]): number {
    let s = this.bias;
    FEATURE_NAMES.forEach((name, i) => {
      s += (this.weights[name] ?? 0) * (row[i] as number);
    });
    return Math.min(1, Math.max(0, s));
  }

  async invoke(rows: readonly (readonly number[])[], options: { inferenceId: string; signal: AbortSignal }) {
    this.calls.push({ rows: rows.map((r) => [...r]), inferenceId: options.inferenceId });
    if (this.mode === 'error') throw new Error('endpoint returned 500');
    if (this.mode === 'hang') {
      await new Promise<void>((_, reject) =>
        options.signal.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    }
    return { scores: rows.map((r) => this.scoreRow(r)), model: this.model };
  }
}

export interface Harness {
  ports: ScorePorts;
  config: ScoreConfig;
  model: LinearModel;
  features: MemoryFeatureReader;
  decisions: InMemoryDecisionStore;
  fallbacks: FallbackReason[];
  breaker: ReturnType<typeof createModelPolicy>;
}

export const NOW = new Date('2026-11-01T12:00:01.000Z');

export function harness(
  options: {
    weights?: Partial<Record<FeatureName, number>>;
    bias?: number;
    timeoutMs?: number;
    breakAfter?: number;
    halfOpenAfterMs?: number;
  } = {},
): Harness {
  const model = new LinearModel(
    options.weights ?? { is_new_device: 0.5, category_risk: 0.4, cust_count_1h: 0.05 },
    options.bias ?? 0.05,
  );
  const features = new MemoryFeatureReader();
  const decisions = new InMemoryDecisionStore(() => NOW);
  const fallbacks: FallbackReason[] = [];
  const breaker = createModelPolicy({
    timeoutMs: options.timeoutMs ?? 200,
    breakAfter: options.breakAfter ?? 5,
    halfOpenAfterMs: options.halfOpenAfterMs ?? 10_000,
  });
  const ports: ScorePorts = {
    features,
    model,
    modelPolicy: breaker.policy,
    decisions,
    observer: { fallback: (reason) => fallbacks.push(reason) },
    now: () => NOW,
  };
  const config: ScoreConfig = {
    module: fraudDetector,
    modelName: 'fraud-detector',
    thresholds: { review: 0.5, decline: 0.8 },
    decisionTtlDays: 30,
    explainTopK: 3,
  };
  return { ports, config, model, features, decisions, fallbacks, breaker };
}
