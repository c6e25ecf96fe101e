// `npm run train [-- --seed n --days n --customers n --out dir]`: simulate → training set → train.py → quality gate.

import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MultiBar, type SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { TorchMissingError } from '../../../shared/python.js';
import { BOOTSTRAP_FILES } from '../../../shared/training.js';
import { MODEL_DIR, type PipelinePhase, runPipeline, TRAINING_DEFAULTS } from '../pipeline.js';
import { positiveInt, seedValue } from './options.js';

const program = new Command('train')
  .description('Simulate transactions, build the time-split training set, train the model and check its quality.')
  .option('--seed <n>', 'random seed for simulation and training', seedValue, TRAINING_DEFAULTS.seed)
  .option('--days <n>', 'days to simulate', positiveInt, TRAINING_DEFAULTS.days)
  .option('--customers <n>', 'customers to simulate', positiveInt, TRAINING_DEFAULTS.customers)
  .option('--out <dir>', 'artifacts directory', 'models/fraud-detector/artifacts')
  .option('--dataset-only', 'stop after writing the dataset (no Python needed)', false)
  .option(
    '--bootstrap',
    'when the gate passes, also refresh models/fraud-detector/bootstrap/ (the committed model)',
    false,
  )
  .parse();

const opts = program.opts<{
  seed: number;
  days: number;
  customers: number;
  out: string;
  datasetOnly: boolean;
  bootstrap: boolean;
}>();

const tty = Boolean(process.stderr.isTTY);
const multibar = tty
  ? new MultiBar({ format: '{phase} |{bar}| {percentage}% {value}/{total}', hideCursor: true, stream: process.stderr })
  : undefined;
const bars = new Map<PipelinePhase, SingleBar>();
const quarters = new Map<PipelinePhase, number>();
const LABELS: Record<PipelinePhase, string> = {
  simulate: 'simulate (customers)',
  features: 'features (txns)     ',
  train: 'train.py            ',
};

const log = (line: string) => {
  // Lines above live bars go through the multibar so they do not tear the display.
  if (multibar) multibar.log(`${line}\n`);
  else console.error(`[train] ${line}`);
};

const started = performance.now();
try {
  const result = await runPipeline({
    seed: opts.seed,
    days: opts.days,
    customers: opts.customers,
    out: opts.out,
    datasetOnly: opts.datasetOnly,
    log,
    onProgress: (phase, done, total) => {
      if (!tty) {
        // Without a terminal, a line per quarter instead of redrawn bars (CI logs stay readable).
        const quarter = Math.floor((4 * done) / Math.max(1, total));
        if (phase !== 'train' && quarter > (quarters.get(phase) ?? -1)) {
          quarters.set(phase, quarter);
          log(`${LABELS[phase].trim()}: ${done}/${total}`);
        }
        return;
      }
      let bar = bars.get(phase);
      if (!bar) {
        // train.py prints its own progress; a bar over it would garble both.
        if (phase === 'train') multibar?.stop();
        else {
          bar = multibar?.create(total, 0, { phase: LABELS[phase] });
          if (bar) bars.set(phase, bar);
        }
      }
      bar?.update(done);
    },
  });
  multibar?.stop();
  const total = ((performance.now() - started) / 1000).toFixed(1);
  const { simulation: s, dataset: d, metrics, verdict, seconds } = result;
  console.log('');
  console.log(`fraud-detector training summary (seed ${opts.seed}, ${total}s total)`);
  console.log(
    `  simulation   ${s.transactions} transactions, ${s.frauds} fraud (${(s.fraudRate * 100).toFixed(2)}%), ` +
      `${s.customers} customers, ${s.days} days  [${seconds.simulate}s]`,
  );
  console.log(
    `  dataset      train ${d.rows.train} (${d.positives.train}+), validation ${d.rows.validation} ` +
      `(${d.positives.validation}+), test ${d.rows.test} (${d.positives.test}+)  [${seconds.dataset}s] → ${result.datasetDir}`,
  );
  if (metrics && verdict) {
    const rules = metrics.rules;
    console.log(
      `  model        AUC-PR ${metrics.model.aucPr.toFixed(4)}, recall@1% ${metrics.model.recallAt1pct.toFixed(4)}  ` +
        `[${seconds.train}s]`,
    );
    console.log(
      `  rules        AUC-PR ${typeof rules?.aucPr === 'number' ? rules.aucPr.toFixed(4) : 'n/a'}, ` +
        `recall@1% ${rules ? rules.recallAt1pct.toFixed(4) : 'n/a'}`,
    );
    console.log(
      `  lift         ${verdict.lift === null ? 'n/a' : `${verdict.lift.toFixed(2)}×`} recall over the rules`,
    );
    console.log(`  artifacts    ${result.out}`);
    if (!verdict.passed) {
      console.error(`quality gate FAILED:\n${verdict.problems.map((p) => `  - ${p}`).join('\n')}`);
      process.exitCode = 1;
    } else {
      console.log('quality gate passed');
      if (opts.bootstrap) {
        const target = join(MODEL_DIR, 'bootstrap');
        mkdirSync(join(target, 'baseline'), { recursive: true });
        for (const file of BOOTSTRAP_FILES) copyFileSync(join(result.out, file), join(target, file));
        console.log(`  bootstrap    ${target} refreshed (commit it: every synth bundles it as the first champion)`);
      }
    }
  }
} catch (err) {
  multibar?.stop();
  if (err instanceof TorchMissingError) console.error(`train: ${err.message}`);
  else console.error(`train: ${(err as Error).message}`);
  process.exitCode = 1;
}
