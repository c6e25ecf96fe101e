// Pure parts of the local API: IAM policy evaluation, routing, gateway responses, validation, throttling windows.

import type { OperationSpec } from '../model.js';
import { evaluatePolicy, iamWildcardMatch } from '../policy.js';
import { renderGatewayResponse } from '../responses.js';
import { Router } from '../router.js';
import { quotaWindow, TokenBucket } from '../usage.js';
import { RequestValidator, toDraft04 } from '../validation.js';

const ARN = 'arn:aws:execute-api:eu-west-1:111111111111:abc/api/GET/v1/decisions/t-1';
const op = (method: string, resourcePath: string, extra: Partial<OperationSpec> = {}): OperationSpec => ({
  method,
  resourcePath,
  functionArn: `fn:${method}${resourcePath}`,
  apiKeyRequired: false,
  parameters: [],
  bodySchemas: {},
  bodyRequired: false,
  ...extra,
});

describe('evaluatePolicy', () => {
  const allow = (Resource: string | string[]) => ({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource });
  const deny = (Resource: string | string[]) => ({ Effect: 'Deny', Action: 'execute-api:Invoke', Resource });

  it('GIVEN an Allow with a * path parameter WHEN the ARN matches THEN allow', () => {
    expect(
      evaluatePolicy(
        { Statement: [allow('arn:aws:execute-api:eu-west-1:111111111111:abc/api/GET/v1/decisions/*')] },
        ARN,
      ),
    ).toBe('allow');
  });
  it('GIVEN Allow * and a matching Deny THEN the explicit Deny wins', () => {
    expect(evaluatePolicy({ Statement: [allow('*'), deny(ARN)] }, ARN)).toBe('deny');
  });
  it('GIVEN only statements for other routes THEN it is an implicit deny', () => {
    expect(evaluatePolicy({ Statement: [allow(ARN.replace('GET', 'POST'))] }, ARN)).toBe('implicit-deny');
  });
  it('GIVEN ? and case-insensitive actions THEN they match as IAM does', () => {
    expect(iamWildcardMatch('a?c', 'abc')).toBe(true);
    expect(iamWildcardMatch('a?c', 'abbc')).toBe(false);
    expect(iamWildcardMatch('A*', 'abc')).toBe(false);
    expect(evaluatePolicy({ Statement: { Effect: 'Allow', Action: ['Execute-API:*'], Resource: [ARN] } }, ARN)).toBe(
      'allow',
    );
  });
  it('GIVEN a malformed document THEN it throws', () => {
    expect(() => evaluatePolicy(undefined, ARN)).toThrow(/policyDocument/);
    expect(() => evaluatePolicy({ Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] }, ARN)).toThrow(
      /Effect/,
    );
  });
});

describe('Router', () => {
  const router = new Router([
    op('GET', '/v1/decisions/{id}'),
    op('GET', '/v1/decisions/latest'),
    op('ANY', '/files/{proxy+}'),
    op('POST', '/files/{proxy+}'),
  ]);
  it('GIVEN a literal and a parameter resource THEN the literal wins', () => {
    expect(router.match('GET', '/v1/decisions/latest')?.operation.resourcePath).toBe('/v1/decisions/latest');
    expect(router.match('GET', '/v1/decisions/t%2D9/')?.pathParameters).toEqual({ id: 't-9' });
  });
  it('GIVEN a greedy proxy THEN it takes the rest of the path and an explicit method beats ANY', () => {
    expect(router.match('GET', '/files/a/b/c')?.pathParameters).toEqual({ proxy: 'a/b/c' });
    expect(router.match('POST', '/files/a')?.operation.method).toBe('POST');
  });
  it('GIVEN an unknown method or path THEN there is no match', () => {
    expect(router.match('DELETE', '/v1/decisions/x')).toBeUndefined();
    expect(router.match('GET', '/v1/decisions/a/b')).toBeUndefined();
  });
});

describe('renderGatewayResponse', () => {
  const responses = {
    BAD_REQUEST_BODY: {
      statusCode: 400,
      headers: { 'Content-Type': 'application/json' },
      templates: {
        'application/json':
          // The formal VTL reference `${context.requestId}` must render too.
          '{"error":{"message":$context.error.messageString,"details":[{"message":"$context.error.validationErrorString"}]},"requestId":"$' +
          '{context.requestId}"}',
      },
    },
    DEFAULT_4XX: {
      headers: { 'X-Extra': 'yes' },
      templates: { 'application/json': '{"m":$context.error.messageString}' },
    },
  };
  it('GIVEN quotes in the messages WHEN rendered THEN the body is valid JSON with both values', () => {
    const r = renderGatewayResponse(
      responses,
      { type: 'BAD_REQUEST_BODY', message: 'Invalid "body"', validationErrorString: '[missing ("a")]' },
      { requestId: 'r-1' },
    );
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({
      error: { message: 'Invalid "body"', details: [{ message: '[missing ("a")]' }] },
      requestId: 'r-1',
    });
    expect(r.headers['x-extra']).toBe('yes');
  });
  it('GIVEN a type without its own response THEN DEFAULT_4XX renders with the type status', () => {
    const r = renderGatewayResponse(responses, { type: 'THROTTLED', message: 'Too Many Requests' }, { requestId: 'r' });
    expect([r.status, JSON.parse(r.body)]).toEqual([429, { m: 'Too Many Requests' }]);
    expect(r.headers['x-amzn-errortype']).toBe('TooManyRequestsException');
  });
});

describe('RequestValidator', () => {
  const body = {
    components: {
      schemas: {
        Thing: {
          type: 'object',
          properties: {
            at: { type: 'string', format: 'date-time' },
            kind: { type: 'string', enum: ['a', 'b'] },
            note: { type: 'string', nullable: true },
            amount: { type: 'number', minimum: 0, exclusiveMinimum: true },
          },
          required: ['at', 'kind'],
          additionalProperties: false,
        },
      },
    },
  };
  const validator = new RequestValidator(body);
  const post = op('POST', '/things', {
    bodySchemas: { 'application/json': { $ref: '#/components/schemas/Thing' } },
    bodyRequired: true,
  });

  it('GIVEN OpenAPI nullable THEN draft-04 gets a null type', () => {
    expect(toDraft04({ type: 'string', nullable: true })).toEqual({ type: ['string', 'null'] });
  });
  it('GIVEN a valid body (null where nullable) THEN it passes', () => {
    const r = validator.validateBody(
      post,
      'application/json',
      JSON.stringify({ at: '2026-01-01T00:00:00Z', kind: 'a', note: null }),
    );
    expect(r).toEqual({ ok: true, errorString: '' });
  });
  it('GIVEN missing, extra, enum, format and exclusiveMinimum problems THEN each is listed', () => {
    const r = validator.validateBody(post, 'application/json', JSON.stringify({ at: 'yesterday', x: 1, amount: 0 }));
    expect(r.ok).toBe(false);
    expect(r.errorString).toMatch(/^\[.*\]$/);
    for (const part of [/missing required properties \(\["kind"\]\)/, /"x"/, /date-time/, /\/amount/]) {
      expect(r.errorString).toMatch(part);
    }
    const wrongKind = JSON.stringify({ at: '2026-01-01T00:00:00Z', kind: 'z' });
    expect(validator.validateBody(post, 'application/json', wrongKind).errorString).toMatch(
      /\/kind value not found in enum/,
    );
  });
  it('GIVEN invalid JSON or an empty required body THEN it fails', () => {
    expect(validator.validateBody(post, 'application/json', '{').errorString).toMatch(/Invalid JSON/);
    expect(validator.validateBody(post, 'application/json', '').ok).toBe(false);
  });
});

describe('usage limits', () => {
  it('GIVEN a bucket of burst 2 at 1/s THEN the third immediate take fails and one more succeeds a second later', () => {
    let now = 0;
    const bucket = new TokenBucket(1, 2, () => now);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
    now = 1000;
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
  });
  it('GIVEN dates THEN quota windows are UTC days, Monday weeks and months', () => {
    const at = new Date('2026-11-25T23:30:00Z'); // a Wednesday
    expect(quotaWindow('DAY', at)).toBe('2026-11-25');
    expect(quotaWindow('WEEK', at)).toBe('W2026-11-23');
    expect(quotaWindow('MONTH', at)).toBe('2026-11');
  });
});
