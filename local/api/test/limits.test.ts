// Usage-plan limits, persistence across restarts and failure mapping, with a scripted authorizer and integrations.
import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { InvokeResult, LocalTemplate } from '../../types.js';
import { type LocalApi, localCredentials, startLocalApi } from '../index.js';
import { devTemplate, freePort, RoutingInvoker, tempDataDir, withProperties } from './support.js';

const allowAll = (event: Record<string, unknown>): InvokeResult => ({
  ok: true,
  durationMs: 0,
  payload: {
    principalId: 'p',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: String(event.methodArn) }],
    },
    context: { clientId: 'c' },
  },
});

describe('local API limits and failures', () => {
  let dataDir: string;
  let port: number;
  let template: LocalTemplate;
  let api: LocalApi | undefined;
  // What the next authorizer / integration call answers.
  let authorizer: (event: Record<string, unknown>) => InvokeResult | Promise<InvokeResult> = allowAll;
  let integration: () => InvokeResult | Promise<InvokeResult> = () => ({
    ok: true,
    durationMs: 0,
    payload: {
      statusCode: 201,
      body: 'ok',
      headers: { 'x-a': '1' },
      multiValueHeaders: { 'set-cookie': ['a=1', 'b=2'] },
    },
  });
  // The scripted authorizer names the merchant gateway's key, as the real one names the token's client's key.
  const invoker = new RoutingInvoker(async (target, event) => {
    if (!target.includes('Authorizer')) return integration();
    const result = await authorizer(event);
    return result.ok ? { ...result, payload: { ...(result.payload as object), usageIdentifierKey: key() } } : result;
  });

  const start = async (enforceLimits = true) => {
    api = await startLocalApi({ template, invoker, dataDir, port, enforceLimits, integrationTimeoutMs: 300 });
    return api;
  };
  const key = () => localCredentials(dataDir).clients.find((c) => c.name === 'merchant-gateway')?.apiKey as string;
  // A fresh connection per request: this suite restarts the server on the same port, and a pooled keep-alive
  // socket of the previous server would fail the first request after a restart.
  const post = (path: string, headers: Record<string, string>, body: string) =>
    new Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }>(
      (resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), headers: res.headers }),
          );
        });
        req.on('error', reject);
        req.end(body);
      },
    );
  const ingest = (authorization = 'Bearer a') =>
    post(
      '/v1/transactions',
      { authorization, 'content-type': 'application/json' },
      JSON.stringify({
        transactions: [
          {
            transactionId: 't',
            customerId: 'c',
            merchantId: 'm',
            merchantCategory: 'fuel',
            amount: 1,
            currency: 'EUR',
            country: 'DE',
            channel: 'online',
            timestamp: '2026-11-23T10:00:00Z',
          },
        ],
      }),
    );
  const errorOf = (res: { status: number; text: string }) => [
    res.status,
    (JSON.parse(res.text) as { error: unknown }).error,
  ];

  beforeAll(async () => {
    dataDir = tempDataDir();
    port = await freePort();
    // Tiny limits on the template's own usage plan so they are reached in a few requests.
    template = withProperties(devTemplate(`http://127.0.0.1:${port}`), (r) =>
      r.type === 'AWS::ApiGateway::UsagePlan'
        ? { ...r.properties, Throttle: { RateLimit: 0.001, BurstLimit: 3 }, Quota: { Limit: 4, Period: 'DAY' } }
        : undefined,
    );
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
    authorizer = allowAll;
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('GIVEN a plan burst of 3 THEN the 4th request is THROTTLED; after a restart the quota of 4 is QUOTA_EXCEEDED', async () => {
    await start();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await ingest()).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect(await errorOf(await ingest())).toEqual([429, { code: 'throttled', message: 'Too Many Requests' }]);
    const firstKey = key();
    const secret = localCredentials(dataDir).clients[0]?.clientSecret;
    await api?.close();
    // A restart refills the bucket but keeps the quota count (3 used) and the generated key and secrets.
    api = await start();
    expect([key(), localCredentials(dataDir).clients[0]?.clientSecret]).toEqual([firstKey, secret]);
    expect((await ingest()).status).toBe(201);
    expect(await errorOf(await ingest())).toEqual([429, { code: 'throttled', message: 'Limit Exceeded' }]);
    expect(Object.values(api?.remainingQuota(key()) ?? {})).toEqual([0]);
    // Counts reach the file in the background and at close.
    await api?.close();
    api = undefined;
    const usage = JSON.parse(readFileSync(join(dataDir, 'api', 'usage.json'), 'utf8')) as {
      counts: Record<string, { used: number }>;
    };
    expect(Object.values(usage.counts).map((c) => c.used)).toEqual([4]);
  });

  it('GIVEN limits off THEN the proxy response passes through with its headers', async () => {
    await start(false);
    const res = await ingest();
    expect([res.status, res.text, res.headers['x-a'], res.headers['set-cookie']]).toEqual([
      201,
      'ok',
      '1',
      ['a=1', 'b=2'],
    ]);
  });

  it('GIVEN authorizer failures THEN Unauthorized → 401, any other error or a bad policy → 500', async () => {
    await start(false);
    authorizer = () => ({ ok: false, errorType: 'Error', errorMessage: 'Unauthorized', durationMs: 0 });
    expect((await errorOf(await ingest('Bearer b')))[0]).toBe(401);
    authorizer = () => ({ ok: false, errorType: 'TypeError', errorMessage: 'boom', durationMs: 0 });
    expect(await errorOf(await ingest('Bearer c'))).toEqual([
      500,
      { code: 'internal_error', message: 'Authorizer error' },
    ]);
    authorizer = () => ({
      ok: true,
      durationMs: 0,
      payload: { principalId: 'p', policyDocument: { Statement: [{ Effect: 'Perhaps' }] } },
    });
    expect((await errorOf(await ingest('Bearer d')))[0]).toBe(500);
    authorizer = (e) => ({
      ...allowAll(e),
      payload: { ...(allowAll(e) as { payload: object }).payload, context: { nested: { a: 1 } } },
    });
    expect((await errorOf(await ingest('Bearer e')))[0]).toBe(500);
    authorizer = () => ({ ok: true, durationMs: 0, payload: { principalId: 'p', policyDocument: { Statement: [] } } });
    expect(await errorOf(await ingest('Bearer f'))).toEqual([
      403,
      { code: 'forbidden', message: 'User is not authorized to access this resource' },
    ]);
  });

  it('GIVEN integration failures THEN a function error or malformed response → 502, a slow function → 504', async () => {
    await start(false);
    integration = () => ({ ok: false, errorType: 'Error', errorMessage: 'crash', durationMs: 1 });
    expect(await errorOf(await ingest())).toEqual([502, { code: 'internal_error', message: 'Internal server error' }]);
    integration = () => ({ ok: true, durationMs: 1, payload: { statusCode: 'two hundred' } });
    expect((await errorOf(await ingest()))[0]).toBe(502);
    // The function answers only once the gateway has given up on it (its 300 ms integration timeout is the subject).
    let answer: () => void = () => {};
    integration = () =>
      new Promise((resolve) => {
        answer = () => resolve({ ok: true, durationMs: 500, payload: {} });
      });
    expect((await errorOf(await ingest()))[0]).toBe(504);
    answer();
  });
});
