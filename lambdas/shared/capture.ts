// What the drift check and the shadow comparison both read the same way: SageMaker's hourly capture layout, and
// the binning and flooring of a population stability index.

/** Proportions below this are floored so an empty bin gives a large but finite PSI (the usual 1e-4 convention). */
export const PSI_EPSILON = 1e-4;

/** Index of the right-closed bin holding `value` (searchsorted side='left' over the edges, as in train.py). */
export function binOf(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The hourly key prefixes SageMaker writes capture under for [start, end]: `<base>yyyy/mm/dd/hh/`. */
export function captureHourPrefixes(base: string, variant: string, start: Date, end: Date): string[] {
  const out: string[] = [];
  const t = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate(), start.getUTCHours()));
  const pad = (n: number) => String(n).padStart(2, '0');
  while (t.getTime() <= end.getTime()) {
    out.push(
      `${base}${variant}/${t.getUTCFullYear()}/${pad(t.getUTCMonth() + 1)}/${pad(t.getUTCDate())}/${pad(t.getUTCHours())}/`,
    );
    t.setUTCHours(t.getUTCHours() + 1);
  }
  return out;
}
