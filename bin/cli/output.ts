// Human output helpers (aligned tables, key/value blocks) and the JSON printer `--json` uses.

export interface Output {
  /** The command's result: stdout. */
  out(text: string): void;
  /** Notes and progress: stderr, silenced by --quiet. */
  note(text: string): void;
  json(value: unknown): void;
}

export function consoleOutput(quiet: boolean): Output {
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    note: (text) => {
      if (!quiet) process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: readonly (readonly string[])[], header?: readonly string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = all.map(line);
  if (header) lines.splice(1, 0, widths.map((w) => '─'.repeat(w)).join('  '));
  return lines.join('\n');
}

/** A block of `key  value` lines. */
export function keyValues(pairs: readonly (readonly [string, string])[]): string {
  return table(pairs.map(([k, v]) => [k, v]));
}

/** One value as a short human string (nested values as compact JSON). */
export function show(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return JSON.stringify(value);
}

export function signed(n: number, digits = 4): string {
  return `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;
}

/** An object of unknown shape as key/value lines, one per top-level field. */
export function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return show(value);
  return keyValues(Object.entries(value).map(([k, v]) => [k, show(v)]));
}
