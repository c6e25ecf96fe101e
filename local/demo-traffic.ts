// The demo's traffic: simulated card transactions moved to the present, with their labels and ground truth. Its own
// module (not inside the demo CLI, which runs on import) so the browser tests send the same traffic.
import type { Label, Transaction } from '../models/shared/contracts/transaction.js';
import {
  type FraudScenario,
  formatTimestamp,
  type SimulationResult,
  simulate,
} from '../models/shared/simulator/simulate.js';

const DAY = 86_400_000;

export interface DemoTraffic {
  /** Streamed as history before scoring starts. */
  readonly history: Transaction[];
  /** Scored one by one (then streamed), in event order. */
  readonly live: Transaction[];
  /** Ordered by reportedAt. */
  readonly labels: Label[];
  /** Ground truth by (renamed) transaction id. */
  readonly truth: ReadonlyMap<string, { isFraud: boolean; scenario: FraudScenario | null }>;
}

const OFFSET = /([+-])(\d{2}):?(\d{2})$/;
function shiftTimestamp(timestamp: string, shiftMs: number): string {
  const m = OFFSET.exec(timestamp);
  const offset = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  return formatTimestamp(Date.parse(timestamp) + shiftMs, offset);
}

/**
 * Simulates the traffic and moves it to the present by whole days (so local hours, and with them the daily rhythm the
 * model learned, stay as simulated). Ids get a per-run prefix: each run is a world of its own, and a rerun never
 * collides with the audit records or feature history of an earlier one.
 */
export function demoTraffic(
  o: { seed: number; customers: number; days: number; fraudRate: number },
  runTag: string,
  now = Date.now(),
): DemoTraffic {
  const start = '2026-01-05';
  const sim: SimulationResult = simulate({
    seed: o.seed,
    days: o.days,
    customers: o.customers,
    fraudRate: o.fraudRate,
    start,
  });
  const simEnd = Date.parse(`${start}T00:00:00Z`) + o.days * DAY;
  const shiftMs = Math.floor((now - simEnd) / DAY) * DAY;
  const liveFrom = simEnd + shiftMs - DAY;
  const id = (v: string) => `${runTag}-${v}`;
  const moved = sim.transactions.map(
    (t): Transaction => ({
      ...t,
      transactionId: id(t.transactionId),
      customerId: id(t.customerId),
      merchantId: id(t.merchantId),
      timestamp: shiftTimestamp(t.timestamp, shiftMs),
    }),
  );
  const truth = new Map(sim.truth.map((r) => [id(r.transactionId), { isFraud: r.isFraud, scenario: r.scenario }]));
  return {
    history: moved.filter((t) => Date.parse(t.timestamp) < liveFrom),
    live: moved.filter((t) => Date.parse(t.timestamp) >= liveFrom),
    labels: sim.labels.map((l) => ({
      ...l,
      transactionId: id(l.transactionId),
      reportedAt: new Date(Date.parse(l.reportedAt) + shiftMs).toISOString(),
    })),
    truth,
  };
}
