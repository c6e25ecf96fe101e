// `npm run demo -- --batch`: a batch model's nightly run end to end on a local stage the demo started — the lake's
// decision log → Athena (DuckDB) → prepare → Batch Transform (a local model server) → publish → PredictionsReady →
// GET /v1/models/{name}/predictions — from the template's own ASL and bundles. The Scheduler schedule does not fire
// locally: the demo starts the run as the schedule would, for yesterday (UTC).
import { mintToken } from './api/index.js';
import type { ExecutionRecord } from './lifecycle/state-machine.js';
import type { LocalStage } from './stage.js';

const DAY = 86_400_000;
/** The lake: ten days of decisions up to yesterday, from the transaction simulator. */
const HISTORY = { customers: 1500, days: 10, endDaysAgo: 1 } as const;
const PAGE = 5;

interface Ready {
  readonly model: string;
  readonly version: string;
  readonly date: string;
  readonly rows: number;
  readonly outcomes: Readonly<Record<string, number>>;
  readonly location: string;
}

/** Seconds between entering two states of a run (from the execution's record). */
function stateSeconds(run: ExecutionRecord, from: string, to: string): number | undefined {
  const at = (name: string) => {
    const i = run.states.indexOf(name);
    const iso = i < 0 ? undefined : run.enteredAt?.[i];
    return iso === undefined ? undefined : Date.parse(iso);
  };
  const a = at(from);
  const b = at(to);
  return a === undefined || b === undefined ? undefined : (b - a) / 1000;
}

/** Runs one night of `model` and returns 0 when its predictions are readable through the API, 1 otherwise. */
export async function runBatchDemo(
  stage: LocalStage,
  log: (line: string) => void,
  model = 'merchant-risk',
): Promise<number> {
  const { lifecycle } = stage;
  const date = new Date(Date.now() - DAY).toISOString().slice(0, 10);

  log('▶ the lake: decisions the score service would have logged (transaction simulator)');
  const seeded = await lifecycle.seedLake(HISTORY);
  log(`  ${seeded.decisions} decisions, ${seeded.from} → ${seeded.to}`);

  log(`▶ the nightly run of ${model} for ${date} (the Scheduler schedule's target input, started by the demo)`);
  const t0 = Date.now();
  const started = lifecycle.startBatchRun(model, { date });
  let shown = 0;
  const stop = lifecycle.stepFunctions.onChange((e) => {
    if (e.executionArn !== started.executionArn) return;
    for (; shown < e.states.length; shown++) {
      log(`  ${`${((Date.now() - t0) / 1000).toFixed(1)} s`.padStart(7)}  ${e.states[shown]}`);
    }
  });
  const run = await lifecycle.waitForExecution(started.executionArn);
  stop();
  if (run.status !== 'SUCCEEDED') {
    log(`  ✖ the run ended ${run.status}: ${run.error ?? ''} ${run.cause ?? ''}`);
    return 1;
  }
  await stage.settle();
  const ready = stage.services.eventBridge
    .archive()
    .filter((a) => a.event['detail-type'] === 'PredictionsReady')
    .map((a) => (a.event.detail as { data: Ready }).data)
    .find((d) => d.model === model && d.date === date);
  if (!ready) {
    log('  ✖ no PredictionsReady event on the bus');
    return 1;
  }
  const transform = stateSeconds(run, 'Transform', 'Publish');
  const total = (Date.now() - t0) / 1000;
  log(`▶ PredictionsReady: ${JSON.stringify(ready)}`);
  log(
    `  ${ready.rows} merchants scored; run ${total.toFixed(1)} s (${(ready.rows / total).toFixed(0)} rows/s end to end)` +
      (transform
        ? `; transform ${transform.toFixed(1)} s (${(ready.rows / transform).toFixed(0)} rows/s, with its model server's start)`
        : ''),
  );

  const token = await mintToken(stage.dataDir, { client: 'operator' });
  const path = `/v1/models/${model}/predictions?date=${date}&limit=${PAGE}`;
  const res = await fetch(`${stage.url}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await res.json()) as {
    summary?: { rows: number; outcomes: Record<string, number> };
    predictions?: { id: string; score: number; outcome: string }[];
    nextToken?: string;
  };
  log(`▶ GET ${path} → ${res.status}`);
  if (!res.ok || !body.predictions) {
    log(`  ✖ ${JSON.stringify(body)}`);
    return 1;
  }
  log(`  summary: ${body.summary?.rows} rows, outcomes ${JSON.stringify(body.summary?.outcomes)}`);
  for (const p of body.predictions) log(`  ${p.id.padEnd(28)} ${p.score.toFixed(4)}  ${p.outcome}`);
  log(`  … nextToken ${body.nextToken ?? '(none: last page)'}`);
  return 0;
}
