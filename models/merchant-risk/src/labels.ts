// The label: a merchant-day is positive when that merchant is compromised within the 24 h after the day ends (the
// next UTC day), as the simulator's ground truth says. The nightly prediction is made at the day's close.

import type { Transaction } from '../../shared/contracts/transaction.js';
import type { TruthRecord } from '../../shared/simulator/simulate.js';
import { type MerchantDay, merchantDayId } from './features.js';

const DAY = 86_400_000;

/** One compromise: when the stolen cards started to run through the merchant (its first cash-out transaction). */
export interface MerchantCompromise {
  readonly incidentId: string;
  readonly merchantId: string;
  readonly at: string;
}

/** Every merchant compromise in a simulation, by its first non-probing transaction, in time order. */
export function merchantCompromises(
  transactions: readonly Transaction[],
  truth: readonly TruthRecord[],
): MerchantCompromise[] {
  const byId = new Map(transactions.map((txn) => [txn.transactionId, txn]));
  const first = new Map<string, { merchantId: string; t: number }>();
  for (const record of truth) {
    if (record.scenario !== 'compromised_merchant' || record.phase === 'probe' || record.incidentId === null) continue;
    const txn = byId.get(record.transactionId);
    if (!txn) throw new Error(`ground truth for unknown transaction ${record.transactionId}`);
    const t = Date.parse(txn.timestamp);
    const seen = first.get(record.incidentId);
    if (!seen || t < seen.t) first.set(record.incidentId, { merchantId: txn.merchantId, t });
  }
  return [...first.entries()]
    .map(([incidentId, { merchantId, t }]) => ({ incidentId, merchantId, at: new Date(t).toISOString() }))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.incidentId < b.incidentId ? -1 : 1));
}

/** The label of each merchant-day by `merchantDayId`: true when a compromise of the merchant starts the next UTC day. */
export function merchantDayLabels(
  days: readonly MerchantDay[],
  compromises: readonly MerchantCompromise[],
): Map<string, boolean> {
  const compromisedOn = new Set(compromises.map((c) => `${c.merchantId}/${c.at.slice(0, 10)}`));
  const next = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
  return new Map(days.map((d) => [merchantDayId(d), compromisedOn.has(`${d.merchantId}/${next(d.date)}`)]));
}
