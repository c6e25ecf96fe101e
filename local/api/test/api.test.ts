// The local API end to end over HTTP: the dev template's routes, the REAL authorizer bundle (in the local Lambda
// runtime's worker), the local issuer, API keys, validation and gateway responses. Integrations are an echo fake.
import { rmSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { type LambdaRuntime, startLambdaRuntime } from '../../lambda/runtime.js';
import type { LocalTemplate } from '../../types.js';
import { apiGatewayEndpoint, type LocalApi, localCredentials, startLocalApi } from '../index.js';
import {
  closedEndpoints,
  devTemplate,
  echo,
  freePort,
  getToken,
  RoutingInvoker,
  tempDataDir,
  transaction,
} from './support.js';

interface ClientCreds {
  clientId: string;
  clientSecret: string;
  apiKey?: string;
  tokenUrl: string;
}

describe('local API with the real authorizer', () => {
  let dataDir: string;
  let template: LocalTemplate;
  let runtime: LambdaRuntime;
  let invoker: RoutingInvoker;
  let api: LocalApi;
  let merchant: ClientCreds;
  let analyst: ClientCreds;
  let merchantToken: string;

  const call = (path: string, init: RequestInit & { token?: string; key?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    if (init.key) headers.set('x-api-key', init.key);
    if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${api.url}${path}`, { ...init, headers });
  };
  const score = (token: string | undefined, key: string | undefined, body: unknown = transaction()) =>
    call('/v1/score', {
      method: 'POST',
      body: JSON.stringify(body),
      ...(token ? { token } : {}),
      ...(key ? { key } : {}),
    });

  beforeAll(async () => {
    dataDir = tempDataDir();
    const port = await freePort();
    template = devTemplate(`http://127.0.0.1:${port}`);
    runtime = await startLambdaRuntime({
      template,
      endpoints: closedEndpoints(),
      dataDir,
      environmentOverrides: { AWS_ENDPOINT_URL_API_GATEWAY: apiGatewayEndpoint(`http://127.0.0.1:${port}`) },
    });
    invoker = new RoutingInvoker(echo, { invoker: runtime, targets: (t) => t.includes('Authorizer') });
    api = await startLocalApi({ template, invoker, dataDir, port });
    const creds = localCredentials(dataDir);
    merchant = creds.clients.find((c) => c.name === 'merchant-gateway') as ClientCreds;
    analyst = creds.clients.find((c) => c.name === 'analyst-console') as ClientCreds;
    merchantToken = await getToken(merchant.tokenUrl, merchant.clientId, merchant.clientSecret);
  });

  afterAll(async () => {
    await api?.close();
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('GIVEN the template THEN every client has a secret, its scopes and its linked API key', () => {
    const creds = localCredentials(dataDir);
    expect(creds.clients.map((c) => c.name).sort()).toEqual([
      'analyst-console',
      'chargeback-feed',
      'merchant-gateway',
      'operator',
      'risk-ops',
    ]);
    expect(creds.clients.find((c) => c.name === 'risk-ops')?.scopes).toEqual(['aims/predict.merchant-risk']);
    for (const c of creds.clients) expect(c.apiKey).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(merchant).toMatchObject({ scopes: ['aims/score', 'aims/ingest'] });
    expect(creds.tokenUrl).toBe(`${api.url}/cognito/${template.ofType('AWS::Cognito::UserPool')[0]?.ref}/oauth2/token`);
  });

  it('GIVEN a client_credentials token THEN it verifies against the JWKS with Cognito access-token claims', async () => {
    const issuer = template.ofType('AWS::Cognito::UserPool')[0]?.attributes.ProviderURL as string;
    const jwks = (await (await fetch(`${issuer}/.well-known/jwks.json`)).json()) as Parameters<
      typeof createLocalJWKSet
    >[0];
    const { payload, protectedHeader } = await jwtVerify(merchantToken, createLocalJWKSet(jwks), { issuer });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: jwks.keys[0]?.kid });
    expect(payload).toMatchObject({
      token_use: 'access',
      client_id: merchant.clientId,
      scope: 'aims/score aims/ingest',
    });
    expect(typeof payload.jti).toBe('string');
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it('GIVEN bad client credentials or a scope the client lacks THEN the token endpoint refuses', async () => {
    const post = (body: Record<string, string>) =>
      fetch(merchant.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body),
      });
    const wrong = await post({ grant_type: 'client_credentials', client_id: merchant.clientId, client_secret: 'nope' });
    expect([wrong.status, await wrong.json()]).toEqual([401, { error: 'invalid_client' }]);
    const scope = await post({
      ...{ grant_type: 'client_credentials' },
      client_id: merchant.clientId,
      client_secret: merchant.clientSecret,
      scope: 'aims/admin',
    });
    expect([scope.status, await scope.json()]).toEqual([400, { error: 'invalid_scope' }]);
    const narrowed = await getToken(merchant.tokenUrl, merchant.clientId, merchant.clientSecret, 'aims/ingest');
    expect(JSON.parse(Buffer.from(narrowed.split('.')[1] as string, 'base64url').toString()).scope).toBe('aims/ingest');
  });

  it('GIVEN a valid token and no x-api-key WHEN POST /v1/score THEN the integration gets a REST proxy event with the authorizer context and the client’s own key', async () => {
    const res = await score(merchantToken, undefined);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const event = (await res.json()) as { body: string };
    expect(event).toMatchObject({
      resource: '/v1/score',
      path: '/v1/score',
      httpMethod: 'POST',
      pathParameters: null,
      queryStringParameters: null,
      isBase64Encoded: false,
      requestContext: {
        stage: 'api',
        resourcePath: '/v1/score',
        path: '/api/v1/score',
        identity: { sourceIp: '127.0.0.1', apiKey: merchant.apiKey },
        authorizer: {
          clientId: merchant.clientId,
          scopes: 'aims/score aims/ingest',
          principal: merchant.clientId,
          principalId: merchant.clientId,
        },
      },
    });
    expect(JSON.parse(event.body)).toEqual(transaction());
    const integration = invoker.callsTo('ScoreFunction').at(-1);
    // The integration invokes the score function's live alias (where provisioned concurrency lives on AWS), which the
    // local stage resolves to the score function itself.
    const scoreFn = template.ofType('AWS::Lambda::Function').find((f) => f.logicalId.startsWith('ScoreFunction'));
    expect(integration?.target).toBe(`${scoreFn?.attributes.Arn}:live`);
    expect(template.byArn(integration?.target ?? '')).toBe(scoreFn);
  });

  it('GIVEN the same token again THEN the authorizer result comes from the cache', async () => {
    const before = invoker.callsTo('Authorizer').length;
    const res = await score(merchantToken, merchant.apiKey, transaction('t-2'));
    expect(res.status).toBe(200);
    expect(invoker.callsTo('Authorizer').length).toBe(before);
    expect(api.authorizerCache().hits).toBeGreaterThan(0);
  });

  it('GIVEN no Authorization header THEN 401 from the gateway response without invoking the authorizer', async () => {
    const before = invoker.callsTo('Authorizer').length;
    const res = await score(undefined, merchant.apiKey);
    const body = (await res.json()) as { error: unknown; requestId: string };
    expect(res.status).toBe(401);
    expect(body.error).toEqual({ code: 'unauthorized', message: 'Unauthorized' });
    expect(body.requestId).toBe(res.headers.get('x-amzn-requestid'));
    expect(invoker.callsTo('Authorizer').length).toBe(before);
  });

  it('GIVEN a forged, an expired and a foreign-issuer token THEN the real authorizer refuses each with 401', async () => {
    const forged = `${merchantToken.slice(0, -8)}AAAAAAAA`;
    const expired = await api.mintToken({ client: 'merchant-gateway', expiresInSeconds: -60 });
    const foreign = await api.mintToken({ client: 'merchant-gateway', issuer: 'http://127.0.0.1:9/cognito/other' });
    for (const token of [forged, expired, foreign, 'not-a-jwt']) {
      const res = await score(token, merchant.apiKey);
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([
        401,
        'unauthorized',
      ]);
    }
  });

  it('GIVEN a token without the route scope THEN the policy denies it: 403', async () => {
    const token = await getToken(analyst.tokenUrl, analyst.clientId, analyst.clientSecret);
    const res = await score(token, analyst.apiKey);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: unknown }).error).toEqual({
      code: 'forbidden',
      message: 'User is not authorized to access this resource with an explicit deny',
    });
    // The same token reaches the route its scope allows, with the path parameter decoded.
    const ok = await call('/v1/decisions/t-42', { token, key: analyst.apiKey });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { pathParameters: unknown }).pathParameters).toEqual({ id: 't-42' });
  });

  it('GIVEN another client’s x-api-key, or an unknown one THEN it does not matter: the request is metered on the token’s own client', async () => {
    const analystQuota = api.remainingQuota(analyst.apiKey as string);
    const merchantQuota = Object.values(api.remainingQuota(merchant.apiKey as string))[0] as number;
    for (const key of [analyst.apiKey, 'x'.repeat(40)]) {
      const res = await score(merchantToken, key);
      expect(res.status).toBe(200);
      const event = (await res.json()) as { requestContext: { identity: { apiKey: string } } };
      expect(event.requestContext.identity.apiKey).toBe(merchant.apiKey);
    }
    expect(api.remainingQuota(analyst.apiKey as string)).toEqual(analystQuota);
    expect(Object.values(api.remainingQuota(merchant.apiKey as string))[0]).toBe(merchantQuota - 2);
  });

  it('GIVEN a body that breaks the schema THEN 400 with the validation problems and the function is not called', async () => {
    const before = invoker.callsTo('ScoreFunction').length;
    const res = await score(merchantToken, merchant.apiKey, { ...transaction(), amount: -1, extra: true });
    const body = (await res.json()) as { error: { code: string; message: string; details: { message: string }[] } };
    expect(res.status).toBe(400);
    expect(body.error.code).toBe('validation_error');
    expect(body.error.message).toBe('Invalid request body');
    expect(body.error.details[0]?.message).toMatch(/amount/);
    expect(body.error.details[0]?.message).toMatch(/"extra"/);
    const bad = await call('/v1/score', {
      method: 'POST',
      body: '{"oops"',
      token: merchantToken,
      key: merchant.apiKey,
    });
    expect(bad.status).toBe(400);
    expect(invoker.callsTo('ScoreFunction').length).toBe(before);
  });

  it('GIVEN an unknown route or method THEN the MISSING_AUTHENTICATION_TOKEN response (404 in this template)', async () => {
    for (const [method, path] of [
      ['GET', '/v2/nothing'],
      ['DELETE', '/v1/score'],
    ] as const) {
      const res = await call(path, { method });
      expect([res.status, ((await res.json()) as { error: unknown }).error]).toEqual([
        404,
        { code: 'not_found', message: 'Missing Authentication Token' },
      ]);
    }
  });

  it('GIVEN a public route under the stage prefix THEN it is served without token or key', async () => {
    const res = await call('/api/v1/health?verbose=1&verbose=2');
    const event = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    expect(event).toMatchObject({
      path: '/v1/health',
      queryStringParameters: { verbose: '2' },
      multiValueQueryStringParameters: { verbose: ['1', '2'] },
    });
    expect((event.requestContext as Record<string, unknown>).authorizer).toBeUndefined();
  });

  it('GIVEN a body over 10 MB THEN 413', async () => {
    const res = await call('/v1/score', {
      method: 'POST',
      body: 'x'.repeat(10 * 1024 * 1024 + 1),
      token: merchantToken,
      key: merchant.apiKey,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('GIVEN /openapi.json and /docs THEN the 3.1 document with local servers and Swagger UI served offline from the package', async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      openapi: string;
      servers: unknown;
      paths: Record<
        string,
        { post?: { requestBody?: { content: Record<string, { schema: { required?: string[] } }> } } }
      >;
      components: { securitySchemes: { oauth2: { flows: { clientCredentials: { tokenUrl: string } } } } };
    };
    expect(doc.openapi).toBe('3.1.0');
    // Each real-time model's predict route, with its module's request schema, as the template's API definition has it.
    const predict = doc.paths['/v1/models/merchant-risk/predict']?.post?.requestBody?.content['application/json'];
    expect(predict?.schema.required).toEqual(expect.arrayContaining(['merchantId', 'date', 'count']));
    // Each labelled model's labels route, with its module's label schema.
    const labels = doc.paths['/v1/models/merchant-risk/labels']?.post?.requestBody?.content['application/json'];
    expect(labels?.schema.required).toEqual(expect.arrayContaining(['merchantId', 'date', 'compromised']));
    expect(doc.servers).toEqual([{ url: api.url }]);
    expect(doc.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl).toBe(api.tokenUrl);
    // /docs redirects to /docs/ (the page's URLs are relative); the page loads Swagger UI and ../openapi.json.
    const page = await call('/docs');
    expect(page.url).toBe(`${api.url}/docs/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('<script src="./swagger-ui-bundle.js">');
    expect(html).toContain('content="../openapi.json"');
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await call('/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(await bundle.text()).toContain('SwaggerUIBundle');
    const script = await (await call('/docs/docs.js')).text();
    expect(script).toContain('persistAuthorization: true');
    // Only the allowlisted files of the package: not its manifest, source maps or other bundles.
    for (const other of [
      'package.json',
      'swagger-ui-bundle.js.map',
      'swagger-ui.js',
      'index.html%2f..%2fpackage.json',
    ]) {
      expect((await call(`/docs/${other}`)).status).toBe(404);
    }
  });
});
