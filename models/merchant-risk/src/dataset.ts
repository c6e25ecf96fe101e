// The merchant-risk training set: merchant-days replayed in date order through the same feature code serving uses
// (features from the history before each day, then fold the day in), split by date, written as a CSV channel that
// train.py (and the shared trainer) reads.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainingRow } from '../../shared/module.js';
import { merchantRulesScore } from './baseline.js';
import {
  computeFeatures,
  emptyHistory,
  FEATURE_NAMES,
  featureRecord,
  foldDay,
  type MerchantDay,
  type MerchantHistory,
  merchantDayId,
} from './features.js';

export interface MerchantRow extends TrainingRow {
  readonly id: string;
  readonly date: string;
  readonly rulesScore: number;
}

const DAY = 86_400_000;

/** One row per merchant-day with a label; days in the first `warmupDays`, and days without a label, only build history. */
export function buildMerchantRows(
  days: readonly MerchantDay[],
  labels: ReadonlyMap<string, boolean>,
  warmupDays = 0,
): MerchantRow[] {
  const ordered = [...days].sort((a, b) =>
    a.date < b.date ? -1 : a.date > b.date ? 1 : a.merchantId < b.merchantId ? -1 : 1,
  );
  const first = ordered[0]?.date;
  const emitFrom = first
    ? new Date(Date.parse(`${first}T00:00:00Z`) + warmupDays * DAY).toISOString().slice(0, 10)
    : '';
  const histories = new Map<string, MerchantHistory>();
  const rows: MerchantRow[] = [];
  for (const day of ordered) {
    const history = histories.get(day.merchantId) ?? emptyHistory();
    const id = merchantDayId(day);
    const label = labels.get(id);
    if (day.date >= emitFrom && label !== undefined) {
      const features = computeFeatures(day, history);
      rows.push({
        id,
        date: day.date,
        // The prediction is made when the day closes.
        eventTime: new Date(Date.parse(`${day.date}T00:00:00Z`) + DAY).toISOString(),
        features,
        rulesScore: merchantRulesScore(featureRecord(features)).score,
        label: label ? 1 : 0,
      });
    }
    histories.set(day.merchantId, foldDay(history, day));
  }
  return rows;
}

export interface MerchantSplits {
  readonly train: MerchantRow[];
  readonly validation: MerchantRow[];
  readonly test: MerchantRow[];
}

/** Whole days to train / validation / test in date order (a day never straddles two splits: no look-ahead). */
export function splitByDate(rows: readonly MerchantRow[], train = 0.6, validation = 0.2): MerchantSplits {
  if (!(train > 0 && validation > 0 && train + validation < 1)) {
    throw new Error(`split fractions must satisfy train > 0, validation > 0, train + validation < 1`);
  }
  const dates = [...new Set(rows.map((r) => r.date))].sort();
  const trainEnd = dates[Math.floor(dates.length * train)] ?? '';
  const validationEnd = dates[Math.floor(dates.length * (train + validation))] ?? '';
  return {
    train: rows.filter((r) => r.date < trainEnd),
    validation: rows.filter((r) => r.date >= trainEnd && r.date < validationEnd),
    test: rows.filter((r) => r.date >= validationEnd),
  };
}

const num = (x: number): string => {
  if (!Number.isFinite(x)) throw new Error(`non-finite value ${x} in a merchant row`);
  const r = Math.round(x * 1e6) / 1e6;
  return Object.is(r, -0) ? '0' : String(r);
};

export const MERCHANT_CSV_HEADER = ['merchant_day', 'event_time', ...FEATURE_NAMES, 'rules_score', 'label'] as const;

/** Writes train/validation/test.csv and dataset.json into `outDir` (a SageMaker-style channel). */
export function writeMerchantDataset(
  outDir: string,
  splits: MerchantSplits,
  provenance: Readonly<Record<string, unknown>>,
): void {
  mkdirSync(outDir, { recursive: true });
  for (const name of ['train', 'validation', 'test'] as const) {
    const lines = [MERCHANT_CSV_HEADER.join(',')];
    for (const r of splits[name]) {
      lines.push([r.id, r.eventTime, ...r.features.map(num), num(r.rulesScore), String(r.label)].join(','));
    }
    writeFileSync(join(outDir, `${name}.csv`), `${lines.join('\n')}\n`);
  }
  const count = (rows: readonly MerchantRow[]) => ({
    rows: rows.length,
    positives: rows.filter((r) => r.label).length,
  });
  const info = {
    features: [...FEATURE_NAMES],
    label: 'label',
    idColumn: 'merchant_day',
    extraColumns: ['event_time', 'rules_score'],
    splits: { train: count(splits.train), validation: count(splits.validation), test: count(splits.test) },
    provenance,
  };
  writeFileSync(join(outDir, 'dataset.json'), `${JSON.stringify(info, null, 2)}\n`);
}
