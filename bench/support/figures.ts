// Shared by the benchmarks: the figure shape bench/run.ts reads, medians, the result file and table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One figure of a benchmark, as bench/run.ts reads it from `bench/results/<name>.json`. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  target: string | null;
  baseline: number | null;
  ratio: number | null;
  pass: boolean | null;
}

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
/** Node 22, the version npm scripts and the local stage run (the `node` devDependency). */
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');

export const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** The middle value (mean of the two middle values for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

/** A figure with no target (shown as information), its value rounded to two decimals. */
export const info = (name: string, value: number, unit: string): Figure => ({
  name,
  value: round(value, 2),
  unit,
  target: null,
  baseline: null,
  ratio: null,
  pass: null,
});

/**
 * Writes `bench/results/<benchmark>.json` (figures plus whatever else explains them) and returns its path. The runner
 * reads `benchmark`, `date` (when it was written: how it tells a fresh result from a stale one), `seconds` and
 * `figures`, so `extra` cannot set them.
 */
export function writeResult(
  benchmark: string,
  started: number,
  figures: readonly Figure[],
  extra: Record<string, unknown>,
): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${benchmark}.json`);
  const result = {
    ...extra,
    benchmark,
    date: new Date().toISOString(),
    seconds: round((Date.now() - started) / 1000),
    figures,
  };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** Prints the figures as an aligned plain-text table. */
export function printTable(figures: readonly Figure[]): void {
  const cell = (v: number | null, unit: string) => (v === null || Number.isNaN(v) ? '' : `${v} ${unit}`.trim());
  const rows = figures.map((f) => [
    f.name,
    cell(f.value, f.unit) || 'n/a',
    cell(f.baseline, f.unit),
    f.ratio === null || Number.isNaN(f.ratio) ? '' : `${f.ratio}×`,
    f.target ?? '',
    f.pass === null ? '' : f.pass ? 'PASS' : 'FAIL',
  ]);
  const header = ['figure', 'value', 'baseline', 'ratio', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}
