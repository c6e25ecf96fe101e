// Measures the inputs of docs/capacity.md on this machine: record and item sizes (DynamoDB billing rules), and the CPU
// time of the pure score and features work. Bounded (< 60 s), in-process, no servers. Run: npx tsx bench/capacity-inputs.ts
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { featureHash, occlusionRows, requestHash, topAttributions } from '../lambdas/shared/inference.js';
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
} from '../models/fraud-detector/src/features.js';
import { referenceBaseline } from '../models/fraud-detector/src/reference.js';
import { rulesScore } from '../models/fraud-detector/src/rules.js';
import type { Transaction } from '../models/shared/contracts/transaction.js';
import { simulate } from '../models/shared/simulator/simulate.js';

const started = performance.now();
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * DynamoDB's documented item-size rules: names + values; a string is its UTF-8 length, a number about
 * 1 byte per 2 significant digits + 1, booleans/null 1 byte, a list or map 3 bytes + 1 byte per element + elements.
 */
function ddbSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8(value);
  if (typeof value === 'number') {
    const digits = String(Math.abs(value)).replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + ddbSize(v), 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .reduce((n, [k, v]) => n + 1 + utf8(k) + ddbSize(v), 0)
    );
  }
  return 0;
}
const itemSize = (item: Record<string, unknown>) =>
  Object.entries(item)
    .filter(([, v]) => v !== undefined)
    .reduce((n, [k, v]) => n + utf8(k) + ddbSize(v), 0);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const summary = (xs: number[]) => ({ p50: pct(xs, 50), p90: pct(xs, 90), p99: pct(xs, 99), max: Math.max(...xs) });

const featureItem = (pk: string, kind: string, state: unknown) => ({
  pk,
  kind,
  state,
  version: 123_456,
  updatedAt: '2026-11-23T12:34:56.789Z',
});

// 1. A realistic stream: the reference simulator (14 days, 3,000 customers) folded into feature states.
const sim = simulate({ seed: 7, days: 14, customers: 3000 });
const txns = sim.transactions;
const customers = new Map<string, CustomerState>();
const merchants = new Map<string, MerchantState>();
const featureStart = performance.now();
for (const t of txns) {
  customers.set(t.customerId, applyToCustomer(customers.get(t.customerId) ?? emptyCustomerState(), t));
  merchants.set(t.merchantId, applyToMerchant(merchants.get(t.merchantId) ?? emptyMerchantState(), t));
}
const foldMicros = ((performance.now() - featureStart) * 1000) / txns.length;

// Traffic-weighted request units of the features service when every record is written alone (no folding in a batch):
// strongly consistent GetItem (1 RRU per 4 KB) then PutItem (1 WRU per 1 KB), sizes as they are at that moment.
const units = { customerRru: 0, customerWru: 0, merchantRru: 0, merchantWru: 0, scoreRru: 0 };
{
  const cs = new Map<string, CustomerState>();
  const ms = new Map<string, MerchantState>();
  const step = 10; // every 10th transaction is costed: the sizes, not the fold, are what matter
  let n = 0;
  txns.forEach((t, i) => {
    const c0 = cs.get(t.customerId);
    const m0 = ms.get(t.merchantId);
    const c1 = applyToCustomer(c0 ?? emptyCustomerState(), t);
    const m1 = applyToMerchant(m0 ?? emptyMerchantState(), t);
    cs.set(t.customerId, c1);
    ms.set(t.merchantId, m1);
    if (i % step !== 0) return;
    n++;
    const cBefore = c0 ? itemSize(featureItem('customer#x', 'customer', c0)) : 0;
    const mBefore = m0 ? itemSize(featureItem('merchant#x', 'merchant', m0)) : 0;
    units.customerRru += Math.max(1, Math.ceil(cBefore / 4096));
    units.merchantRru += Math.max(1, Math.ceil(mBefore / 4096));
    units.customerWru += Math.ceil(itemSize(featureItem('customer#x', 'customer', c1)) / 1024);
    units.merchantWru += Math.ceil(itemSize(featureItem('merchant#x', 'merchant', m1)) / 1024);
    // The scorer's BatchGetItem is eventually consistent: 0.5 RRU per started 4 KB, per item.
    units.scoreRru += 0.5 * (Math.max(1, Math.ceil(cBefore / 4096)) + Math.max(1, Math.ceil(mBefore / 4096)));
  });
  for (const k of Object.keys(units) as (keyof typeof units)[]) units[k] = Number((units[k] / n).toFixed(2));
}

const customerItems = [...customers.entries()].map(([id, s]) => itemSize(featureItem(`customer#${id}`, 'customer', s)));
const merchantItems = [...merchants.entries()].map(([id, s]) => itemSize(featureItem(`merchant#${id}`, 'merchant', s)));

// 2. The bounded worst case: a merchant taking one transaction every 30 s for 8 days saturates its seen-ids, 5-minute
// and hourly buckets; a customer with 256 events in a week saturates the event window.
const base = txns[0] as Transaction;
let hot = emptyMerchantState();
let busy = emptyCustomerState();
const t0 = Date.parse('2026-01-05T00:00:00Z');
for (let i = 0; i < 8 * 24 * 120; i++) {
  const ts = new Date(t0 + i * 30_000).toISOString();
  hot = applyToMerchant(hot, { ...base, transactionId: `hot-${i}`, customerId: `c${i % 997}`, timestamp: ts });
}
for (let i = 0; i < 400; i++) {
  const ts = new Date(t0 + i * 20 * 60_000).toISOString();
  busy = applyToCustomer(busy, {
    ...base,
    transactionId: `busy-${i}`,
    merchantId: `merchant-${i % 40}`,
    country: ['FR', 'DE', 'ES', 'IT', 'NL', 'BE', 'PT', 'IE', 'AT', 'PL', 'SE', 'DK', 'FI'][i % 13] as string,
    deviceId: `device-${i % 10}`,
    timestamp: ts,
  });
}
const hotMerchantItem = itemSize(featureItem('merchant#m-000001', 'merchant', hot));
const busyCustomerItem = itemSize(featureItem('customer#c-000001', 'customer', busy));

// 3. One score's payloads, built with the scorer's own functions.
const baseline = referenceBaseline();
const baselineVector = FEATURE_NAMES.map((n) => baseline[n]);
const sample = txns.slice(-2000);
const kinesisBytes = sample.map((t) => utf8(JSON.stringify(t)));
const sessionPath = 'models/fraud-detector/artifacts/model.onnx';
const session = await ort.InferenceSession.create(sessionPath, { intraOpNumThreads: 1 });
const F = FEATURE_NAMES.length;

const auditSizes: number[] = [];
const logLines: number[] = [];
const responseSizes: number[] = [];
const invokeBodies: number[] = [];
const eventSizes: number[] = [];
const coreMicros: number[] = [];
const ortMicros: number[] = [];
for (const t of sample) {
  const c = customers.get(t.customerId) ?? emptyCustomerState();
  const m = merchants.get(t.merchantId) ?? emptyMerchantState();
  const a = performance.now();
  const vector = computeFeatures(t, c, m);
  const features = featureRecord(vector);
  const reasons = rulesScore(features, t).reasons;
  const rows = occlusionRows(vector, baselineVector);
  const body = JSON.stringify({
    inputs: [{ name: 'features', shape: [rows.length, F], datatype: 'FP32', data: rows.flat() }],
  });
  const hash = requestHash(t);
  const fHash = featureHash(vector);
  const b = performance.now();
  const out = await session.run({
    features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, F]),
  });
  const c2 = performance.now();
  const scores = Array.from((out.score as ort.Tensor).data as Float32Array);
  const [score, ...occluded] = scores as [number, ...number[]];
  const explanation = topAttributions(FEATURE_NAMES, score, occluded, 5);
  const response = {
    transactionId: t.transactionId,
    decision: score >= 0.9 ? 'decline' : score >= 0.5 ? 'review' : 'approve',
    score,
    degraded: false,
    reasons,
    explanation,
    model: { name: 'fraud-detector', version: '20261123-1' },
    latencyMs: 12.34,
  };
  const record = {
    ...response,
    customerId: t.customerId,
    transaction: t,
    features,
    featureHash: fHash,
    requestHash: hash,
    decidedAt: '2026-11-23T12:34:56.789Z',
    expiresAt: 1_800_000_000,
  };
  coreMicros.push((b - a) * 1000 + (performance.now() - c2) * 1000);
  ortMicros.push((c2 - b) * 1000);
  invokeBodies.push(utf8(body));
  auditSizes.push(itemSize(record));
  const { requestHash: _r, expiresAt: _e, ...log } = record;
  logLines.push(utf8(`${JSON.stringify(log)}\n`));
  responseSizes.push(utf8(JSON.stringify(response)));
  eventSizes.push(
    utf8(
      JSON.stringify({
        Source: 'aims.score',
        DetailType: 'TransactionScored',
        EventBusName: 'aims-bus-0123456789abcdef',
        Detail: JSON.stringify({ version: 1, data: { ...response, customerId: t.customerId, amount: t.amount } }),
      }),
    ),
  );
}

// 4. ORT batch-of-31 throughput, sequential, one thread: the CPU figure the GPU sizing is compared with.
const rows31 = new Float32Array(31 * F).fill(0.5);
const until = performance.now() + 3000;
let runs = 0;
while (performance.now() < until) {
  await session.run({ features: new ort.Tensor('float32', rows31, [31, F]) });
  runs++;
}

const result = {
  measured: new Date().toISOString(),
  machine: { node: process.version, note: 'x86_64, 2 shared cores (see /work/shared/ENVIRONMENT.md)' },
  simulation: { transactions: txns.length, customers: customers.size, merchants: merchants.size, days: 14 },
  bytes: {
    kinesisRecord: summary(kinesisBytes),
    invokeEndpointBody: summary(invokeBodies),
    auditItem: summary(auditSizes),
    decisionLogLine: summary(logLines),
    scoreResponse: summary(responseSizes),
    putEventsEntry: summary(eventSizes),
    customerItem: summary(customerItems),
    merchantItem: summary(merchantItems),
    customerItemSaturated: busyCustomerItem,
    merchantItemSaturated: hotMerchantItem,
  },
  cpuMicros: {
    scoreCorePerTransaction: summary(coreMicros),
    ortBatch31InProcess: summary(ortMicros),
    featuresFoldPerRecord: Number(foldMicros.toFixed(1)),
  },
  requestUnitsPerRecordTrafficWeighted: units,
  ortBatch31: { runsPerSecond: Math.round(runs / 3), rowsPerSecond: Math.round((runs * 31) / 3) },
  seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
