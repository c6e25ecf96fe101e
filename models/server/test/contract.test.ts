// The model server's HTTP contract: SageMaker routes, Open Inference Protocol v2 routes, and 4xx for bad input.
import { type ClientRequest, request } from 'node:http';
import {
  expectedScore,
  FEATURES,
  type InferResponse,
  inferBody,
  MODEL_NAME,
  makeFixtureModel,
  makeTempDir,
  postJson,
  type RunningServer,
  removeDir,
  spawnServer,
  WIDTH,
} from './support.js';

const ROW_A = [1, 2, 3, 4, 5, 6];
const ROW_B = [0.5, -1, 250, 0, 3, 1];
const MAX_BODY = 64 * 1024;
const MAX_ROWS = 64;

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = makeTempDir('model-server-contract');
  makeFixtureModel(dir, { version: '7' });
  server = await spawnServer([
    '--model-dir',
    dir,
    '--max-body-bytes',
    String(MAX_BODY),
    '--max-rows',
    String(MAX_ROWS),
  ]);
});

afterAll(async () => {
  await server?.stop();
  removeDir(dir);
});

const infer = (path: string, body: string) => postJson(`${server.url}${path}`, body);

/** POSTs to the v2 infer route, letting `send` write the body as it likes (chunks, pauses); resolves the answer. */
function postStreamed(send: (req: ClientRequest) => void): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/v2/models/${MODEL_NAME}/infer`, { method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    send(req);
  });
}

function expectScores(json: unknown, rows: number[][]): void {
  const r = json as InferResponse;
  expect(r.model_name).toBe(MODEL_NAME);
  expect(r.model_version).toBe('7');
  expect(r.outputs).toHaveLength(1);
  const [out] = r.outputs;
  expect(out?.name).toBe('score');
  expect(out?.datatype).toBe('FP32');
  expect(out?.shape).toEqual([rows.length, 1]);
  for (const [i, row] of rows.entries()) {
    expect(Math.abs((out?.data[i] ?? Number.NaN) - expectedScore(row))).toBeLessThan(1e-6);
  }
}

describe('GIVEN a server with a loaded model', () => {
  test('WHEN GET /ping THEN 200 with the model name and version', async () => {
    const res = await fetch(`${server.url}/ping`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'Healthy', model_name: MODEL_NAME, model_version: '7' });
  });

  test('WHEN GET /v2/health/ready and /live THEN both are 200', async () => {
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);
  });

  test('WHEN POST /invocations with a v2 body THEN it scores with the model math', async () => {
    const res = await infer('/invocations', inferBody([ROW_A, ROW_B]));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-amzn-invoked-production-variant')).toBe('AllTraffic');
    expectScores(res.json, [ROW_A, ROW_B]);
  });

  test('WHEN POST /v2/models/{name}/infer with flat data THEN scores match and the id is echoed', async () => {
    const res = await infer(`/v2/models/${MODEL_NAME}/infer`, inferBody([ROW_A, ROW_B], { id: 'req-1' }));
    expect(res.status).toBe(200);
    expect((res.json as InferResponse).id).toBe('req-1');
    expectScores(res.json, [ROW_A, ROW_B]);
  });

  test('WHEN the data is nested one array per row THEN the result equals the flat form', async () => {
    const res = await infer(`/v2/models/${MODEL_NAME}/versions/7/infer`, inferBody([ROW_B, ROW_A], { nested: true }));
    expect(res.status).toBe(200);
    expectScores(res.json, [ROW_B, ROW_A]);
  });

  test('WHEN GET /v2/models/{name} THEN metadata lists versions, inputs, outputs and features', async () => {
    const res = await fetch(`${server.url}/v2/models/${MODEL_NAME}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: MODEL_NAME,
      versions: ['7'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, WIDTH] }],
      outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 1] }],
      parameters: { features: [...FEATURES] },
    });
  });

  test('WHEN GET /v2 and /v2/repository/index THEN server metadata and the loaded model are listed', async () => {
    const meta = (await (await fetch(`${server.url}/v2`)).json()) as { name: string; extensions: string[] };
    expect(meta.name).toBe('aims-model-server');
    expect(meta.extensions).toContain('model_repository');
    const index = await (await fetch(`${server.url}/v2/repository/index`)).json();
    expect(index).toEqual([{ name: MODEL_NAME, version: '7', state: 'READY', reason: '' }]);
  });
});

const good = { name: 'features', shape: [1, WIDTH], datatype: 'FP32', data: ROW_A };
const withInput = (patch: Record<string, unknown>) => JSON.stringify({ inputs: [{ ...good, ...patch }] });

describe('GIVEN malformed requests', () => {
  test.each([
    ['invalid JSON', '{"inputs": [', /not valid JSON/],
    ['a body that is not an object', '[1,2,3]', /must be a JSON object/],
    ['no inputs', '{}', /'inputs' must be an array with exactly one tensor named 'features'/],
    [
      'a wrong input name',
      withInput({ name: 'x' }),
      /unknown input the string "x"; this model takes one input named 'features'/,
    ],
    ['a wrong datatype', withInput({ datatype: 'FP64' }), /must have datatype 'FP32', got the string "FP64"/],
    ['a wrong width', withInput({ shape: [1, WIDTH + 1], data: [...ROW_A, 1] }), /must be 6 features wide/],
    ['a shape of rank 1', withInput({ shape: [WIDTH] }), /shape must be \[rows, 6\]/],
    ['shape vs data length mismatch', withInput({ shape: [2, WIDTH] }), /needs 12 values, got 6/],
    ['nested rows vs shape mismatch', withInput({ shape: [2, WIDTH], data: [ROW_A] }), /does not match data of 1 rows/],
    ['a short nested row', withInput({ data: [[1, 2, 3]] }), /data\[0\] must be an array of 6 numbers, got 3 values/],
    [
      'a string inside a nested row',
      withInput({ shape: [2, WIDTH], data: [ROW_A, [1, 2, 3, '4', 5, 6]] }),
      /data\[1\]\[3\] must be a finite FP32 number, got the string "4"/,
    ],
    [
      'a nested value beyond FP32',
      withInput({ data: [[1, 2, 3, 4, -1e39, 6]] }),
      /data\[0\]\[4\] is -1e\+39, outside the FP32 range/,
    ],
    ['a NaN sent as a string', withInput({ data: [1, 2, 'NaN', 4, 5, 6] }), /data\[2\] must be a finite FP32 number/],
    [
      'Infinity (1e999)',
      withInput({ data: '[1,2,3,4,5,1e999]' }).replace('"[1,2,3,4,5,1e999]"', '[1,2,3,4,5,1e999]'),
      /data\[5\] must be a finite FP32 number, got Infinity/,
    ],
    ['a value beyond FP32', withInput({ data: [1, 2, 3, 4, 5, 1e39] }), /outside the FP32 range/],
    [
      'null in the data',
      withInput({ data: [1, null, 3, 4, 5, 6] }),
      /data\[1\] must be a finite FP32 number, got null/,
    ],
    ['zero rows', withInput({ shape: [0, WIDTH], data: [] }), /at least one row/],
    [
      'too many rows',
      withInput({ shape: [MAX_ROWS + 1, WIDTH], data: new Array((MAX_ROWS + 1) * WIDTH).fill(0) }),
      /at most 64 rows/,
    ],
    [
      'an unknown requested output',
      JSON.stringify({ inputs: [good], outputs: [{ name: 'prob' }] }),
      /unknown requested output/,
    ],
    ['a non-string id', JSON.stringify({ id: 5, inputs: [good] }), /'id' must be a string/],
  ])(
    'WHEN the body has %s THEN 400 with an error message, at both v2 and SageMaker routes',
    async (_what, body, message) => {
      for (const path of [`/v2/models/${MODEL_NAME}/infer`, '/invocations']) {
        const res = await infer(path, body);
        expect(res.status).toBe(400);
        expect(res.json).toEqual({ error: expect.stringMatching(message) });
      }
    },
  );

  test('WHEN the model name is unknown THEN 404 naming the served model', async () => {
    const res = await infer('/v2/models/other-model/infer', inferBody([ROW_A]));
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: "unknown model 'other-model'; this server serves 'fixture-scorer'" });
    expect((await fetch(`${server.url}/v2/models/other-model`)).status).toBe(404);
  });

  test('WHEN the version is not loaded THEN 404', async () => {
    const res = await infer(`/v2/models/${MODEL_NAME}/versions/3/infer`, inferBody([ROW_A]));
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: expect.stringMatching(/version '3' .* is not loaded \(serving '7'\)/) });
  });

  test('WHEN the method is wrong THEN 405 with Allow', async () => {
    const get = await fetch(`${server.url}/invocations`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await get.json()).toEqual({ error: 'method GET is not allowed here; use POST' });
    const post = await fetch(`${server.url}/ping`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  test('WHEN the path is unknown THEN 404 in the error shape', async () => {
    const res = await fetch(`${server.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'no route GET /nope' });
  });

  test('WHEN the body declares more bytes than the limit THEN 413', async () => {
    const rows = Math.ceil(MAX_BODY / (WIDTH * 2)) + 10;
    const body = withInput({ shape: [rows, WIDTH], data: new Array(rows * WIDTH).fill(1) });
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY);
    const res = await infer('/invocations', body);
    expect(res.status).toBe(413);
    expect(res.json).toEqual({ error: `request body exceeds ${MAX_BODY} bytes` });
  });

  test('WHEN a chunked body without Content-Length grows past the limit THEN 413', async () => {
    const { status, text } = await postStreamed((req) => {
      const chunk = '1,'.repeat(8 * 1024);
      for (let i = 0; i < 6; i++) req.write(chunk);
      req.end();
    });
    expect(status).toBe(413);
    expect(JSON.parse(text)).toEqual({ error: `request body exceeds ${MAX_BODY} bytes` });
  });

  test('WHEN the body arrives in several chunks THEN it is scored as if sent at once', async () => {
    const body = inferBody([ROW_A, ROW_B], { id: 'chunked' });
    const cut = [20, 60];
    const { status, text } = await postStreamed((req) => {
      // Separate writes a few ms apart reach the server as separate chunks of a chunked upload.
      req.write(body.slice(0, cut[0]));
      setTimeout(() => {
        req.write(body.slice(cut[0], cut[1]));
        setTimeout(() => req.end(body.slice(cut[1])), 5);
      }, 5);
    });
    expect(status).toBe(200);
    const json = JSON.parse(text) as InferResponse;
    expect(json.id).toBe('chunked');
    expectScores(json, [ROW_A, ROW_B]);
  });

  test('WHEN the id has non-ASCII characters THEN it is echoed and Content-Length counts bytes', async () => {
    const id = 'zahlung-ü-✓-𝄞';
    const res = await fetch(`${server.url}/invocations`, { method: 'POST', body: inferBody([ROW_A], { id }) });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
    const json = JSON.parse(bytes.toString('utf8')) as InferResponse;
    expect(json.id).toBe(id);
    expectScores(json, [ROW_A]);
  });

  test('WHEN bad requests were sent THEN the server still scores correctly (no 5xx, no wedged queue)', async () => {
    const res = await infer('/invocations', inferBody([ROW_A]));
    expect(res.status).toBe(200);
    expectScores(res.json, [ROW_A]);
    expect(server.logs.filter((l) => l.level === 'error')).toEqual([]);
  });
});
