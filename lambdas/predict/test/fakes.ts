// Test doubles for the predict ports, over the merchant-risk module: merchant histories in memory, an endpoint whose
// score is a function of the row, and an in-memory audit store.

import {
  emptyHistory,
  foldDay,
  type MerchantDay,
  type MerchantHistory,
} from '../../../models/merchant-risk/src/features.js';
import merchantRisk from '../../../models/merchant-risk/src/module.js';
import type { ModelRef } from '../../../models/shared/contracts/decision.js';
import type { PredictionRecord } from '../../shared/contracts/api.js';
import { createModelPolicy, type FeatureReader, type ModelEndpoint } from '../../shared/inference.js';
import type { PredictConfig, PredictionStore, PredictPorts } from '../core.js';

export function day(overrides: Partial<MerchantDay> = {}): MerchantDay {
  return {
    merchantId: 'm-1',
    date: '2026-03-08',
    count: 9,
    amountSum: 420,
    amountMax: 90,
    smallCount: 0,
    distinctCustomers: 9,
    newCustomers: 3,
    nightCount: 0,
    crossBorderCount: 0,
    onlineCount: 0,
    ...overrides,
  };
}

/** A merchant with a quiet week before `day()`'s date. */
export function quietWeek(): MerchantHistory {
  return [1, 2, 3, 4, 5, 6, 7].reduce((s, d) => foldDay(s, day({ date: `2026-03-0${d}` })), emptyHistory());
}

export class MemoryMerchantReader implements FeatureReader {
  readonly histories = new Map<string, MerchantHistory>();
  readonly reads: unknown[] = [];
  async read(request: unknown) {
    this.reads.push(request);
    return { merchantHistory: this.histories.get((request as MerchantDay).merchantId) ?? emptyHistory() };
  }
}

/** Scores each row with `scoreRow` (default: night_share, feature 6, as the probability). */
export class RowModel implements ModelEndpoint {
  readonly calls: { rows: number[][]; inferenceId: string }[] = [];
  mode: 'ok' | 'error' = 'ok';
  constructor(
    readonly scoreRow: (row: readonly number[]) => number = (row) => row[6] as number,
    readonly model: ModelRef = { name: 'merchant-risk', version: '3' },
  ) {}
  async invoke(rows: readonly (readonly number[])[], options: { inferenceId: string; signal: AbortSignal }) {
    this.calls.push({ rows: rows.map((r) => [...r]), inferenceId: options.inferenceId });
    if (this.mode === 'error') throw new Error('endpoint returned 500');
    return { scores: rows.map(this.scoreRow), model: this.model };
  }
}

export class MemoryPredictionStore implements PredictionStore {
  readonly records = new Map<string, PredictionRecord>();
  async putIfAbsent(record: PredictionRecord) {
    const existing = this.records.get(record.transactionId);
    if (existing) return { created: false, existing } as const;
    this.records.set(record.transactionId, record);
    return { created: true } as const;
  }
}

export function harness() {
  const features = new MemoryMerchantReader();
  const model = new RowModel();
  const predictions = new MemoryPredictionStore();
  const fallbacks: string[] = [];
  let t = 0;
  const ports: PredictPorts = {
    features,
    model,
    modelPolicy: createModelPolicy({ timeoutMs: 200 }).policy,
    predictions,
    observer: { fallback: (reason) => fallbacks.push(reason) },
    now: () => new Date('2026-03-09T00:40:00.000Z'),
    clock: () => (t += 2.5),
  };
  const config: PredictConfig = {
    module: merchantRisk,
    modelName: 'merchant-risk',
    thresholds: { watch: 0.07, blockReview: 0.25 },
    auditTtlDays: 30,
  };
  return { ports, config, features, model, predictions, fallbacks };
}
