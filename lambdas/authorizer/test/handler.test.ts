// The authorizer end to end: a real RSA key pair served as JWKS on 127.0.0.1, tokens signed with jose, verified by
// aws-jwt-verify inside the middy stack; the clients' API keys from a GetApiKeys endpoint on the same server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { ROUTES } from '../../shared/contracts/api.js';
import { lambdaContext, quietPowertools } from '../../shared/test/apigw.js';
import { authorizerDepsFromEnv, createAuthorizerHandler, parseClientIds, parseModelNames } from '../app.js';
import { policyFor } from '../core.js';

quietPowertools();

const ARN_BASE = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/dev';
let server: Server;
let issuer: string;
type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let privateKey: Key;
let otherKey: Key;
let handler: ReturnType<typeof createAuthorizerHandler>;
/** GetApiKeys requests the server saw (query and Authorization header). */
const keyLookups: { customerId: string | null; includeValues: string | null; authorization: string }[] = [];
/** The usage-plan keys by CustomerId (the app client id); client-b has none. */
const KEYS: Record<string, string> = { 'client-a': 'key-of-client-a', 'client-c': 'key-of-client-c' };

// The key lookup signs with the default credential chain, as in Lambda (which sets these variables).
const savedCredentials = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.writeHead(200, { 'content-type': 'application/json' });
    if (url.pathname === '/apigateway/apikeys') {
      const customerId = url.searchParams.get('customerId');
      keyLookups.push({
        customerId,
        includeValues: url.searchParams.get('includeValues'),
        authorization: String(req.headers.authorization),
      });
      const value = KEYS[customerId ?? ''];
      res.end(JSON.stringify({ item: value ? [{ id: `id-${customerId}`, customerId, enabled: true, value }] : [] }));
      return;
    }
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pool`;
  handler = createAuthorizerHandler(
    authorizerDepsFromEnv({
      POWERTOOLS_SERVICE_NAME: 'authorizer',
      POWERTOOLS_METRICS_NAMESPACE: 'aims-test',
      AWS_REGION: 'eu-west-1',
      JWT_ISSUER: issuer,
      JWT_JWKS_URI: `${issuer}/.well-known/jwks.json`,
      JWT_AUDIENCE_CLIENT_IDS: 'client-a, client-b, client-c',
      PREDICT_MODELS: 'merchant-risk, churn-lite',
      AWS_ENDPOINT_URL_API_GATEWAY: `http://127.0.0.1:${(server.address() as AddressInfo).port}/apigateway`,
    }),
  );
});
afterAll(async () => {
  for (const [name, value] of [
    ['AWS_ACCESS_KEY_ID', savedCredentials.id],
    ['AWS_SECRET_ACCESS_KEY', savedCredentials.secret],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function token(claims: Record<string, unknown> = {}, options: { key?: Key; iss?: string; exp?: number } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ token_use: 'access', client_id: 'client-a', scope: 'aims/score aims/read', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(options.iss ?? issuer)
    .setSubject('client-a')
    .setIssuedAt(now - 60)
    .setExpirationTime(options.exp ?? now + 3600)
    .sign(options.key ?? privateKey);
}

function event(authorization: string | undefined, method = 'POST', resource = '/v1/score', path = resource) {
  return {
    type: 'REQUEST',
    methodArn: `${ARN_BASE}/${method}${path}`,
    resource,
    path,
    httpMethod: method,
    headers: authorization === undefined ? {} : { Authorization: authorization },
  } as unknown as APIGatewayRequestAuthorizerEvent;
}

const effectFor = (doc: { Statement: unknown[] }, resource: string) =>
  (doc.Statement as { Effect: string; Resource: string | string[] }[])
    .filter((s) => ([] as string[]).concat(s.Resource).includes(resource))
    .map((s) => s.Effect);

describe('REQUEST authorizer', () => {
  it('GIVEN a valid access token with the route scope WHEN authorizing THEN Allow for the route, context has client and scopes', async () => {
    const out = await handler(event(`Bearer ${await token()}`), lambdaContext('authorizer'));
    expect(out.principalId).toBe('client-a');
    expect(out.context).toEqual({ clientId: 'client-a', scopes: 'aims/score aims/read', principal: 'client-a' });
    // API Gateway meters the request on the client's own key (AUTHORIZER key source): no x-api-key is needed.
    expect(out.usageIdentifierKey).toBe('key-of-client-a');
    expect(effectFor(out.policyDocument, `${ARN_BASE}/POST/v1/score`)).toEqual(['Allow']);
    // Cache-safe: the same policy already covers the token's other routes.
    expect(effectFor(out.policyDocument, `${ARN_BASE}/GET/v1/decisions/*`)).toEqual(['Allow']);
    expect(effectFor(out.policyDocument, `${ARN_BASE}/POST/v1/transactions`)).toEqual(['Deny']);
  });

  it('GIVEN a path parameter route WHEN authorizing THEN it matches by resource template', async () => {
    const out = await handler(
      event(`Bearer ${await token()}`, 'GET', '/v1/decisions/{id}', '/v1/decisions/t-1'),
      lambdaContext('authorizer'),
    );
    expect(effectFor(out.policyDocument, `${ARN_BASE}/GET/v1/decisions/*`)).toEqual(['Allow']);
  });

  it('GIVEN a valid token without the route scope WHEN authorizing THEN a Deny policy for this method (403)', async () => {
    const out = await handler(
      event(`Bearer ${await token({ scope: 'aims/read' })}`, 'POST', '/v1/transactions'),
      lambdaContext('authorizer'),
    );
    expect(effectFor(out.policyDocument, `${ARN_BASE}/POST/v1/transactions`)).toEqual(['Deny', 'Deny']);
    expect(JSON.stringify(out.policyDocument)).not.toMatch(/"Allow"[^\]]*POST\/v1\/transactions/);
  });

  it.each([
    ['missing header', async () => undefined],
    ['not a bearer token', async () => 'Basic dXNlcjpwYXNz'],
    ['expired', async () => `Bearer ${await token({}, { exp: Math.floor(Date.now() / 1000) - 10 })}`],
    [
      'wrong issuer',
      async () => `Bearer ${await token({}, { iss: 'https://cognito-idp.eu-west-1.amazonaws.com/other' })}`,
    ],
    ['signed by another key', async () => `Bearer ${await token({}, { key: otherKey })}`],
    ['an id token', async () => `Bearer ${await token({ token_use: 'id' })}`],
    ['a client not allowed', async () => `Bearer ${await token({ client_id: 'client-z' })}`],
    ['a client without an API key', async () => `Bearer ${await token({ client_id: 'client-b' })}`],
    ['garbage', async () => 'Bearer not.a.jwt'],
  ])('GIVEN %s WHEN authorizing THEN it throws Unauthorized (401)', async (_name, header) => {
    await expect(handler(event(await header()), lambdaContext('authorizer'))).rejects.toThrow(/^Unauthorized$/);
  });

  it('GIVEN the key lookup WHEN clients call repeatedly THEN GetApiKeys is asked once per client, signed with SigV4', async () => {
    const before = keyLookups.length;
    for (let i = 0; i < 3; i++) {
      const out = await handler(event(`Bearer ${await token({ client_id: 'client-c' })}`), lambdaContext('authorizer'));
      expect(out.usageIdentifierKey).toBe('key-of-client-c');
    }
    const asked = keyLookups.slice(before);
    expect(asked.map((l) => [l.customerId, l.includeValues])).toEqual([['client-c', 'true']]);
    expect(asked[0]?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/eu-west-1\/apigateway\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
  });

  it('GIVEN a person (username, cognito:groups) WHEN the token asks for more than the groups grant THEN only the groups’ scopes count and the principal is the user name', async () => {
    const person = await token({
      client_id: 'client-c',
      sub: 'user-sub-1',
      username: 'analyst',
      'cognito:groups': ['analysts'],
      scope: 'openid aims/read aims/review aims/admin',
    });
    const retrain = await handler(
      event(`Bearer ${person}`, 'POST', '/v1/models/{name}/retrain', '/v1/models/fraud-detector/retrain'),
      lambdaContext('authorizer'),
    );
    expect(retrain.context).toEqual({ clientId: 'client-c', scopes: 'aims/read aims/review', principal: 'analyst' });
    // aims/admin is in the token but not in the analysts' group: the admin route is denied, the read routes allowed.
    expect(effectFor(retrain.policyDocument, `${ARN_BASE}/POST/v1/models/fraud-detector/retrain`)).toContain('Deny');
    expect(effectFor(retrain.policyDocument, `${ARN_BASE}/POST/v1/models/fraud-detector/retrain`)).not.toContain(
      'Allow',
    );
    expect(effectFor(retrain.policyDocument, `${ARN_BASE}/GET/v1/decisions/*`)).toEqual(['Allow']);
    const noGroups = await token({ client_id: 'client-c', username: 'nobody', scope: 'aims/read' });
    const out = await handler(
      event(`Bearer ${noGroups}`, 'GET', '/v1/decisions/{id}', '/v1/decisions/t-1'),
      lambdaContext('authorizer'),
    );
    expect(out.context?.scopes).toBe('');
    expect(effectFor(out.policyDocument, `${ARN_BASE}/GET/v1/decisions/*`)).toEqual(['Deny']);
    expect(effectFor(out.policyDocument, `${ARN_BASE}/GET/v1/decisions/t-1`)).toEqual(['Deny']);
  });

  it("GIVEN JWT_AUDIENCE_CLIENT_IDS '*' WHEN parsing THEN any client; an empty list is refused", () => {
    expect(parseClientIds('*')).toBe('*');
    expect(parseClientIds('a,b ,')).toEqual(['a', 'b']);
    expect(() => parseClientIds(' , ')).toThrow(/JWT_AUDIENCE_CLIENT_IDS/);
  });

  it('GIVEN every secured route WHEN building the policy for all scopes THEN each route is allowed exactly once', () => {
    const scopes = new Set(ROUTES.flatMap((r) => (r.scope ? [r.scope] : [])));
    const doc = policyFor(`${ARN_BASE}/POST/v1/score`, scopes);
    expect(doc.Statement).toHaveLength(1);
    expect(doc.Statement[0]).toMatchObject({ Effect: 'Allow' });
    expect((doc.Statement[0] as { Resource: string[] }).Resource).toHaveLength(ROUTES.filter((r) => r.scope).length);
  });

  it('GIVEN PREDICT_MODELS WHEN a token holds one model scope THEN that model’s predict route is allowed and the other model’s denied (403)', async () => {
    const bearer = `Bearer ${await token({ scope: 'aims/predict.merchant-risk' })}`;
    const path = '/v1/models/merchant-risk/predict';
    const ok = await handler(event(bearer, 'POST', path), lambdaContext('authorizer'));
    expect(effectFor(ok.policyDocument, `${ARN_BASE}/POST${path}`)).toEqual(['Allow']);
    expect(effectFor(ok.policyDocument, `${ARN_BASE}/POST/v1/models/churn-lite/predict`)).toEqual(['Deny']);
    // The admin routes of the same model stay the admin scope's.
    expect(effectFor(ok.policyDocument, `${ARN_BASE}/POST/v1/models/*/retrain`)).toEqual(['Deny']);
    const other = await handler(event(bearer, 'POST', '/v1/models/churn-lite/predict'), lambdaContext('authorizer'));
    expect(effectFor(other.policyDocument, `${ARN_BASE}/POST/v1/models/churn-lite/predict`)).toEqual(['Deny', 'Deny']);
  });

  it('GIVEN a model not in PREDICT_MODELS WHEN its predict path is called THEN no route matches and it is denied', async () => {
    const bearer = `Bearer ${await token({ scope: 'aims/predict.fraud-detector' })}`;
    const out = await handler(event(bearer, 'POST', '/v1/models/fraud-detector/predict'), lambdaContext('authorizer'));
    expect(effectFor(out.policyDocument, `${ARN_BASE}/POST/v1/models/fraud-detector/predict`)).toEqual(['Deny']);
  });

  it('GIVEN PREDICT_MODELS WHEN parsing THEN model names, empty for none; a bad name is refused', () => {
    expect(parseModelNames('')).toEqual([]);
    expect(parseModelNames('merchant-risk, a2 ,')).toEqual(['merchant-risk', 'a2']);
    expect(() => parseModelNames('Merchant Risk')).toThrow(/model name/);
  });
});
