// The merchant-risk model as a model module: a merchant-day in, the probability that the merchant is compromised
// within the next 24 h out; served nightly in batch over every active merchant and in real time on demand.
import type { ModelModule } from '../../shared/module.js';
import { MERCHANT_RULES_MODEL, merchantRulesScore } from './baseline.js';
import { merchantBatch } from './batch.js';
import { buildMerchantRows } from './dataset.js';
import {
  computeFeatures,
  emptyHistory,
  FEATURE_NAMES,
  type FeatureName,
  featureRecord,
  foldDay,
  MerchantDay,
  type MerchantHistory,
} from './features.js';
import { checkMerchantQuality, type MerchantMetrics, readMerchantMetrics } from './gate.js';
import {
  decideMerchant,
  MERCHANT_OUTCOMES,
  type MerchantOutcome,
  type MerchantThresholds,
  validateThresholds,
} from './policy.js';
import { type MerchantLabel, merchantLabels } from './reported-labels.js';
import { merchantTrainingQuery } from './training-query.js';

/**
 * The online state a merchant-day is scored from: the merchant's recent days. Its kind names the features-table item
 * (`merchantHistory#<id>`), which must differ from the fraud detector's `merchant` aggregate in the same table.
 */
export interface MerchantStates {
  readonly merchantHistory: MerchantHistory;
}

/** An unremarkable merchant-day (about the training set's medians): what explanations occlude features with. */
export const REFERENCE_DAY: Readonly<Record<FeatureName, number>> = {
  log_count: Math.log1p(7),
  log_amount_mean: Math.log1p(50),
  log_amount_max: Math.log1p(110),
  small_share: 0,
  customers_per_txn: 1,
  new_customer_share: 0.5,
  night_share: 0,
  cross_border_share: 0,
  online_share: 0,
  log_count_vs_prev_day: 0,
  log_count_vs_week: 0,
  log_amount_vs_week: 0,
  new_customers_vs_week: 0,
  active_days_share: 1,
};

export type MerchantRiskModule = ModelModule<
  MerchantDay,
  MerchantStates,
  MerchantOutcome,
  MerchantThresholds,
  MerchantMetrics,
  MerchantLabel
>;

const merchantRisk: MerchantRiskModule = {
  name: 'merchant-risk',
  request: MerchantDay,
  entities: {
    merchantHistory: { key: (day) => day.merchantId, empty: emptyHistory, fold: foldDay },
  },
  features: {
    names: FEATURE_NAMES,
    compute: (day, states) => computeFeatures(day, states.merchantHistory),
  },
  baseline: {
    model: MERCHANT_RULES_MODEL,
    score: (vector) => merchantRulesScore(featureRecord(vector)),
  },
  policy: {
    outcomes: MERCHANT_OUTCOMES,
    validate: validateThresholds,
    decide: decideMerchant,
  },
  explanation: { reference: FEATURE_NAMES.map((name) => REFERENCE_DAY[name]) },
  training: {
    script: 'train.py',
    rows: (days, labels) => buildMerchantRows(days, labels),
    lakeQuery: merchantTrainingQuery,
  },
  gate: { readMetrics: readMerchantMetrics, check: checkMerchantQuality },
  batch: merchantBatch,
  labels: merchantLabels,
};

export default merchantRisk;
