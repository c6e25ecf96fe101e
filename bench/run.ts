// `npm run bench`: runs every bench/*.bench.ts in turn, then writes bench/results/latest.json and a Markdown report
// with each figure beside its target and its ratio to the bare baseline.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figure } from './support/figures.js';

interface BenchResult {
  benchmark: string;
  date: string;
  seconds: number;
  figures: Figure[];
  [key: string]: unknown;
}

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const resultsDir = join(root, 'bench', 'results');
const only = process.argv.slice(2);
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
if (benches.length === 0) throw new Error(`no benchmark matches ${only.join(', ')}`);
mkdirSync(resultsDir, { recursive: true });

const results: BenchResult[] = [];
const failures: string[] = [];
for (const file of benches) {
  const name = file.replace(/\.bench\.ts$/, '');
  process.stdout.write(`\n▶ ${name}\n`);
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', join('bench', file)], {
    cwd: root,
    stdio: 'inherit',
    timeout: 5 * 60_000,
  });
  const out = join(resultsDir, `${name}.json`);
  if (run.status !== 0 || !existsSync(out)) {
    failures.push(`${name}: exited ${run.status ?? run.signal}`);
    continue;
  }
  const result = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;
  if (Date.parse(result.date) < started) {
    failures.push(`${name}: did not write a fresh ${out}`);
    continue;
  }
  results.push(result);
}

const figures = results.flatMap((r) => r.figures.map((f) => ({ benchmark: r.benchmark, ...f })));
const latest = {
  date: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
  benchmarks: results,
  targets: {
    total: figures.filter((f) => f.target).length,
    passed: figures.filter((f) => f.pass === true).length,
    failed: figures.filter((f) => f.pass === false).map((f) => `${f.benchmark}: ${f.name}`),
  },
  failures,
};
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);

const cell = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? '' : `${v} ${unit}`.trim());
const lines = [
  '# AIMS benchmark report',
  '',
  `${latest.date} · ${latest.machine.cores} cores · ${latest.machine.cpu} · Node ${latest.machine.node}`,
  '',
  '| benchmark | figure | value | target | bare baseline | ratio | verdict |',
  '|---|---|---|---|---|---|---|',
  ...figures.map(
    (f) =>
      `| ${f.benchmark} | ${f.name} | ${cell(f.value, f.unit)} | ${f.target ?? '—'} | ${cell(f.baseline, f.unit)} | ${cell(f.ratio, '×')} | ${f.pass === null ? 'info' : f.pass ? 'pass' : '**miss**'} |`,
  ),
  '',
  ...(failures.length ? ['## Benchmarks that did not finish', '', ...failures.map((f) => `- ${f}`), ''] : []),
];
writeFileSync(join(resultsDir, 'report.md'), `${lines.join('\n')}\n`);
process.stdout.write(`\n${lines.join('\n')}\n`);
process.stdout.write(`\nwrote ${join('bench', 'results', 'latest.json')} and report.md\n`);
if (failures.length) process.exitCode = 1;
