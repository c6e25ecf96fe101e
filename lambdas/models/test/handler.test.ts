// The models API through its middy stack: routing by resource, path and body validation, statuses, the error JSON.
import { ErrorBody } from '../../shared/errors.js';
import { createPowertools } from '../../shared/powertools.js';
import { apiEvent, lambdaContext, quietPowertools } from '../../shared/test/apigw.js';
import { createModelsHandler } from '../app.js';
import { FRAUD, prefixOf, world } from './memory.js';

quietPowertools();

const setup = (mode: 'auto' | 'manual' = 'manual') => {
  const ports = world(mode);
  ports.registry.register(FRAUD.name, 1, 'Approved');
  ports.registry.register(FRAUD.name, 2, 'Approved');
  ports.pointers.values.set(FRAUD.championParameter, prefixOf(FRAUD.name, 'v2'));
  const handler = createModelsHandler({ powertools: createPowertools({ serviceName: 'models' }), ports });
  const call = async (
    method: string,
    resource: string,
    pathParameters?: Record<string, string>,
    body?: unknown,
    rawBody?: string,
  ) => {
    const res = await handler(
      apiEvent({
        method,
        resource,
        ...(pathParameters ? { pathParameters } : {}),
        ...(body !== undefined ? { body } : {}),
        ...(rawBody !== undefined ? { rawBody } : {}),
        authorizer: { clientId: 'operator', scopes: 'aims/admin' },
      }),
      lambdaContext('models'),
    );
    return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, unknown> };
  };
  return { ports, call };
};

describe('GIVEN the models handler', () => {
  test('WHEN GET /v1/models THEN 200 with the models', async () => {
    const { call } = setup();
    const res = await call('GET', '/v1/models');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ models: [{ name: FRAUD.name, championVersion: 'v2' }] });
  });

  test('WHEN POST retrain THEN 202 with the execution id; a second one while it runs THEN 409 error JSON', async () => {
    const { call } = setup();
    const first = await call('POST', '/v1/models/{name}/retrain', { name: FRAUD.name }, { reason: 'drift seen' });
    expect(first.status).toBe(202);
    expect(first.json).toMatchObject({ executionId: expect.stringMatching(/^api-/), status: 'RUNNING' });
    const second = await call('POST', '/v1/models/{name}/retrain', { name: FRAUD.name }, {});
    expect(second.status).toBe(409);
    expect(ErrorBody.parse(second.json)).toMatchObject({ error: { code: 'conflict' }, requestId: 'req-1' });
    const model = await call('GET', '/v1/models/{name}', { name: FRAUD.name });
    expect(model.status).toBe(200);
    expect(model.json.retraining).toMatchObject({ executionId: first.json.executionId, status: 'RUNNING' });
  });

  test('WHEN approve is posted in a manual environment with a parked version THEN 202 and the token is released', async () => {
    const { ports, call } = setup('manual');
    ports.approvals.parked = {
      taskToken: 't',
      version: 'v3',
      modelPackageArn: 'arn:aws:sagemaker:eu-west-1:1:model-package/g/3',
      executionArn: 'arn:e',
    };
    const res = await call(
      'POST',
      '/v1/models/{name}/versions/{version}/approve',
      { name: FRAUD.name, version: 'v3' },
      {},
    );
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ decision: 'approved', version: 'v3' });
    expect(JSON.parse(ports.executions.tokens[0]?.payload ?? '{}')).toMatchObject({ approvedBy: 'operator' });
  });

  test('WHEN approve is posted where approval is automatic THEN 409 with a clear message', async () => {
    const { call } = setup('auto');
    const res = await call(
      'POST',
      '/v1/models/{name}/versions/{version}/approve',
      { name: FRAUD.name, version: 'v3' },
      {},
    );
    expect(res.status).toBe(409);
    expect((res.json.error as { message: string }).message).toMatch(/automatic in this environment/);
  });

  test('WHEN rollback is posted THEN 202 from v2 to v1', async () => {
    const { call } = setup();
    const res = await call('POST', '/v1/models/{name}/rollback', { name: FRAUD.name }, {});
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ from: { version: 'v2' }, to: { version: 'v1' } });
  });

  test('WHEN the drift status is asked before any check ran THEN 404 error JSON', async () => {
    const { call } = setup();
    const res = await call('GET', '/v1/models/{name}/drift', { name: FRAUD.name });
    expect(res.status).toBe(404);
    expect(ErrorBody.parse(res.json).error.code).toBe('not_found');
  });

  test.each([
    ['an unknown model', 'GET', '/v1/models/{name}', { name: 'nope' }, undefined, undefined, 404, 'not_found'],
    [
      'a malformed name',
      'GET',
      '/v1/models/{name}',
      { name: 'Bad Name!' },
      undefined,
      undefined,
      400,
      'validation_error',
    ],
    [
      'an unknown body field',
      'POST',
      '/v1/models/{name}/rollback',
      { name: FRAUD.name },
      { force: true },
      undefined,
      400,
      'validation_error',
    ],
    [
      'malformed JSON',
      'POST',
      '/v1/models/{name}/retrain',
      { name: FRAUD.name },
      undefined,
      '{',
      400,
      'validation_error',
    ],
    ['an unknown route', 'DELETE', '/v1/models/{name}', { name: FRAUD.name }, undefined, undefined, 404, 'not_found'],
  ])(
    'WHEN called with %s THEN %s answers the error JSON',
    async (_c, method, resource, params, body, raw, status, code) => {
      const { call } = setup();
      const res = await call(method, resource, params, body, raw);
      expect(res.status).toBe(status);
      expect(ErrorBody.parse(res.json).error.code).toBe(code);
    },
  );

  test('WHEN a dependency fails unexpectedly THEN 500 internal_error reveals nothing internal', async () => {
    const { ports, call } = setup();
    ports.pointers.values.clear();
    const res = await call('GET', '/v1/models');
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: { code: 'internal_error', message: 'internal error' }, requestId: 'req-1' });
  });
});
