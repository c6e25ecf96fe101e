// The shared HTTP stack and error mapper: status per domain error, validation details, path params, env errors.
import { z } from 'zod';
import { CommonEnv, envInt, parseEnv } from '../env.js';
import { ConflictError, ErrorBody, NotFoundError, toErrorResponse, UpstreamUnavailableError } from '../errors.js';
import { HttpReply, httpHandler } from '../http.js';
import { createPowertools } from '../powertools.js';
import { apiEvent, lambdaContext, quietPowertools } from './apigw.js';

quietPowertools();
const powertools = createPowertools({ serviceName: 'test' });

describe('error mapper', () => {
  it.each([
    [new NotFoundError('no such thing'), 404, 'not_found'],
    [new ConflictError('taken'), 409, 'conflict'],
    [new UpstreamUnavailableError('down'), 503, 'upstream_unavailable'],
    [Object.assign(new Error('x'), { name: 'IdempotencyValidationError' }), 409, 'conflict'],
    [Object.assign(new Error('x'), { name: 'ThrottlingException' }), 503, 'upstream_unavailable'],
    [new Error('db password is hunter2'), 500, 'internal_error'],
    ['a string', 500, 'internal_error'],
  ])('GIVEN %p WHEN mapped THEN %i %s in the one error shape', (err, status, code) => {
    const res = toErrorResponse(err, 'r-1');
    expect(res.statusCode).toBe(status);
    const body = ErrorBody.parse(JSON.parse(res.body));
    expect(body).toMatchObject({ error: { code }, requestId: 'r-1' });
    expect(res.body).not.toMatch(/hunter2/);
  });
});

describe('httpHandler', () => {
  const handler = httpHandler(
    {
      powertools,
      body: z.object({ n: z.number().int() }).strict(),
      path: z.object({ id: z.string().min(2) }),
      maxBodyBytes: 64,
    },
    async ({ body, path, caller }) => {
      if (body.n === 0) throw new NotFoundError(`nothing at ${path.id}`);
      if (body.n === 1) return new HttpReply(202, { accepted: true }, { 'retry-after': '5' });
      return { id: path.id, doubled: body.n * 2, client: caller.clientId ?? null };
    },
  );
  const call = (body: unknown, id = 'ab', rawBody?: string) =>
    handler(
      apiEvent({ body, rawBody, pathParameters: { id }, authorizer: { clientId: 'cl', scopes: 'aims/read' } }),
      lambdaContext(),
    );

  it('GIVEN a valid request WHEN handled THEN 200 JSON with typed input and the caller from the authorizer', async () => {
    const res = await call({ n: 21 });
    expect(res).toMatchObject({
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' },
    });
    expect(JSON.parse(res.body)).toEqual({ id: 'ab', doubled: 42, client: 'cl' });
  });

  it('GIVEN an HttpReply WHEN handled THEN its status and headers are used', async () => {
    const res = await call({ n: 1 });
    expect(res.statusCode).toBe(202);
    expect(res.headers?.['retry-after']).toBe('5');
  });

  it('GIVEN bad path, bad body, too large a body or a domain error WHEN handled THEN the mapped status and code', async () => {
    const cases = [
      [await call({ n: 2 }, 'a'), 400, 'validation_error'],
      [await call({ n: 1.5, extra: 1 }), 400, 'validation_error'],
      [await call(undefined, 'ab', JSON.stringify({ n: 1, pad: 'x'.repeat(100) })), 413, 'payload_too_large'],
      [await call({ n: 0 }), 404, 'not_found'],
    ] as const;
    for (const [res, status, code] of cases) {
      expect(res.statusCode).toBe(status);
      expect(ErrorBody.parse(JSON.parse(res.body)).error.code).toBe(code);
    }
    const details = ErrorBody.parse(JSON.parse((await call({ n: 1.5, extra: 1 })).body)).error.details as {
      path: string;
    }[];
    expect(details.map((d) => d.path).sort()).toEqual(['', 'n']);
  });
});

describe('parseEnv', () => {
  it('GIVEN missing and invalid variables WHEN parsing THEN one error names each of them', () => {
    const schema = CommonEnv.extend({ MODEL_TIMEOUT_MS: envInt() });
    expect(() =>
      parseEnv(schema, { POWERTOOLS_SERVICE_NAME: 's', AWS_REGION: 'eu-west-1', MODEL_TIMEOUT_MS: 'soon' }),
    ).toThrow(/POWERTOOLS_METRICS_NAMESPACE is not set; MODEL_TIMEOUT_MS is invalid/);
    expect(
      parseEnv(schema, {
        POWERTOOLS_SERVICE_NAME: 's',
        POWERTOOLS_METRICS_NAMESPACE: 'n',
        AWS_REGION: 'r',
        MODEL_TIMEOUT_MS: '250',
      }).MODEL_TIMEOUT_MS,
    ).toBe(250);
  });
});
