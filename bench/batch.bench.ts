// Benchmark of a batch model's nightly run on the local stage (merchant-risk): rows/s end to end (state machine:
// Athena on DuckDB, prepare, transform, publish) and of the transform's requests, each against the bare ceiling of the
// model server alone on bodies of the manifest's rowsPerRequest rows, measured in the same run.
// Run: npx tsx bench/batch.bench.ts   (writes bench/results/batch.json; ≈ 1 min)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inferBody } from '../lambdas/batch/core.js';
import { startLocalModelEndpoint } from '../local/model-endpoint.js';
import { startLocalStage } from '../local/stage.js';
import { loadManifest } from '../models/shared/manifest.js';
import { type Figure, info, median, printTable, ROOT, round, writeResult } from './support/figures.js';

const MODEL = 'merchant-risk';
const DAY = 86_400_000;
const BARE_REQUESTS = 30;
const ROUNDS = 3;
/** A lake with a few hundred active merchants a day (the simulator's merchants grow with its customers). */
const HISTORY = { customers: 3000, days: 10, endDaysAgo: 1 } as const;

const started = Date.now();
const modelDir = join(ROOT, 'models', MODEL);
const manifest = loadManifest(modelDir);
const rowsPerRequest = manifest.serving.batch?.rowsPerRequest ?? 1024;
const work = mkdtempSync(join(tmpdir(), 'aims-bench-batch-'));

/**
 * The model server alone: sequential requests of rowsPerRequest rows, as the transform sends them — its first request
 * after the start (what a transform of one request gets) and warm (the ceiling of a long transform).
 */
async function bareRowsPerSecond(): Promise<{ cold: number; warm: number }> {
  const server = await startLocalModelEndpoint({
    root: ROOT,
    modelDir: join(modelDir, 'bootstrap'),
    manifestDir: modelDir,
    logFile: join(work, 'bare.log'),
  });
  try {
    const vectors = Array.from({ length: rowsPerRequest }, (_, i) =>
      manifest.features.map((_, j) => ((i * 31 + j * 7) % 97) / 97),
    );
    const body = inferBody(manifest.serving.inputName, vectors);
    const send = async () => {
      const res = await fetch(`${server.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      if (!res.ok) throw new Error(`model server answered ${res.status}`);
      await res.text();
    };
    const first = performance.now();
    await send();
    const cold = rowsPerRequest / ((performance.now() - first) / 1000);
    for (let i = 0; i < 5; i++) await send();
    const rates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      for (let i = 0; i < BARE_REQUESTS; i++) await send();
      rates.push((BARE_REQUESTS * rowsPerRequest) / ((performance.now() - t0) / 1000));
    }
    return { cold, warm: median(rates) };
  } finally {
    await server.close();
  }
}

try {
  const bare = await bareRowsPerSecond();
  const lines: string[] = [];
  const stage = await startLocalStage({
    dataDir: join(work, 'stage'),
    port: 0,
    synth: false,
    log: (l) => lines.push(l),
  });
  let figures: Figure[];
  let extra: Record<string, unknown>;
  try {
    await stage.lifecycle.seedLake(HISTORY);
    const date = new Date(Date.now() - DAY).toISOString().slice(0, 10);
    const t0 = performance.now();
    const run = await stage.lifecycle.waitForExecution(stage.lifecycle.startBatchRun(MODEL, { date }).executionArn);
    const seconds = (performance.now() - t0) / 1000;
    if (run.status !== 'SUCCEEDED') throw new Error(`the batch run ended ${run.status}: ${run.cause ?? ''}`);
    const transform = lines
      .map((l) => /transform \S+: (\d+) rows in (\d+) requests, (\d+) ms/.exec(l))
      .find((m) => m !== null);
    if (!transform) throw new Error('the transform did not report its rows');
    const rows = Number(transform[1]);
    const requestSeconds = Number(transform[3]) / 1000;
    const at = (state: string) => Date.parse(run.enteredAt?.[run.states.indexOf(state)] ?? '');
    const stateSeconds = (from: string, to: string) => (at(to) - at(from)) / 1000;
    const transformRate = rows / requestSeconds;
    figures = [
      info('rows scored (active merchants)', rows, 'rows'),
      // The figure: the whole night's rows/s against what the model server alone sustains (warm).
      {
        name: 'batch run end to end vs the bare model server (warm)',
        value: round(rows / seconds, 1),
        unit: 'rows/s',
        target: null,
        baseline: round(bare.warm, 0),
        ratio: round(rows / seconds / bare.warm, 4),
        pass: null,
      },
      info('batch run duration', seconds, 's'),
      info('  of which the lake query (DuckDB)', stateSeconds('QueryPopulation', 'Prepare'), 's'),
      info('  of which prepare (fold, features, state writes)', stateSeconds('Prepare', 'AnyRows?'), 's'),
      info('  of which the transform (with its model server start)', stateSeconds('Transform', 'Publish'), 's'),
      ...(['cold', 'warm'] as const).map(
        (kind): Figure => ({
          name: `transform job (S3 in, requests, S3 out) vs the bare model server (${kind === 'cold' ? 'its first request' : 'warm'})`,
          value: round(transformRate, 0),
          unit: 'rows/s',
          target: null,
          baseline: round(bare[kind], 0),
          ratio: round(transformRate / bare[kind], 2),
          pass: null,
        }),
      ),
    ];
    extra = {
      model: MODEL,
      // The night scored; not `date`, which is when the result was written.
      night: date,
      rowsPerRequest,
      transformRequests: Number(transform[2]),
      history: HISTORY,
      states: run.states,
    };
  } finally {
    await stage.close();
  }
  printTable(figures);
  writeResult('batch', started, figures, extra);
} finally {
  rmSync(work, { recursive: true, force: true });
}
