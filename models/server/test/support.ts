// Test support for the model server: builds fixture models with known math and runs the real server in a child
// process (ORT's native binding rejects typed arrays made in jest's VM realm, and signals need a real process).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
export const repoRoot = resolve(here, '../../..');
const fixtureScript = join(here, 'fixtures', 'make_fixture_model.py');
const mainTs = join(repoRoot, 'models', 'server', 'src', 'main.ts');
const node = join(repoRoot, 'node_modules', '.bin', 'node');

export const FEATURES = [
  'amount',
  'hour_of_day',
  'txn_count_1h',
  'amount_sum_24h',
  'distinct_merchants_7d',
  'country_changed',
] as const;
export const WIDTH = FEATURES.length;
export const MODEL_NAME = 'fixture-scorer';

export interface FixtureOptions {
  version?: string;
  bias?: number;
  features?: readonly string[];
  cardFeatures?: readonly string[];
  onnxWidth?: number;
  maxBatchSize?: number;
  maxQueueDelayUs?: number;
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Writes model.onnx (score = sigmoid(x·w + b)), model-card.json and model.json into `dir`. */
export function makeFixtureModel(dir: string, o: FixtureOptions = {}): string {
  const args = [fixtureScript, dir, '--version', o.version ?? '1', '--bias', String(o.bias ?? 0.25)];
  if (o.features) args.push('--features', o.features.join(','));
  if (o.cardFeatures) args.push('--card-features', o.cardFeatures.join(','));
  if (o.onnxWidth !== undefined) args.push('--onnx-width', String(o.onnxWidth));
  if (o.maxBatchSize !== undefined) args.push('--max-batch-size', String(o.maxBatchSize));
  if (o.maxQueueDelayUs !== undefined) args.push('--max-queue-delay-us', String(o.maxQueueDelayUs));
  execFileSync('/usr/bin/python3', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return dir;
}

/** The fixture's weights: w[i] = (i + 1) / 10 · (−1)^i. */
export const weight = (i: number): number => ((i + 1) / 10) * (i % 2 ? -1 : 1);

/** The score the fixture model must return for one row, computed in double precision. */
export function expectedScore(row: readonly number[], bias = 0.25): number {
  const z = row.reduce((sum, x, i) => sum + Math.fround(x) * weight(i), bias);
  return 1 / (1 + Math.exp(-z));
}

export interface LogLine {
  level: string;
  event: string;
  [key: string]: unknown;
}

export interface RunningServer {
  url: string;
  port: number;
  child: ChildProcess;
  logs: LogLine[];
  stderr: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** The first `event` log line at index `from` or later (default: any), as soon as it is written. */
  waitForLog(event: string, timeoutMs?: number, from?: number): Promise<LogLine>;
  stop(): Promise<number | null>;
}

/** Spawns `model-server --port 0 …` and resolves once its model is loaded; `env` adds environment variables. */
export function spawnServer(args: readonly string[], env: Record<string, string> = {}): Promise<RunningServer> {
  const child = spawn(node, ['--import', 'tsx', mainTs, 'serve', '--port', '0', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SAGEMAKER_BIND_TO_PORT: '', PORT: '', ...env },
  });
  const logs: LogLine[] = [];
  const waiters: { event: string; resolve: (l: LogLine) => void }[] = [];
  let err = '';
  let buffered = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const text of lines) {
      if (text.trim() === '') continue;
      const line = JSON.parse(text) as LogLine;
      logs.push(line);
      for (const w of waiters.filter((x) => x.event === line.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const waitForLog = (event: string, timeoutMs = 20_000, from = 0): Promise<LogLine> => {
    const seen = logs.slice(from).find((l) => l.event === event);
    if (seen) return Promise.resolve(seen);
    return new Promise((res, rej) => {
      const timer = setTimeout(
        () => rej(new Error(`no '${event}' log within ${timeoutMs} ms; stderr: ${err}`)),
        timeoutMs,
      );
      waiters.push({
        event,
        resolve: (l) => {
          clearTimeout(timer);
          res(l);
        },
      });
      void exited.then((code) => {
        clearTimeout(timer);
        rej(new Error(`server exited (${code}) before '${event}'; logs: ${JSON.stringify(logs)} stderr: ${err}`));
      });
    });
  };
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return exited;
  };
  return (async () => {
    const listening = await waitForLog('listening');
    await waitForLog('model_loaded');
    const port = listening.port as number;
    return { url: `http://127.0.0.1:${port}`, port, child, logs, stderr: () => err, exited, waitForLog, stop };
  })();
}

/** Runs the server expecting it to refuse to start; resolves with its exit code and log lines. */
export async function runRefusingServer(args: readonly string[]): Promise<{ code: number | null; logs: LogLine[] }> {
  const child = spawn(node, ['--import', 'tsx', mainTs, 'serve', '--port', '0', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  const logs = out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogLine);
  return { code, logs };
}

export function inferBody(rows: readonly (readonly number[])[], o: { nested?: boolean; id?: string } = {}): string {
  return JSON.stringify({
    ...(o.id === undefined ? {} : { id: o.id }),
    inputs: [
      {
        name: 'features',
        shape: [rows.length, rows[0]?.length ?? WIDTH],
        datatype: 'FP32',
        data: o.nested ? rows : rows.flat(),
      },
    ],
  });
}

export interface InferResponse {
  id?: string;
  model_name: string;
  model_version: string;
  outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
}

export async function postJson(
  url: string,
  body: string,
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

/** A deterministic row generator (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomRows(next: () => number, count: number): number[][] {
  return Array.from({ length: count }, () =>
    Array.from({ length: WIDTH }, () => Math.round((next() * 8 - 4) * 1000) / 1000),
  );
}
