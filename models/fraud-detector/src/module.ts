// The fraud detector as a model module: what the platform needs of it, assembled from the feature module, the rules
// baseline, the reference transaction, the decision policy, the training-set builder and the quality gate.
import { DECISIONS, type Decision, decide } from '../../shared/contracts/decision.js';
import { Transaction } from '../../shared/contracts/transaction.js';
import type { ModelModule } from '../../shared/module.js';
import { buildRows } from './dataset.js';
import {
  applyToCustomer,
  applyToMerchant,
  type CustomerState,
  computeFeatures,
  emptyCustomerState,
  emptyMerchantState,
  FEATURE_NAMES,
  featureRecord,
  type MerchantState,
} from './features.js';
import { checkQuality, readMetrics, type TrainingMetrics } from './gate.js';
import { REFERENCE_BASELINE } from './reference.js';
import { RULES_MODEL, rulesScore } from './rules.js';

/** The online state a transaction is scored from: its customer's and its merchant's. */
export interface FraudStates {
  readonly customer: CustomerState;
  readonly merchant: MerchantState;
}

/** Scores at or above `review` go to review, at or above `decline` are declined (per environment). */
export interface DecisionThresholds {
  readonly review: number;
  readonly decline: number;
}

export type FraudModule = ModelModule<Transaction, FraudStates, Decision, DecisionThresholds, TrainingMetrics>;

const fraudDetector: FraudModule = {
  name: 'fraud-detector',
  request: Transaction,
  entities: {
    customer: { key: (txn) => txn.customerId, empty: emptyCustomerState, fold: applyToCustomer },
    merchant: { key: (txn) => txn.merchantId, empty: emptyMerchantState, fold: applyToMerchant },
  },
  features: {
    names: FEATURE_NAMES,
    compute: (txn, states) => computeFeatures(txn, states.customer, states.merchant),
  },
  baseline: {
    model: RULES_MODEL,
    score: (vector, txn) => rulesScore(featureRecord(vector), txn),
  },
  policy: {
    outcomes: DECISIONS,
    validate: ({ review, decline }) => {
      if (!(review >= 0 && review <= decline && decline <= 1)) {
        throw new Error(`thresholds must satisfy 0 <= review <= decline <= 1, got ${review} and ${decline}`);
      }
    },
    decide: (score, { review, decline }) => decide(score, review, decline),
  },
  explanation: { reference: FEATURE_NAMES.map((name) => REFERENCE_BASELINE[name]) },
  training: {
    script: 'train.py',
    rows: (transactions, labels) => buildRows(transactions, labels),
  },
  gate: { readMetrics, check: checkQuality },
};

export default fraudDetector;
