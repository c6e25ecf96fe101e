// The real SageMaker Runtime client, pointed at the local server, invokes it exactly as it would an endpoint.
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import {
  expectedScore,
  type InferResponse,
  inferBody,
  MODEL_NAME,
  makeFixtureModel,
  makeTempDir,
  type RunningServer,
  removeDir,
  spawnServer,
} from './support.js';

let dir: string;
let server: RunningServer;
let client: SageMakerRuntimeClient;

beforeAll(async () => {
  dir = makeTempDir('model-server-sdk');
  makeFixtureModel(dir, { version: '4' });
  server = await spawnServer(['--model-dir', dir, '--variant', 'Blue']);
  client = new SageMakerRuntimeClient({
    region: 'eu-west-1',
    endpoint: server.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
  removeDir(dir);
});

test('GIVEN the local server WHEN InvokeEndpoint is called THEN it returns the scores, content type and variant', async () => {
  const rows = [
    [1, 2, 3, 4, 5, 6],
    [-3, 0.25, 7, 1, 0, 1],
  ];
  const out = await client.send(
    new InvokeEndpointCommand({
      EndpointName: 'aims-dev-fraud-detector',
      ContentType: 'application/json',
      Accept: 'application/json',
      Body: new TextEncoder().encode(inferBody(rows)),
    }),
  );
  expect(out.ContentType).toBe('application/json');
  expect(out.InvokedProductionVariant).toBe('Blue');
  const body = JSON.parse(new TextDecoder().decode(out.Body)) as InferResponse;
  expect(body.model_name).toBe(MODEL_NAME);
  expect(body.model_version).toBe('4');
  for (const [i, row] of rows.entries()) {
    expect(Math.abs((body.outputs[0]?.data[i] ?? Number.NaN) - expectedScore(row))).toBeLessThan(1e-6);
  }
});

test('GIVEN a malformed body WHEN InvokeEndpoint is called THEN the SDK raises ModelError carrying the 400 and its message', async () => {
  const bad = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
  const error = await client
    .send(
      new InvokeEndpointCommand({
        EndpointName: 'aims-dev-fraud-detector',
        ContentType: 'application/json',
        Body: new TextEncoder().encode(bad),
      }),
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(ModelError);
  const modelError = error as ModelError;
  expect(modelError.$metadata.httpStatusCode).toBe(424);
  expect(modelError.OriginalStatusCode).toBe(400);
  expect(JSON.parse(modelError.OriginalMessage ?? '{}')).toEqual({
    error: "input 'features' must be 6 features wide (shape [rows, 6]), got shape [1, 3]",
  });
});
