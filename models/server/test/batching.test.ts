// Micro-batching under concurrency: coalesced runs give every request exactly its own rows' scores.
import {
  expectedScore,
  type InferResponse,
  inferBody,
  MODEL_NAME,
  makeFixtureModel,
  makeTempDir,
  postJson,
  type RunningServer,
  randomRows,
  removeDir,
  rng,
  spawnServer,
} from './support.js';

// Both ways of calling ORT (the native session directly, and the public async API it falls back to) must batch
// and score identically.
describe.each<{ path: string; env: Record<string, string> }>([
  { path: 'native', env: {} },
  { path: 'public-api', env: { AIMS_ORT_PUBLIC_API: '1' } },
])('with ORT run through the $path path', ({ path, env }) => {
  let dir: string;
  let server: RunningServer;

  interface ModelStats {
    model_stats: {
      inference_count: number;
      execution_count: number;
      inference_stats: { success: { count: number }; queue: { count: number; ns: number } };
    }[];
  }

  const stats = async (): Promise<ModelStats['model_stats'][number]> => {
    const body = (await (await fetch(`${server.url}/v2/models/${MODEL_NAME}/stats`)).json()) as ModelStats;
    const [first] = body.model_stats;
    if (first === undefined) throw new Error('no model stats');
    return first;
  };

  beforeAll(async () => {
    dir = makeTempDir('model-server-batching');
    // A max batch smaller than the offered load proves the row cap splits batches correctly as well.
    makeFixtureModel(dir, { version: '1', maxBatchSize: 64, maxQueueDelayUs: 2000 });
    server = await spawnServer(['--model-dir', dir], env);
  });

  test('GIVEN the ORT path selected WHEN the model loads THEN the log says which path runs it', async () => {
    const loaded = await server.waitForLog('model_loaded');
    expect(loaded.ortRun).toBe(path);
  });

  afterAll(async () => {
    await server?.stop();
    removeDir(dir);
  });

  test('GIVEN 200 concurrent requests of 1–8 rows WHEN they are micro-batched THEN each gets its own exact scores in fewer ORT runs', async () => {
    const next = rng(42);
    const requests = Array.from({ length: 200 }, (_, i) => ({
      id: `r${i}`,
      rows: randomRows(next, 1 + Math.floor(next() * 8)),
    }));
    const before = await stats();

    const responses = await Promise.all(
      requests.map((r, i) =>
        postJson(
          i % 2 ? `${server.url}/v2/models/${MODEL_NAME}/infer` : `${server.url}/invocations`,
          inferBody(r.rows, { id: r.id, nested: i % 3 === 0 }),
        ),
      ),
    );

    responses.forEach((res, i) => {
      const req = requests[i];
      if (req === undefined) throw new Error('missing request');
      expect(res.status).toBe(200);
      const body = res.json as InferResponse;
      expect(body.id).toBe(req.id);
      const out = body.outputs[0];
      expect(out?.shape).toEqual([req.rows.length, 1]);
      expect(out?.data).toHaveLength(req.rows.length);
      for (const [j, row] of req.rows.entries()) {
        expect(Math.abs((out?.data[j] ?? Number.NaN) - expectedScore(row))).toBeLessThan(1e-6);
      }
    });

    const after = await stats();
    const totalRows = requests.reduce((n, r) => n + r.rows.length, 0);
    const runs = after.execution_count - before.execution_count;
    expect(after.inference_count - before.inference_count).toBe(totalRows);
    expect(after.inference_stats.success.count - before.inference_stats.success.count).toBe(200);
    expect(runs).toBeGreaterThan(0);
    expect(runs).toBeLessThan(200);
    // Batches hold at most 64 rows, so at least ceil(rows / 64) runs are needed.
    expect(runs).toBeGreaterThanOrEqual(Math.ceil(totalRows / 64));
  });

  describe('with a queue delay long enough to see', () => {
    // A 3 s delay makes "did a lone request wait for company?" a question with a wide margin: a request that waited
    // shows at least 3 s of queue time in the server's own stats, one that did not shows micro- to milliseconds.
    const DELAY_US = 3_000_000;
    let lonelyDir: string;
    let lonely: RunningServer;

    beforeAll(async () => {
      lonelyDir = makeTempDir('model-server-lonely');
      makeFixtureModel(lonelyDir, { version: '1', maxBatchSize: 64, maxQueueDelayUs: DELAY_US });
      lonely = await spawnServer(['--model-dir', lonelyDir], env);
    });

    afterAll(async () => {
      await lonely?.stop();
      removeDir(lonelyDir);
    });

    test('GIVEN sequential requests WHEN nothing else is arriving THEN each runs at once as its own batch', async () => {
      const lonelyStats = async () => {
        const body = (await (await fetch(`${lonely.url}/v2/models/${MODEL_NAME}/stats`)).json()) as ModelStats;
        const [first] = body.model_stats;
        if (first === undefined) throw new Error('no model stats');
        return first;
      };
      const before = await lonelyStats();
      for (let i = 0; i < 10; i++) {
        const res = await postJson(`${lonely.url}/invocations`, inferBody([[i, 1, 2, 3, 4, 5]]));
        expect(res.status).toBe(200);
      }
      const after = await lonelyStats();
      expect(after.execution_count - before.execution_count).toBe(10);
      if (path === 'native') {
        // Through the native session a lone request runs in its own event-loop turn and never enters the queue.
        expect(after.inference_stats.queue.ns - before.inference_stats.queue.ns).toBe(0);
      } else {
        // The public API is asynchronous, so every request queues, if only until the end of its turn.
        expect(after.inference_stats.queue.ns - before.inference_stats.queue.ns).toBeGreaterThan(0);
      }
      // The queue delay applies only while other requests are arriving: ten lone requests together waited less than
      // one delay (had any of them waited for company, it alone would account for 3 s).
      expect(after.inference_stats.queue.ns - before.inference_stats.queue.ns).toBeLessThan(DELAY_US * 1000);
    });
  });
});
