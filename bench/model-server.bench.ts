// Benchmark of the model server: batch-1 latency next to raw ORT + a bare HTTP echo, and micro-batching throughput.
// Run: npx tsx bench/model-server.bench.ts   (bounded to well under 60 s; writes bench/results/model-server.json)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import * as ort from 'onnxruntime-node';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const node = join(root, 'node_modules', '.bin', 'node');
const SEQUENTIAL_REQUESTS = 4000;
const WARMUP_REQUESTS = 500;
const THROUGHPUT_SECONDS = 4;
const CONCURRENCY = 64;

interface Figure {
  name: string;
  value: number;
  unit: string;
  target: string | null;
  baseline: number | null;
  ratio: number | null;
  pass: boolean | null;
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** The trained model if `npm run train` has produced one, else the test fixture (score = sigmoid(x·w + b)). */
function pickModel(): { modelDir: string; source: string; cleanup: () => void } {
  const trained = join(root, 'models', 'fraud-detector', 'artifacts');
  if (existsSync(join(trained, 'model.onnx')) && existsSync(join(trained, 'model-card.json'))) {
    return { modelDir: trained, source: 'models/fraud-detector/artifacts (trained)', cleanup: () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'model-server-bench-'));
  execFileSync('/usr/bin/python3', [join(root, 'models', 'server', 'test', 'fixtures', 'make_fixture_model.py'), dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    modelDir: dir,
    source: 'fixture (6 features, sigmoid(x·w+b))',
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Spawns a process that prints `{"event":"listening","port":…}` as a JSON line, and waits for `ready`. */
function spawnListening(args: string[], ready: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(node, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    let port = 0;
    let buffered = '';
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const entry = JSON.parse(line) as { event: string; port?: number };
        if (entry.event === 'listening') port = entry.port ?? 0;
        if (entry.event === ready) resolvePromise({ port, child });
      }
    });
  });
}

/** A bare node:http server that reads the body and answers with a fixed body of the model server's size. */
const ECHO_SERVER = `
const http = require('node:http');
const reply = process.argv[1];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    Buffer.concat(chunks).toString('utf8');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(reply) });
    res.end(reply);
  });
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ event: 'listening', port: server.address().port })));
`;

/** Sequential POSTs over one keep-alive connection per target, alternating targets in blocks so that load from
 * elsewhere on the machine hits every target alike; returns sorted per-request latencies in µs per target. */
async function interleavedLatencies(
  targets: readonly { port: number; path: string; body: string }[],
  count: number,
): Promise<number[][]> {
  const clients = targets.map(({ port, path, body }) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    const once = () =>
      new Promise<number>((resolvePromise, reject) => {
        const started = process.hrtime.bigint();
        const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers }, (res) => {
          res.on('data', () => {});
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`${path} answered ${res.statusCode}`));
            else resolvePromise(Number(process.hrtime.bigint() - started) / 1000);
          });
        });
        req.on('error', reject);
        req.end(body);
      });
    return { agent, once, latencies: [] as number[] };
  });
  for (const c of clients) for (let i = 0; i < WARMUP_REQUESTS; i++) await c.once();
  const block = 200;
  for (let done = 0; done < count; done += block) {
    for (const c of clients) for (let i = 0; i < block; i++) c.latencies.push(await c.once());
  }
  for (const c of clients) c.agent.destroy();
  return clients.map((c) => c.latencies.sort((a, b) => a - b));
}

async function rawOrtLatencies(modelDir: string, width: number, count: number): Promise<number[]> {
  const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const row = new Float32Array(width).map((_, i) => (i % 7) * 0.3);
  const run = async () => {
    const started = process.hrtime.bigint();
    await session.run({ features: new ort.Tensor('float32', row, [1, width]) });
    return Number(process.hrtime.bigint() - started) / 1000;
  };
  for (let i = 0; i < WARMUP_REQUESTS; i++) await run();
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) latencies.push(await run());
  await session.release();
  return latencies.sort((a, b) => a - b);
}

async function throughput(port: number, path: string, body: string, connections: number) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: THROUGHPUT_SECONDS,
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`throughput run had ${result.non2xx} non-2xx responses and ${result.errors} errors`);
  }
  return { requestsPerSecond: result.requests.total / result.duration, p50Ms: result.latency.p50 };
}

async function modelStats(port: number, name: string): Promise<{ rows: number; batches: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/v2/models/${name}/stats`);
  const body = (await res.json()) as { model_stats: { inference_count: number; execution_count: number }[] };
  const s = body.model_stats[0];
  return { rows: s?.inference_count ?? 0, batches: s?.execution_count ?? 0 };
}

async function main(): Promise<void> {
  const started = Date.now();
  const model = pickModel();
  const children: ChildProcess[] = [];
  try {
    const server = await spawnListening(
      [
        '--import',
        'tsx',
        join(root, 'models', 'server', 'src', 'main.ts'),
        'serve',
        '--port',
        '0',
        '--model-dir',
        model.modelDir,
      ],
      'model_loaded',
    );
    children.push(server.child);
    const meta = (await (await fetch(`http://127.0.0.1:${server.port}/ping`)).json()) as { model_name: string };
    const manifestWidth = (
      (await (await fetch(`http://127.0.0.1:${server.port}/v2/models/${meta.model_name}`)).json()) as {
        inputs: { shape: number[] }[];
      }
    ).inputs[0]?.shape[1];
    const width = manifestWidth ?? 0;
    const row = Array.from({ length: width }, (_, i) => round((i % 7) * 0.3, 2));
    const body = JSON.stringify({ inputs: [{ name: 'features', shape: [1, width], datatype: 'FP32', data: row }] });
    const path = `/v2/models/${meta.model_name}/infer`;
    const sample = await fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'POST', body });
    const reply = await sample.text();

    const echo = await spawnListening(['-e', ECHO_SERVER, reply], 'listening');
    children.push(echo.child);

    process.stdout.write(`model: ${model.source}, ${width} features; ${cpus().length} cores\n`);
    const ort1 = await rawOrtLatencies(model.modelDir, width, SEQUENTIAL_REQUESTS * 2);
    const [echoLat = [], serverLat = []] = await interleavedLatencies(
      [
        { port: echo.port, path, body },
        { port: server.port, path, body },
      ],
      SEQUENTIAL_REQUESTS,
    );

    const sequential = await throughput(server.port, path, body, 1);
    const before = await modelStats(server.port, meta.model_name);
    const concurrent = await throughput(server.port, path, body, CONCURRENCY);
    const after = await modelStats(server.port, meta.model_name);
    const meanBatch = (after.rows - before.rows) / Math.max(1, after.batches - before.batches);
    // The same load with 8-row requests: what batching buys once HTTP is no longer the whole cost.
    const rows8 = Array.from({ length: 8 }, () => row);
    const body8 = JSON.stringify({ inputs: [{ name: 'features', shape: [8, width], datatype: 'FP32', data: rows8 }] });
    const concurrent8 = await throughput(server.port, path, body8, CONCURRENCY);

    const ortP50 = quantile(ort1, 0.5);
    const echoP50 = quantile(echoLat, 0.5);
    const serverP50 = quantile(serverLat, 0.5);
    const p50Baseline = ortP50 + echoP50;
    const p99Baseline = quantile(ort1, 0.99) + quantile(echoLat, 0.99);
    const rowsRatio = concurrent.requestsPerSecond / sequential.requestsPerSecond;
    const info = (name: string, value: number, unit: string): Figure => ({
      name,
      value: round(value),
      unit,
      target: null,
      baseline: null,
      ratio: null,
      pass: null,
    });
    const figures: Figure[] = [
      {
        name: 'server p50 latency, batch 1',
        value: round(serverP50),
        unit: 'µs',
        target: '<= 1.3 × (raw ORT p50 + echo p50)',
        baseline: round(p50Baseline),
        ratio: round(serverP50 / p50Baseline, 2),
        pass: serverP50 <= 1.3 * p50Baseline,
      },
      {
        name: 'server p99 latency, batch 1',
        value: round(quantile(serverLat, 0.99)),
        unit: 'µs',
        target: null,
        baseline: round(p99Baseline),
        ratio: round(quantile(serverLat, 0.99) / p99Baseline, 2),
        pass: null,
      },
      info('raw ORT p50, batch 1 (in-process)', ortP50, 'µs'),
      info('raw ORT p99, batch 1 (in-process)', quantile(ort1, 0.99), 'µs'),
      info('bare HTTP echo p50', echoP50, 'µs'),
      info('bare HTTP echo p99', quantile(echoLat, 0.99), 'µs'),
      {
        name: `rows/s, micro-batching at concurrency ${CONCURRENCY}`,
        value: Math.round(concurrent.requestsPerSecond),
        unit: 'rows/s',
        target: '>= 5 × batch-1 sequential rows/s',
        baseline: Math.round(sequential.requestsPerSecond),
        ratio: round(rowsRatio, 2),
        pass: rowsRatio >= 5,
      },
      info('rows/s, batch-1 sequential (1 connection)', sequential.requestsPerSecond, 'rows/s'),
      info(`rows/s, 8-row requests at concurrency ${CONCURRENCY}`, concurrent8.requestsPerSecond * 8, 'rows/s'),
      info(`mean rows per ORT run at concurrency ${CONCURRENCY}`, meanBatch, 'rows'),
      info(`server p50 latency at concurrency ${CONCURRENCY}`, concurrent.p50Ms * 1000, 'µs'),
    ];

    const resultsDir = join(root, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const result = {
      benchmark: 'model-server',
      date: new Date().toISOString(),
      model: model.source,
      features: width,
      machine: { cores: cpus().length, node: process.version },
      seconds: round((Date.now() - started) / 1000),
      figures,
    };
    writeFileSync(join(resultsDir, 'model-server.json'), `${JSON.stringify(result, null, 2)}\n`);

    const rows = figures.map((f) => [
      f.name,
      `${f.value} ${f.unit}`,
      f.baseline === null ? '' : `${f.baseline} ${f.unit}`,
      f.ratio === null ? '' : `${f.ratio}×`,
      f.target ?? '',
      f.pass === null ? '' : f.pass ? 'PASS' : 'FAIL',
    ]);
    const header = ['figure', 'value', 'baseline', 'ratio', 'target', ''];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
    process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
    for (const r of rows) process.stdout.write(`${line(r)}\n`);
    process.stdout.write(`\nwrote bench/results/model-server.json in ${result.seconds} s\n`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    model.cleanup();
  }
}

await main();
