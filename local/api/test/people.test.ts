// People through the one token path: the dev template plus a console fixture stack (a public code-flow client on a
// CloudFront URL and its ApiKey by CustomerId, as the console stack declares them), the REAL authorizer bundle finding
// the key with GetApiKeys, and sign-in as the seeded analyst and operator. Integrations are an echo fake.
import { rmSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { type LambdaRuntime, startLambdaRuntime } from '../../lambda/runtime.js';
import type { LocalResource, LocalTemplate } from '../../types.js';
import { apiGatewayEndpoint, type LocalApi, readLocalUsers, startLocalApi } from '../index.js';
import { readJsonFile } from '../store.js';
import { keysPath } from '../usage.js';
import { closedEndpoints, devTemplate, echo, freePort, RoutingInvoker, signInAs, tempDataDir } from './support.js';

const FIXTURE_STACK = 'Dev-ConsoleFixture';
const DOMAIN = 'd1fixture0000.cloudfront.net';
const CONSOLE_CLIENT_ID = '5consolefixture0000000000a';

/** The console stack's sign-in resources, as the template loader would resolve them. */
function withConsoleFixture(template: LocalTemplate): LocalTemplate {
  const pool = template.ofType('AWS::Cognito::UserPool')[0];
  const plan = template.ofType('AWS::ApiGateway::UsagePlan')[0];
  if (!pool || !plan) throw new Error('the dev template has no user pool or usage plan');
  const resource = (
    logicalId: string,
    type: string,
    ref: string,
    properties: Record<string, unknown>,
    attributes: Record<string, string> = {},
  ): LocalResource => ({ stackName: FIXTURE_STACK, logicalId, type, properties, metadata: {}, ref, attributes });
  const url = `https://${DOMAIN}/`;
  const resources = [
    ...template.resources,
    resource('Distribution', 'AWS::CloudFront::Distribution', 'EFIXTURE', {}, { DomainName: DOMAIN }),
    resource('ConsoleClient', 'AWS::Cognito::UserPoolClient', CONSOLE_CLIENT_ID, {
      UserPoolId: pool.ref,
      ClientName: 'console',
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: ['openid', 'aims/read', 'aims/feedback', 'aims/review', 'aims/admin'],
      CallbackURLs: [url],
      LogoutURLs: [url],
    }),
    resource('ConsoleKey', 'AWS::ApiGateway::ApiKey', 'consolekeyfixture', {
      CustomerId: CONSOLE_CLIENT_ID,
      Enabled: true,
      Description: 'API key of client console',
    }),
    resource('ConsolePlanKey', 'AWS::ApiGateway::UsagePlanKey', 'consoleplankeyfixture', {
      KeyId: 'consolekeyfixture',
      KeyType: 'API_KEY',
      UsagePlanId: plan.ref,
    }),
  ];
  return { ...template, resources, ofType: (type) => resources.filter((r) => r.type === type) };
}

describe('people sign in and call the API through the real authorizer', () => {
  let dataDir: string;
  let runtime: LambdaRuntime;
  let api: LocalApi;
  let issuer: string;
  let callback: string;

  beforeAll(async () => {
    dataDir = tempDataDir();
    const port = await freePort();
    const template = withConsoleFixture(devTemplate(`http://127.0.0.1:${port}`));
    runtime = await startLambdaRuntime({
      template,
      endpoints: closedEndpoints(),
      dataDir,
      environmentOverrides: { AWS_ENDPOINT_URL_API_GATEWAY: apiGatewayEndpoint(`http://127.0.0.1:${port}`) },
    });
    const invoker = new RoutingInvoker(echo, { invoker: runtime, targets: (t) => t.includes('Authorizer') });
    api = await startLocalApi({ template, invoker, dataDir, port });
    issuer = template.ofType('AWS::Cognito::UserPool')[0]?.attributes.ProviderURL as string;
    callback = `${api.url}/console/`;
  });

  afterAll(async () => {
    await api?.close();
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const signIn = (username: string) =>
    signInAs({
      issuer,
      clientId: CONSOLE_CLIENT_ID,
      redirectUri: callback,
      username,
      password: readLocalUsers(dataDir).find((u) => u.username === username)?.password as string,
      scope: 'openid aims/read aims/feedback aims/review aims/admin',
    });

  const call = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('GIVEN the fixture’s public client THEN its CloudFront callback is accepted only as its local mapping, and it is no machine credential', async () => {
    const res = await fetch(
      `${issuer}/oauth2/authorize?${new URLSearchParams({ client_id: CONSOLE_CLIENT_ID, response_type: 'code', redirect_uri: `https://${DOMAIN}/` })}`,
    );
    // The CloudFront URL itself is not a local callback: only its local mapping is.
    expect(res.status).toBe(400);
    expect(api.credentials().clients.map((c) => c.name)).not.toContain('console');
  });

  it('GIVEN the analyst signs in THEN a read route answers 200 metered on the console’s own key with the analyst as principal, and approving a model version is 403', async () => {
    const { access_token: token } = await signIn('analyst');
    expect(decodeJwt(token)).toMatchObject({ username: 'analyst', client_id: CONSOLE_CLIENT_ID });
    const before = api.remainingQuota(consoleKey());

    const read = await call(token, 'GET', '/v1/decisions/t-42');
    expect(read.status).toBe(200);
    const event = (await read.json()) as {
      requestContext: { identity: { apiKey: string }; authorizer: Record<string, unknown> };
    };
    expect(event.requestContext.identity.apiKey).toBe(consoleKey());
    expect(event.requestContext.authorizer).toMatchObject({
      clientId: CONSOLE_CLIENT_ID,
      principal: 'analyst',
      scopes: 'aims/read aims/feedback aims/review',
    });

    const approve = await call(token, 'POST', '/v1/models/fraud-detector/versions/3/approve', {});
    expect(approve.status).toBe(403);
    expect(((await approve.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    const after = api.remainingQuota(consoleKey());
    for (const [plan, left] of Object.entries(before)) expect(after[plan]).toBe(left - 1);
  });

  it('GIVEN the operator signs in THEN approving a model version passes the gateway as the operator', async () => {
    const { access_token: token } = await signIn('operator');
    const approve = await call(token, 'POST', '/v1/models/fraud-detector/versions/3/approve', {});
    expect(approve.status).toBe(200);
    const event = (await approve.json()) as { requestContext: { authorizer: Record<string, unknown> } };
    expect(event.requestContext.authorizer).toMatchObject({ principal: 'operator', scopes: 'aims/read aims/admin' });
  });

  /** The local value of the console client's key (the ApiKey whose CustomerId is its id). */
  const consoleKey = (): string => {
    const keys = api.definition.apiKeys.filter((k) => k.customerId === CONSOLE_CLIENT_ID);
    if (keys.length !== 1) throw new Error(`expected one key of the console client, found ${keys.length}`);
    const stored = readJsonFile<Record<string, { value: string }>>(keysPath(dataDir)) ?? {};
    return stored[keys[0]?.key as string]?.value as string;
  };
});
