// The edge on the local stage: authorizer (401/403), API keys (403) and usage-plan throttling (429), one error JSON.

import { decodeJwt } from 'jose';
import { issuerUrl, readLocalUsers } from '../../local/api/index.js';
import { signInAs } from '../../local/api/test/support.js';
import { eventually } from '../support/eventually.js';
import {
  type ApiResponse,
  type Caller,
  call,
  callerFor,
  credentialsOf,
  type E2eStage,
  expectErrorBody,
  mapLimit,
  runId,
  STAGE_HOOK_TIMEOUT_MS,
  startE2eStage,
  transaction,
} from './support.js';

let e2e: E2eStage;
let gateway: Required<Caller>;
const run = runId('auth');

beforeAll(async () => {
  e2e = await startE2eStage('auth');
  gateway = await callerFor(e2e.stage, 'merchant-gateway');
}, STAGE_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await e2e?.close();
}, STAGE_HOOK_TIMEOUT_MS);

/** Invocations so far of the function behind a route: a refused request must never reach it. */
function invocationsBehind(resourcePath: string): number {
  const op = e2e.stage.api.definition.operations.find((o) => o.resourcePath === resourcePath);
  const fn = op ? e2e.stage.runtime.resolve(op.functionArn) : undefined;
  if (!fn) throw new Error(`no function serves ${resourcePath}`);
  return e2e.stage.runtime.stats().find((s) => s.name === fn.name)?.invocations ?? 0;
}

const score = (caller: Caller, id: string): Promise<ApiResponse> =>
  call(e2e.stage, 'POST', '/v1/score', { caller, body: transaction(`${run}-${id}`) });

describe('GIVEN requests the authorizer must refuse', () => {
  it('WHEN there is no token, a malformed one, an expired one or a foreign issuer THEN 401 and the scorer is never invoked', async () => {
    const before = invocationsBehind('/v1/score');
    const expired = await e2e.stage.api.mintToken({ client: 'merchant-gateway', expiresInSeconds: -60 });
    const foreign = await e2e.stage.api.mintToken({
      client: 'merchant-gateway',
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Someone',
    });
    const cases: [string, Caller][] = [
      ['no-token', {}],
      ['garbage', { token: 'not-a-jwt' }],
      ['expired', { token: expired }],
      ['foreign', { token: foreign }],
      ['tampered', { token: `${gateway.token.slice(0, -4)}AAAA` }],
    ];
    for (const [name, caller] of cases) {
      const response = await score(caller, name);
      try {
        expectErrorBody(response, 401, 'unauthorized');
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`);
      }
    }
    expect(invocationsBehind('/v1/score')).toBe(before);
  });

  it('WHEN a valid token lacks the route scope THEN 403 (merchant gateway reading decisions, chargeback feed scoring)', async () => {
    const before = invocationsBehind('/v1/decisions/{id}');
    expectErrorBody(await call(e2e.stage, 'GET', `/v1/decisions/${run}-x`, { caller: gateway }), 403, 'forbidden');
    expect(invocationsBehind('/v1/decisions/{id}')).toBe(before);
    const scoreBefore = invocationsBehind('/v1/score');
    expectErrorBody(await score(await callerFor(e2e.stage, 'chargeback-feed'), 'cb'), 403, 'forbidden');
    expect(invocationsBehind('/v1/score')).toBe(scoreBefore);
  });

  it('WHEN the token comes without x-api-key, with an unknown one or with another client’s THEN it does not matter: served and metered on the token’s own client', async () => {
    const analyst = credentialsOf(e2e.stage, 'analyst-console');
    const analystQuota = e2e.stage.api.remainingQuota(analyst.apiKey);
    const gatewayQuota = Object.values(e2e.stage.api.remainingQuota(gateway.apiKey))[0] as number;
    const cases: [string, Record<string, string>][] = [
      ['no-key', {}],
      ['bad-key', { 'x-api-key': 'x'.repeat(40) }],
      ['other-key', { 'x-api-key': analyst.apiKey }],
    ];
    for (const [name, headers] of cases) {
      const body = transaction(`${run}-${name}`);
      const response = await call(e2e.stage, 'POST', '/v1/score', { caller: { token: gateway.token }, body, headers });
      expect([name, response.status]).toEqual([name, 200]);
    }
    // Before the AUTHORIZER key source a valid token with the analysts' key spent the analysts' quota.
    expect(e2e.stage.api.remainingQuota(analyst.apiKey)).toEqual(analystQuota);
    expect(Object.values(e2e.stage.api.remainingQuota(gateway.apiKey))[0]).toBe(gatewayQuota - cases.length);
  });

  it('WHEN a path is no route of the API THEN the error JSON too', async () => {
    expectErrorBody(await call(e2e.stage, 'GET', '/v1/nothing-here', { caller: gateway }), 404, 'not_found');
  });
});

describe('GIVEN people signing in at the console’s client (authorization code + PKCE) of the console stack', () => {
  const signIn = (username: string) => {
    const client = e2e.stage.api.definition.clients.find((c) => c.flows.includes('code'));
    if (!client) throw new Error('the stage has no code-flow client (the console stack)');
    const password = readLocalUsers(e2e.stage.dataDir).find((u) => u.username === username)?.password;
    if (!password) throw new Error(`no local user '${username}'`);
    return signInAs({
      issuer: issuerUrl(e2e.stage.url, client.poolRef),
      clientId: client.clientId,
      redirectUri: `${e2e.stage.url}/console/`,
      username,
      password,
      scope: 'openid aims/read aims/feedback aims/review aims/admin',
    });
  };

  it('WHEN the analyst reads a decision THEN 200, and approving a model version THEN 403 before the models function runs', async () => {
    const id = `${run}-person`;
    expect((await score(gateway, 'person')).status).toBe(200);
    const { access_token: token } = await signIn('analyst');
    expect(decodeJwt(token)).toMatchObject({ username: 'analyst', 'cognito:groups': ['analysts'] });
    const read = await call(e2e.stage, 'GET', `/v1/decisions/${id}`, { caller: { token } });
    expect(read.status).toBe(200);
    const before = invocationsBehind('/v1/models/{name}/versions/{version}/approve');
    const approve = await call(e2e.stage, 'POST', '/v1/models/fraud-detector/versions/1/approve', {
      caller: { token },
      body: {},
    });
    expectErrorBody(approve, 403, 'forbidden');
    expect(invocationsBehind('/v1/models/{name}/versions/{version}/approve')).toBe(before);
  });
});

describe('GIVEN a client bursting past its usage plan', () => {
  it('WHEN it fires a tight burst THEN the excess is refused with 429 and it is served again once the bucket refills', async () => {
    const client = credentialsOf(e2e.stage, 'merchant-gateway');
    const caller = gateway;
    // Dev usage plan: 50 req/s, burst 100 per key (lib/config/environments.ts), read from the template the stage runs.
    const plan = e2e.stage.api.definition.usagePlans.find((p) =>
      e2e.stage.api.definition.apiKeys.some((k) => k.clientName === client.name && k.usagePlanIds.includes(p.id)),
    );
    const burst = plan?.throttle?.burstLimit ?? 0;
    const rate = plan?.throttle?.rateLimit ?? 0;
    expect(burst).toBeGreaterThan(0);

    // An invalid body is refused by request validation after the key's throttle and before any function runs, so
    // the burst arrives as fast as the API can answer (a served request costs no Lambda invocation).
    const total = burst * 5;
    const started = performance.now();
    const responses = await mapLimit(
      Array.from({ length: total }, (_, i) => i),
      32,
      () => call(e2e.stage, 'POST', '/v1/score', { caller, body: {} }),
    );
    const seconds = (performance.now() - started) / 1000;
    const throttled = responses.filter((r) => r.status === 429);
    const served = responses.filter((r) => r.status !== 429);
    for (const r of throttled) expectErrorBody(r, 429, 'throttled');
    for (const r of served) expectErrorBody(r, 400, 'validation_error');
    expect(throttled.length).toBeGreaterThan(0);
    // A token bucket serves at most its burst plus what refilled while the burst ran.
    expect(served.length).toBeLessThanOrEqual(Math.ceil(burst + rate * seconds) + 1);

    // The bucket refills in real time inside the stage: served again within the time a few tokens take (bounded).
    const servedAgain = await eventually(
      'a call served once the bucket refills',
      async () => {
        const r = await call(e2e.stage, 'POST', '/v1/score', { caller, body: {} });
        return r.status === 429 ? undefined : r;
      },
      Math.ceil((10 * 1000) / rate) + 1_000,
      Math.ceil(1000 / rate),
    );
    expectErrorBody(servedAgain, 400, 'validation_error');
  });
});
