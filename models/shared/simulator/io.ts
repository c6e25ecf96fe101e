// Writes and reads a simulation as JSONL files: transactions (the stream), labels (delayed feedback), truth (kept apart).
import { closeSync, createReadStream, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Label, Transaction } from '../contracts/transaction.js';
import type { SimulationResult, SimulationSummary, TruthRecord } from './simulate.js';

export const SIMULATION_FILES = {
  transactions: 'transactions.jsonl',
  labels: 'labels.jsonl',
  truth: 'truth.jsonl',
  summary: 'summary.json',
} as const;

const CHUNK = 5_000;

function writeJsonl(file: string, records: readonly object[], onLine?: () => void): void {
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < records.length; i += CHUNK) {
      const chunk = records.slice(i, i + CHUNK);
      writeSync(fd, `${chunk.map((r) => JSON.stringify(r)).join('\n')}\n`);
      if (onLine) for (let k = 0; k < chunk.length; k++) onLine();
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes the four simulation files into `outDir`; `onProgress` counts written records. */
export function writeSimulation(
  outDir: string,
  result: SimulationResult,
  onProgress?: (done: number, total: number) => void,
): void {
  mkdirSync(outDir, { recursive: true });
  const total = result.transactions.length + result.labels.length + result.truth.length;
  let done = 0;
  const tick = () => {
    done++;
    if (onProgress && (done % CHUNK === 0 || done === total)) onProgress(done, total);
  };
  writeJsonl(join(outDir, SIMULATION_FILES.transactions), result.transactions, tick);
  writeJsonl(join(outDir, SIMULATION_FILES.labels), result.labels, tick);
  writeJsonl(join(outDir, SIMULATION_FILES.truth), result.truth, tick);
  writeFileSync(join(outDir, SIMULATION_FILES.summary), `${JSON.stringify(result.summary, null, 2)}\n`);
}

const parseTruth = (value: unknown): TruthRecord => {
  const v = value as Partial<TruthRecord>;
  if (typeof v?.transactionId !== 'string' || typeof v.isFraud !== 'boolean') {
    throw new Error('expected {"transactionId": string, "isFraud": boolean, ...}');
  }
  return v as TruthRecord;
};

/** Reads a simulation back, validating every transaction and label against the shared zod contracts. */
export async function readSimulation(dir: string): Promise<SimulationResult> {
  const [transactions, labels, truth] = await Promise.all([
    readJsonl(join(dir, SIMULATION_FILES.transactions), (v) => Transaction.parse(v)),
    readJsonl(join(dir, SIMULATION_FILES.labels), (v) => Label.parse(v)),
    readJsonl(join(dir, SIMULATION_FILES.truth), parseTruth),
  ]);
  const summary = JSON.parse(readFileSync(join(dir, SIMULATION_FILES.summary), 'utf8')) as SimulationSummary;
  return { transactions, labels, truth, summary };
}

/** Reads a JSONL file line by line (for building a dataset from `npm run simulate` output). */
export async function readJsonl<T>(file: string, parse: (value: unknown) => T): Promise<T[]> {
  const out: T[] = [];
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    try {
      out.push(parse(JSON.parse(line)));
    } catch (err) {
      throw new Error(`${file}:${n}: ${(err as Error).message}`);
    }
  }
  return out;
}
