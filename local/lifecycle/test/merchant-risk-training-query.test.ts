// merchant-risk's retraining query, run by DuckDB with the local stage's Presto functions over a simulated decision log
// and ground truth: its merchant-days are those src/aggregates.ts computes, and its labels — derived from transaction
// chargebacks, the only labels the platform receives — agree with the simulator's own compromise records.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { groundTruthLine } from '../../../lambdas/feedback/core.js';
import { merchantDays } from '../../../models/merchant-risk/src/aggregates.js';
import { merchantBatch } from '../../../models/merchant-risk/src/batch.js';
import { merchantDayId } from '../../../models/merchant-risk/src/features.js';
import { merchantCompromises, merchantDayLabels } from '../../../models/merchant-risk/src/labels.js';
import merchantRisk from '../../../models/merchant-risk/src/module.js';
import { simulate } from '../../../models/shared/simulator/simulate.js';
import { prestoFunctions } from '../athena.js';

const DAY = 86_400_000;
const WINDOW = { lookbackDays: 30, maturityDays: 7 };
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
// 26 days ending 8 days ago: the window (30 to 8 days ago) and 3 days of the history before it.
const sim = simulate({
  seed: 5,
  days: 26,
  customers: 800,
  start: isoDay(today - 33 * DAY),
  merchantCompromise: { rate: 0.02 },
});

let work: string;
let instance: DuckDBInstance;
let db: DuckDBConnection;

async function load(table: string, columns: Record<string, string>, lines: readonly string[]): Promise<void> {
  const file = join(work, `${table}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const spec = Object.entries(columns)
    .map(([name, type]) => `"${name}": '${type}'`)
    .join(', ');
  await db.run(
    `CREATE TABLE ${table} AS SELECT * FROM read_json('${file}', format='newline_delimited', columns={${spec}})`,
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mr-training-'));
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
  await prestoFunctions(db);
  await load(
    'decisions',
    { transactionid: 'VARCHAR', transaction: 'VARCHAR', dt: 'VARCHAR' },
    sim.transactions.map((t) =>
      JSON.stringify({ transactionid: t.transactionId, transaction: JSON.stringify(t), dt: t.timestamp.slice(0, 10) }),
    ),
  );
  // The ground truth as the feedback service writes it (Model Monitor's format), in the hour each label arrived.
  const pad = (n: number) => String(n).padStart(2, '0');
  const arrived = sim.labels.filter((l) => Date.parse(l.reportedAt) < Date.now());
  await load(
    'ground_truth',
    {
      eventmetadata: 'STRUCT(eventid VARCHAR)',
      groundtruthdata: 'STRUCT(data VARCHAR, encoding VARCHAR)',
      hour: 'VARCHAR',
    },
    arrived.map((l) => {
      const d = new Date(l.reportedAt);
      const hour = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}`;
      // Glue's columns are lower case; the JSON SerDe matches the line's camelCase keys to them.
      const line = JSON.parse(groundTruthLine(l)) as { eventMetadata: { eventId: string }; groundTruthData: object };
      const eventmetadata = { eventid: line.eventMetadata.eventId };
      return JSON.stringify({ eventmetadata, groundtruthdata: line.groundTruthData, hour });
    }),
  );
});

afterAll(() => {
  db.closeSync();
  instance.closeSync();
  rmSync(work, { recursive: true, force: true });
});

async function runQuery() {
  const reader = await db.runAndReadAll(merchantRisk.training.lakeQuery?.(WINDOW) ?? 'SELECT 1');
  const names = reader.columnNames();
  return reader.getRowsJson().map((r) => Object.fromEntries(names.map((n, i) => [n, String(r[i])])));
}

describe('GIVEN simulated weeks of transactions, chargebacks and compromised merchants in the lake', () => {
  test('THEN the training query returns every merchant-day of the window as src/aggregates.ts computes it', async () => {
    const rows = await runQuery();
    const last = isoDay(today - (WINDOW.maturityDays + 1) * DAY);
    const expected = merchantDays(sim.transactions).filter((d) => d.date <= last);

    const got = rows.map((r) => merchantBatch.request(r));

    expect(expected.length).toBeGreaterThan(1000);
    expect(got).toEqual(expected);
  });

  test('THEN the days before the window come as history only (no label), the days of the window with a 0/1 label', async () => {
    const windowStart = isoDay(today - WINDOW.lookbackDays * DAY);
    const rows = await runQuery();
    const history = rows.filter((r) => (r.day as string) < windowStart);

    expect(history.length).toBeGreaterThan(100);
    expect(new Set(history.map((r) => r.label))).toEqual(new Set(['null']));
    expect(new Set(rows.filter((r) => (r.day as string) >= windowStart).map((r) => r.label))).toEqual(
      new Set(['0', '1']),
    );
  });

  test('THEN labels derived from transaction chargebacks agree with the simulator’s compromise records', async () => {
    const rows = (await runQuery()).filter((r) => r.label !== 'null');
    const days = rows.map((r) => merchantBatch.request(r));
    const truth = merchantDayLabels(days, merchantCompromises(sim.transactions, sim.truth));
    const derived = new Map(rows.map((r, i) => [merchantDayId(days[i] as (typeof days)[number]), r.label === '1']));

    const positives = [...truth].filter(([, v]) => v).map(([id]) => id);
    const flagged = [...derived].filter(([, v]) => v).map(([id]) => id);
    const hits = flagged.filter((id) => truth.get(id)).length;
    // Measured with this seed: printed so a change of the rule or the simulator shows its effect.
    console.info(
      `merchant-day labels: ${positives.length} true, ${flagged.length} derived, ${hits} both (precision ${(hits / flagged.length).toFixed(2)}, recall ${(hits / positives.length).toFixed(2)})`,
    );
    expect(positives.length).toBeGreaterThan(20);
    expect(hits / flagged.length).toBeGreaterThanOrEqual(0.9);
    expect(hits / positives.length).toBeGreaterThanOrEqual(0.8);
  });
});
