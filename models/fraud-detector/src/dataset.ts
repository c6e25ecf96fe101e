// The offline training-set builder: replays a simulated stream in time order through the same feature code the
// stream uses (features of the state BEFORE each txn, then apply it), splits by time, writes CSV channels.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Transaction } from '../../shared/contracts/transaction.js';
import {
  applyToCustomer,
  applyToMerchant,
  type CustomerState,
  computeFeatures,
  emptyCustomerState,
  emptyMerchantState,
  eventTime,
  FEATURE_NAMES,
  featureRecord,
  type MerchantState,
} from './features.js';
import { rulesScore } from './rules.js';

export interface DatasetRow {
  readonly transactionId: string;
  /** Event time as ISO 8601 UTC. */
  readonly eventTime: string;
  readonly features: number[];
  readonly rulesScore: number;
  readonly label: 0 | 1;
}

export interface SplitFractions {
  readonly train: number;
  readonly validation: number;
}

export interface BuildOptions {
  /** Recorded in dataset.json so a model can be traced to its data. */
  readonly seed: number;
  /** @default { train: 0.7, validation: 0.15 } (test gets the rest) */
  readonly split?: SplitFractions;
  /** Rows in the first N days only warm the state up and are not emitted (cold-start windows). @default 0 */
  readonly warmupDays?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** How the data was made (e.g. the simulation summary), recorded as-is in dataset.json. */
  readonly provenance?: Readonly<Record<string, unknown>>;
}

export interface DatasetSplits {
  readonly train: DatasetRow[];
  readonly validation: DatasetRow[];
  readonly test: DatasetRow[];
}

export interface DatasetInfo {
  readonly features: readonly string[];
  readonly label: 'label';
  readonly idColumn: 'transaction_id';
  readonly extraColumns: readonly ['event_time', 'rules_score'];
  readonly rows: { train: number; validation: number; test: number };
  readonly positives: { train: number; validation: number; test: number };
  readonly seed: number;
  readonly warmupDays: number;
  readonly split: { train: number; validation: number; test: number };
  /** First event time of each split (ISO), so the time split can be checked. */
  readonly splitStarts: { train: string | null; validation: string | null; test: string | null };
  readonly provenance?: Readonly<Record<string, unknown>>;
}

export const CSV_HEADER = ['transaction_id', 'event_time', ...FEATURE_NAMES, 'rules_score', 'label'] as const;

/**
 * Replays `transactions` (any order: they are sorted by event time here) and returns one row per transaction
 * with exactly what was known at decision time. `isFraud` gives the ground-truth label by transaction id.
 */
export function buildRows(
  transactions: readonly Transaction[],
  isFraud: ReadonlyMap<string, boolean>,
  options: Pick<BuildOptions, 'warmupDays' | 'onProgress'> = {},
): DatasetRow[] {
  const ordered = transactions
    .map((txn) => ({ txn, t: eventTime(txn.timestamp) }))
    .sort((a, b) => a.t - b.t || (a.txn.transactionId < b.txn.transactionId ? -1 : 1));
  const warmupUntil = ordered.length > 0 ? (ordered[0] as { t: number }).t + (options.warmupDays ?? 0) * 86_400_000 : 0;
  const customers = new Map<string, CustomerState>();
  const merchants = new Map<string, MerchantState>();
  const rows: DatasetRow[] = [];
  ordered.forEach(({ txn, t }, i) => {
    const customer = customers.get(txn.customerId) ?? emptyCustomerState();
    const merchant = merchants.get(txn.merchantId) ?? emptyMerchantState();
    if (t >= warmupUntil) {
      const label = isFraud.get(txn.transactionId);
      if (label === undefined) throw new Error(`no ground truth for transaction ${txn.transactionId}`);
      const features = computeFeatures(txn, customer, merchant);
      rows.push({
        transactionId: txn.transactionId,
        eventTime: new Date(t).toISOString(),
        features,
        rulesScore: rulesScore(featureRecord(features), txn).score,
        label: label ? 1 : 0,
      });
    }
    customers.set(txn.customerId, applyToCustomer(customer, txn));
    merchants.set(txn.merchantId, applyToMerchant(merchant, txn));
    if (options.onProgress && (i % 5000 === 0 || i === ordered.length - 1)) options.onProgress(i + 1, ordered.length);
  });
  return rows;
}

/** Splits time-ordered rows into consecutive train / validation / test blocks (no shuffling: no look-ahead). */
export function splitByTime(rows: readonly DatasetRow[], fractions: SplitFractions): DatasetSplits {
  const { train, validation } = fractions;
  if (!(train > 0 && validation >= 0 && train + validation < 1)) {
    throw new Error(`split fractions must satisfy train > 0, validation >= 0, train + validation < 1`);
  }
  const nTrain = Math.floor(rows.length * train);
  const nValidation = Math.floor(rows.length * validation);
  return {
    train: rows.slice(0, nTrain),
    validation: rows.slice(nTrain, nTrain + nValidation),
    test: rows.slice(nTrain + nValidation),
  };
}

/** Six decimals are far below any feature's resolution and keep the CSVs small. */
const num = (x: number): string => {
  if (!Number.isFinite(x)) throw new Error(`non-finite value ${x} in a dataset row`);
  const r = Math.round(x * 1e6) / 1e6;
  return Object.is(r, -0) ? '0' : String(r);
};

export function toCsv(rows: readonly DatasetRow[]): string {
  const lines = [CSV_HEADER.join(',')];
  for (const row of rows) {
    lines.push(
      [row.transactionId, row.eventTime, ...row.features.map(num), num(row.rulesScore), String(row.label)].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Writes train.csv, validation.csv, test.csv and dataset.json into `outDir` (a SageMaker-style channel). */
export function writeDataset(outDir: string, splits: DatasetSplits, options: BuildOptions): DatasetInfo {
  mkdirSync(outDir, { recursive: true });
  const positives = (rows: readonly DatasetRow[]) => rows.reduce((n, r) => n + r.label, 0);
  const split = options.split ?? { train: 0.7, validation: 0.15 };
  const info: DatasetInfo = {
    features: [...FEATURE_NAMES],
    label: 'label',
    idColumn: 'transaction_id',
    extraColumns: ['event_time', 'rules_score'],
    rows: { train: splits.train.length, validation: splits.validation.length, test: splits.test.length },
    positives: {
      train: positives(splits.train),
      validation: positives(splits.validation),
      test: positives(splits.test),
    },
    seed: options.seed,
    warmupDays: options.warmupDays ?? 0,
    split: {
      train: split.train,
      validation: split.validation,
      test: Number((1 - split.train - split.validation).toFixed(6)),
    },
    splitStarts: {
      train: splits.train[0]?.eventTime ?? null,
      validation: splits.validation[0]?.eventTime ?? null,
      test: splits.test[0]?.eventTime ?? null,
    },
    ...(options.provenance ? { provenance: options.provenance } : {}),
  };
  for (const name of ['train', 'validation', 'test'] as const)
    writeFileSync(join(outDir, `${name}.csv`), toCsv(splits[name]));
  writeFileSync(join(outDir, 'dataset.json'), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

/** Replay → split → write, in one call. */
export function buildDataset(
  transactions: readonly Transaction[],
  isFraud: ReadonlyMap<string, boolean>,
  outDir: string,
  options: BuildOptions,
): DatasetInfo {
  const rows = buildRows(transactions, isFraud, options);
  return writeDataset(outDir, splitByTime(rows, options.split ?? { train: 0.7, validation: 0.15 }), options);
}
