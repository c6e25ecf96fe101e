// From transactions to merchant-days: the daily aggregates the nightly batch reads from the lake, computed here from
// a transaction stream (the simulator's, or the lake's decision log replayed), one record per active merchant per UTC day.

import type { Transaction } from '../../shared/contracts/transaction.js';
import { COUNTRIES } from '../../shared/countries.js';
import { type MerchantDay, NIGHT_END, SMALL_AMOUNT } from './features.js';

interface Open {
  merchantId: string;
  date: string;
  count: number;
  amountSum: number;
  amountMax: number;
  smallCount: number;
  customers: Set<string>;
  newCustomers: Set<string>;
  nightCount: number;
  crossBorderCount: number;
  onlineCount: number;
}

/** Local hour (0..24) in the timestamp's own offset: the time where the card was used. */
const localHour = (timestamp: string): number => {
  const match = /T(\d{2}):(\d{2})/.exec(timestamp);
  if (!match) throw new Error(`invalid transaction timestamp '${timestamp}'`);
  return Number(match[1]) + Number(match[2]) / 60;
};

const isCrossBorder = (txn: Transaction): boolean => {
  const local = COUNTRIES[txn.country]?.currency;
  return local !== undefined && local !== txn.currency;
};

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * One MerchantDay per merchant and UTC day with at least one transaction, ordered by date then merchant id. A customer
 * is new to a merchant on the first day they pay it within `transactions` (the lake's whole history).
 */
export function merchantDays(transactions: readonly Transaction[]): MerchantDay[] {
  const ordered = transactions
    .map((txn) => ({ txn, t: Date.parse(txn.timestamp) }))
    .sort((a, b) => a.t - b.t || (a.txn.transactionId < b.txn.transactionId ? -1 : 1));
  const seen = new Map<string, Set<string>>();
  const open = new Map<string, Open>();
  for (const { txn, t } of ordered) {
    if (Number.isNaN(t)) throw new Error(`invalid transaction timestamp '${txn.timestamp}'`);
    const date = new Date(t).toISOString().slice(0, 10);
    const key = `${txn.merchantId}/${date}`;
    let day = open.get(key);
    if (!day) {
      day = {
        merchantId: txn.merchantId,
        date,
        count: 0,
        amountSum: 0,
        amountMax: 0,
        smallCount: 0,
        customers: new Set(),
        newCustomers: new Set(),
        nightCount: 0,
        crossBorderCount: 0,
        onlineCount: 0,
      };
      open.set(key, day);
    }
    let known = seen.get(txn.merchantId);
    if (!known) {
      known = new Set();
      seen.set(txn.merchantId, known);
    }
    if (!known.has(txn.customerId)) {
      known.add(txn.customerId);
      day.newCustomers.add(txn.customerId);
    }
    day.count++;
    day.amountSum += txn.amount;
    day.amountMax = Math.max(day.amountMax, txn.amount);
    if (txn.amount < SMALL_AMOUNT) day.smallCount++;
    day.customers.add(txn.customerId);
    if (localHour(txn.timestamp) < NIGHT_END) day.nightCount++;
    if (isCrossBorder(txn)) day.crossBorderCount++;
    if (txn.channel === 'online') day.onlineCount++;
  }
  return [...open.values()]
    .map(
      (d): MerchantDay => ({
        merchantId: d.merchantId,
        date: d.date,
        count: d.count,
        amountSum: round2(d.amountSum),
        amountMax: d.amountMax,
        smallCount: d.smallCount,
        distinctCustomers: d.customers.size,
        newCustomers: d.newCustomers.size,
        nightCount: d.nightCount,
        crossBorderCount: d.crossBorderCount,
        onlineCount: d.onlineCount,
      }),
    )
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.merchantId < b.merchantId ? -1 : 1));
}
