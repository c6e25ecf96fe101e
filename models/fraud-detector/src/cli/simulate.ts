// `npm run simulate -- --days 7 --customers 2000 --seed 42 --out <dir> [--drift …]`: writes a replayable simulation.
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { writeSimulation } from '../../../shared/simulator/io.js';
import { parseDrift, simulate } from '../../../shared/simulator/simulate.js';
import { positiveInt, rate, seedValue } from './options.js';

const driftSpec = (value: string) => {
  try {
    return parseDrift(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

const program = new Command('simulate')
  .description('Simulate card transactions with labelled fraud, delayed chargebacks and optional drift.')
  .option('--days <n>', 'days to simulate', positiveInt, 7)
  .option('--customers <n>', 'number of customers', positiveInt, 2000)
  .option('--seed <n>', 'random seed (same seed, same bytes)', seedValue, 42)
  .option('--out <dir>', 'output directory', 'models/fraud-detector/artifacts/simulation')
  .option('--start <date>', 'first day (UTC, YYYY-MM-DD)', '2026-01-05')
  .option('--fraud-rate <r>', 'share of transactions that are fraud', rate, 0.005)
  .option('--drift <spec>', 'drift knobs, e.g. amount=1.3,merchants=0.2,pattern=0.5,from-day=3', driftSpec)
  .parse();

const opts = program.opts<{
  days: number;
  customers: number;
  seed: number;
  out: string;
  start: string;
  fraudRate: number;
  drift?: ReturnType<typeof parseDrift>;
}>();

const bar = new SingleBar({
  format: '{phase} |{bar}| {percentage}% {value}/{total}',
  hideCursor: true,
  stream: process.stderr,
});
try {
  bar.start(opts.customers, 0, { phase: 'simulating customers' });
  const result = simulate(
    {
      seed: opts.seed,
      days: opts.days,
      customers: opts.customers,
      start: opts.start,
      fraudRate: opts.fraudRate,
      ...(opts.drift ? { drift: opts.drift } : {}),
    },
    (done) => bar.update(done),
  );
  const out = resolve(opts.out);
  bar.setTotal(result.transactions.length + result.labels.length + result.truth.length);
  bar.update(0, { phase: 'writing records      ' });
  writeSimulation(out, result, (done) => bar.update(done));
  bar.stop();
  const s = result.summary;
  console.log(
    `wrote ${s.transactions} transactions (${s.frauds} fraud, ${(s.fraudRate * 100).toFixed(2)}%), ` +
      `${s.labels} labels (${s.falseClaims} false claims) to ${out}`,
  );
  console.log(`fraud by scenario: ${JSON.stringify(s.byScenario)}`);
} catch (err) {
  bar.stop();
  console.error(`simulate: ${(err as Error).message}`);
  process.exitCode = 1;
}
