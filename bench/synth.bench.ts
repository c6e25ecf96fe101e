// Benchmark of `cdk synth -q '**'` for the three environments: wall time (cold, then the median of warm runs) against
// issue 2's 30 s, and whether runs write byte-identical templates. Synthesizes into temporary folders, never cdk.out.
// Run: npx tsx bench/synth.bench.ts   (bounded to 3 minutes; writes bench/results/synth.json)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Figure, info, median, NODE, printTable, ROOT, round, writeResult } from './support/figures.js';

/** Warm runs after the cold one; the figure is their median. */
const WARM_RUNS = 3;
const BUDGET_MS = 170_000;
const RUN_TIMEOUT_MS = 120_000;
const TARGET_SECONDS = 30;
const CDK = join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');

/** GNU time reports the CPU the synth used, which load from other work on the machine hardly changes. */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const CPU_MARK = 'AIMS_SYNTH_CPU';

interface SynthRun {
  seconds: number;
  /** User + system CPU seconds of the synth and its children, when GNU time is there to tell. */
  cpuSeconds?: number;
  /** sha256 of every template, by its path inside the output folder. */
  templates: Map<string, string>;
  error?: string;
}

function templateHashes(dir: string): Map<string, string> {
  const hashes = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      // Asset folders hold bundles, not templates; their hashes are in the templates anyway.
      if (entry.isDirectory() && !entry.name.startsWith('asset.')) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.template.json')) {
        hashes.set(relative(dir, path), createHash('sha256').update(readFileSync(path)).digest('hex'));
      }
    }
  };
  walk(dir);
  return hashes;
}

/** One synth of the whole app into a fresh temporary folder, as `npm run synth` runs it (Node 22 first on PATH). */
function synth(): Promise<SynthRun> {
  const outdir = mkdtempSync(join(tmpdir(), 'aims-bench-synth-'));
  const env = {
    ...process.env,
    PATH: [join(ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter),
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  return new Promise((done) => {
    let output = '';
    const started = performance.now();
    const command = [NODE, CDK, 'synth', '-q', '**', '-o', outdir];
    const [file = NODE, ...args] = TIME ? [TIME, '-f', `${CPU_MARK} %U %S`, ...command] : command;
    // Its own process group, so a timeout ends the CLI and the app it started, not only GNU time.
    const child = spawn(file, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, RUN_TIMEOUT_MS);
    const collect = (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const finish = (error?: string) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const templates = error ? new Map<string, string>() : templateHashes(outdir);
      rmSync(outdir, { recursive: true, force: true });
      if (!error && templates.size === 0) error = 'cdk synth wrote no *.template.json';
      const cpu = new RegExp(`${CPU_MARK} ([\\d.]+) ([\\d.]+)`).exec(output);
      const cpuSeconds = cpu ? Number(cpu[1]) + Number(cpu[2]) : undefined;
      done({ seconds, templates, ...(cpuSeconds === undefined ? {} : { cpuSeconds }), ...(error ? { error } : {}) });
    };
    child.once('error', (error) => finish(error.message));
    child.once('close', (code, signal) => {
      if (code === 0) return finish();
      const last = output
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && l.length < 300 && !l.startsWith(CPU_MARK))
        .slice(-3)
        .join(' / ');
      finish(`exited ${signal ?? code}${last ? `: ${last}` : ''}`);
    });
  });
}

/** Templates that differ from the first run's (by content, or present in one run only). */
function differences(runs: readonly SynthRun[]): string[] {
  const [first, ...rest] = runs;
  if (!first) return [];
  const differing = new Set<string>();
  for (const run of rest) {
    for (const name of new Set([...first.templates.keys(), ...run.templates.keys()])) {
      if (first.templates.get(name) !== run.templates.get(name)) differing.add(name);
    }
  }
  return [...differing].sort();
}

async function main(): Promise<void> {
  const started = Date.now();
  const deadline = started + BUDGET_MS;
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  process.stdout.write(`cdk synth -q '**' into temporary folders; load average ${load}\n`);
  const runs: SynthRun[] = [];
  let last = 0;
  while (runs.length < WARM_RUNS + 1 && Date.now() + last * 1000 < deadline) {
    const run = await synth();
    runs.push(run);
    last = run.seconds;
    process.stdout.write(
      `run ${runs.length}${runs.length === 1 ? ' (cold)' : ''}: ${run.seconds.toFixed(1)} s` +
        `${run.cpuSeconds === undefined ? '' : ` (${run.cpuSeconds.toFixed(1)} s CPU)`}, ` +
        `${run.templates.size} templates${run.error ? `, failed: ${run.error}` : ''}\n`,
    );
    if (run.error) break;
  }

  const figures: Figure[] = [];
  const failed = runs.find((r) => r.error);
  const [cold, ...warm] = runs;
  if (failed || !cold) {
    figures.push({
      name: `cdk synth -q '**' — failed: ${failed?.error ?? 'no run fitted the time budget'}`,
      value: round(failed?.seconds ?? Number.NaN),
      unit: 's',
      target: `≤ ${TARGET_SECONDS} s`,
      baseline: null,
      ratio: null,
      pass: false,
    });
  } else {
    const warmMedian = median(warm.map((r) => r.seconds));
    figures.push({
      name: "cdk synth -q '**', 3 environments, first run (cold)",
      value: round(cold.seconds),
      unit: 's',
      target: `≤ ${TARGET_SECONDS} s`,
      baseline: null,
      ratio: null,
      pass: cold.seconds <= TARGET_SECONDS,
    });
    if (warm.length > 0) {
      figures.push({
        name: `cdk synth -q '**', 3 environments, median of ${warm.length} warm runs`,
        value: round(warmMedian),
        unit: 's',
        target: `≤ ${TARGET_SECONDS} s`,
        baseline: null,
        ratio: null,
        pass: warmMedian <= TARGET_SECONDS,
      });
    }
    const differing = differences(runs);
    figures.push({
      name:
        `templates byte-identical across ${runs.length} runs (${cold.templates.size} templates)` +
        (differing.length ? ` — differ: ${differing.slice(0, 3).join(', ')}${differing.length > 3 ? ', …' : ''}` : ''),
      value: differing.length,
      unit: 'templates differing',
      target: '0 differing',
      baseline: null,
      ratio: null,
      pass: runs.length >= 2 && differing.length === 0,
    });
    const cpu = runs.flatMap((r) => (r.cpuSeconds === undefined ? [] : [r.cpuSeconds]));
    if (cpu.length > 0) {
      // Not a target: what the synth costs in CPU, a guide to its wall time on an idle machine.
      figures.push(info(`CPU time per synth (user + system, median of ${cpu.length})`, round(median(cpu)), 's'));
    }
    figures.push(info('templates written per synth', cold.templates.size, 'templates'));
  }

  const file = writeResult('synth', started, figures, {
    machine: { loadavgAtStart: load, loadavgAtEnd: loadavg().map((l) => round(l, 2)), node: process.version },
    method:
      `node_modules/aws-cdk/bin/cdk synth -q '**' -o <fresh temporary folder> on ${NODE.replace(`${ROOT}/`, '')} with ` +
      'node_modules/.bin first on PATH (as npm run synth), CDK_DISABLE_CLI_TELEMETRY and AWS_EC2_METADATA_DISABLED ' +
      `set; the first run of this benchmark counts as cold (caches from earlier work on the machine may be warm), then ` +
      `up to ${WARM_RUNS} warm runs within ${BUDGET_MS / 1000} s. Determinism: sha256 of every *.template.json, ` +
      'compared with the first run.',
    runs: runs.map((r) => ({
      seconds: round(r.seconds, 2),
      cpuSeconds: r.cpuSeconds === undefined ? null : round(r.cpuSeconds, 2),
      templates: Object.fromEntries(r.templates),
      ...(r.error ? { error: r.error } : {}),
    })),
  });
  printTable(figures);
  process.stdout.write(`\nwrote ${relative(ROOT, file)} in ${round((Date.now() - started) / 1000)} s\n`);
}

await main();
