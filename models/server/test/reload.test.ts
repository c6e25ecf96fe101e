// Hot reload without dropping requests (repository API and SIGHUP), refusal of bad versions, graceful shutdown.
import { cpSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  expectedScore,
  type InferResponse,
  inferBody,
  MODEL_NAME,
  makeFixtureModel,
  makeTempDir,
  postJson,
  type RunningServer,
  removeDir,
  spawnServer,
} from './support.js';

const ROW = [1, 2, 3, 4, 5, 6];
const BIAS = { '1': 0.25, '2': -0.75, '3': 1.5 } as const;

let root: string;
let server: RunningServer;

beforeAll(async () => {
  root = makeTempDir('model-server-reload');
  makeFixtureModel(join(root, 'v1'), { version: '1', bias: BIAS['1'] });
  makeFixtureModel(join(root, 'v2'), { version: '2', bias: BIAS['2'] });
  makeFixtureModel(join(root, 'v3'), { version: '3', bias: BIAS['3'] });
  makeFixtureModel(join(root, 'bad-features'), {
    version: '9',
    cardFeatures: ['amount', 'hour_of_day', 'txn_count_1h', 'amount_sum_24h', 'distinct_merchants_7d', 'is_weekend'],
  });
  cpSync(join(root, 'v1'), join(root, 'live'), { recursive: true });
  server = await spawnServer(['--model-dir', join(root, 'live')]);
});

afterAll(async () => {
  await server?.stop();
  removeDir(root);
});

const score = async (): Promise<{ status: number; version: string; value: number }> => {
  const res = await postJson(`${server.url}/v2/models/${MODEL_NAME}/infer`, inferBody([ROW]));
  const body = res.json as InferResponse;
  return { status: res.status, version: body.model_version, value: body.outputs?.[0]?.data[0] ?? Number.NaN };
};

/** Keeps `concurrency` request loops running until `stop()`; records every outcome. */
/** `concurrency` clients scoring in a loop; `answered(n)` resolves once n answers in all have come back. */
function loadLoop(concurrency: number) {
  const results: { status: number; version: string; value: number }[] = [];
  const errors: unknown[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const settle = () => {
    for (const w of waiters.filter((x) => results.length + errors.length >= x.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        results.push(await score());
      } catch (err) {
        errors.push(err);
      }
      settle();
    }
  });
  return {
    results,
    errors,
    answered: (count: number) =>
      new Promise<void>((resolve) => {
        waiters.push({ count, resolve });
        settle();
      }),
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

const load = (name: string, parameters?: Record<string, string>) =>
  postJson(
    `${server.url}/v2/repository/models/${name}/load`,
    parameters === undefined ? '' : JSON.stringify({ parameters }),
  );

test('GIVEN steady load WHEN a new version is loaded via the repository API THEN no request fails and responses switch to it', async () => {
  const traffic = loadLoop(16);
  await traffic.answered(64);
  const res = await load(MODEL_NAME, { version: '2', path: join(root, 'v2') });
  expect(res.status).toBe(200);
  expect(res.json).toEqual({ model_name: MODEL_NAME, model_version: '2', model_dir: join(root, 'v2') });
  const afterSwap = traffic.results.length;
  // Enough answers after the swap that some were sent after the load call returned (16 may have been in flight).
  await traffic.answered(afterSwap + 16 + 64);
  await traffic.stop();

  expect(traffic.errors).toEqual([]);
  expect(traffic.results.every((r) => r.status === 200)).toBe(true);
  const versions = new Set(traffic.results.map((r) => r.version));
  expect(versions).toEqual(new Set(['1', '2']));
  // Every response carries the version that actually scored it.
  for (const r of traffic.results) {
    expect(Math.abs(r.value - expectedScore(ROW, BIAS[r.version as '1' | '2']))).toBeLessThan(1e-6);
  }
  // Requests sent after the load call returned see only the new version (allowing for those already in flight).
  expect(traffic.results.slice(afterSwap + 16).every((r) => r.version === '2')).toBe(true);
  await server.waitForLog('session_released');
  expect((await fetch(`${server.url}/v2/repository/index`).then((r) => r.json())) as unknown).toEqual([
    { name: MODEL_NAME, version: '2', state: 'READY', reason: '' },
  ]);
});

test('GIVEN a version whose feature list differs from the manifest WHEN loaded THEN 400 naming the features and the old version keeps serving', async () => {
  const res = await load(MODEL_NAME, { path: join(root, 'bad-features') });
  expect(res.status).toBe(400);
  expect(res.json).toEqual({
    error: expect.stringMatching(
      /feature list .* differs .* missing from the model: country_changed; not in the manifest: is_weekend/,
    ),
  });
  expect(await score()).toMatchObject({ status: 200, version: '2' });
});

test('GIVEN a requested version that the model card does not state WHEN loaded THEN 400 and nothing changes', async () => {
  const res = await load(MODEL_NAME, { version: '5', path: join(root, 'v3') });
  expect(res.status).toBe(400);
  expect(res.json).toEqual({ error: expect.stringMatching(/requested version '5' but model-card.json says '3'/) });
  expect((await load('some-other-model', { path: join(root, 'v3') })).status).toBe(404);
  expect((await load(MODEL_NAME, { path: 7 } as unknown as Record<string, string>)).status).toBe(400);
  expect(await score()).toMatchObject({ status: 200, version: '2' });
});

test('GIVEN steady load WHEN the model dir is replaced and SIGHUP is sent THEN it reloads from disk without failures', async () => {
  // SIGHUP re-reads the server's current model dir, which is now v2's; put v3 there.
  cpSync(join(root, 'v3'), join(root, 'v2'), { recursive: true });
  const traffic = loadLoop(8);
  await traffic.answered(32);
  const swapped = server.waitForLog('model_swapped', 10_000, server.logs.length);
  server.child.kill('SIGHUP');
  await swapped;
  await traffic.answered(traffic.results.length + 8 + 32);
  await traffic.stop();
  expect(traffic.errors).toEqual([]);
  expect(traffic.results.every((r) => r.status === 200)).toBe(true);
  expect(traffic.results.at(-1)?.version).toBe('3');
  expect(server.logs.find((l) => l.event === 'model_swapped' && l.to === '3')).toMatchObject({ from: '2' });
});

test('GIVEN a request mid-upload WHEN SIGTERM arrives THEN it is still answered, then the server exits 0', async () => {
  const body = inferBody([ROW]);
  const half = Math.floor(body.length / 2);
  let finish: () => void = () => {};
  let flushed: () => void = () => {};
  const halfWritten = new Promise<void>((resolve) => {
    flushed = resolve;
  });
  const answered = new Promise<{ status: number; text: string; connection: string | undefined }>((resolve, reject) => {
    const req = request(
      `${server.url}/v2/models/${MODEL_NAME}/infer`,
      { method: 'POST', headers: { 'content-length': Buffer.byteLength(body), 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, connection: res.headers.connection }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, half), () => flushed());
    finish = () => req.end(body.slice(half));
  });
  // The half is on the wire, and a later connection answered: the server has accepted the upload's connection.
  await halfWritten;
  expect((await fetch(`${server.url}/ping`)).status).toBe(200);
  server.child.kill('SIGTERM');
  await server.waitForLog('shutdown_started');
  // While the upload is unfinished the server must keep running and refuse new connections: a real process observed
  // for a bounded moment (there is no event for "has not exited").
  await new Promise((r) => setTimeout(r, 200));
  expect(server.child.exitCode).toBeNull();
  await expect(fetch(`${server.url}/ping`)).rejects.toThrow();
  finish();
  const res = await answered;
  expect(res.status).toBe(200);
  expect(res.connection).toBe('close');
  expect((JSON.parse(res.text) as InferResponse).model_version).toBe('3');
  expect(await server.exited).toBe(0);
  expect(server.logs.map((l) => l.event)).toContain('shutdown_complete');
});
