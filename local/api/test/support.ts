// Test support for the local API: the real dev template on a free port, the real runtime for the authorizer, fakes.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLocalTemplate } from '../../template/index.js';
import type { FunctionInvoker, InvokeResult, LocalEndpoints, LocalResource, LocalTemplate } from '../../types.js';

export const tempDataDir = (): string => mkdtempSync(join(tmpdir(), 'aims-api-'));

export { freePort } from '../../net.js';

/** The synthesized dev stage, resolved by the local template loader for an API at `apiBaseUrl`. */
export function devTemplate(apiBaseUrl: string): LocalTemplate {
  return loadLocalTemplate({ assemblyDir: join(process.cwd(), 'cdk.out'), stageName: 'Dev', apiBaseUrl });
}

/** Every AWS endpoint on a closed port: functions that touch AWS fail fast instead of reaching anything. */
export function closedEndpoints(): LocalEndpoints {
  const closed = 'http://127.0.0.1:9';
  return {
    dynamodb: closed,
    kinesis: closed,
    s3: closed,
    eventbridge: closed,
    firehose: closed,
    sns: closed,
    sqs: closed,
    sagemakerRuntime: closed,
  };
}

/** The template with some resources' properties replaced (e.g. a usage plan with tiny limits). */
export function withProperties(
  template: LocalTemplate,
  patch: (r: LocalResource) => Readonly<Record<string, unknown>> | undefined,
): LocalTemplate {
  const resources = template.resources.map((r) => {
    const p = patch(r);
    return p ? { ...r, properties: p } : r;
  });
  return {
    ...template,
    resources,
    ofType: (type) => resources.filter((r) => r.type === type),
    byArn: (arn) => template.byArn(arn),
  };
}

export interface RecordedCall {
  readonly target: string;
  readonly event: Record<string, unknown>;
}

/** Routes some targets to a real invoker and answers the rest with a scripted function, recording every call. */
export class RoutingInvoker implements FunctionInvoker {
  readonly calls: RecordedCall[] = [];

  constructor(
    private readonly fake: (target: string, event: Record<string, unknown>) => InvokeResult | Promise<InvokeResult>,
    private readonly real?: { readonly invoker: FunctionInvoker; readonly targets: (target: string) => boolean },
  ) {}

  async invoke(target: string, event: unknown): Promise<InvokeResult> {
    this.calls.push({ target, event: event as Record<string, unknown> });
    if (this.real?.targets(target)) return this.real.invoker.invoke(target, event);
    return this.fake(target, event as Record<string, unknown>);
  }

  callsTo(fragment: string): RecordedCall[] {
    return this.calls.filter((c) => c.target.includes(fragment));
  }
}

/** A Lambda proxy integration that answers 200 with the event it received. */
export const echo = (_target: string, event: Record<string, unknown>): InvokeResult => ({
  ok: true,
  durationMs: 0,
  payload: { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) },
});

export async function getToken(tokenUrl: string, clientId: string, secret: string, scope?: string): Promise<string> {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }),
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** A transaction the contract accepts. */
export const transaction = (id = 't-1') => ({
  transactionId: id,
  customerId: 'c-1',
  merchantId: 'm-1',
  merchantCategory: 'grocery',
  amount: 12.5,
  currency: 'EUR',
  country: 'DE',
  channel: 'online',
  timestamp: '2026-11-23T10:00:00Z',
});

/** Signs a person in as a browser would: the authorize request with PKCE, the login form, the code for tokens. */
export async function signInAs(o: {
  readonly issuer: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly username: string;
  readonly password: string;
  readonly scope: string;
}): Promise<{ access_token: string; id_token?: string; refresh_token: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    client_id: o.clientId,
    response_type: 'code',
    redirect_uri: o.redirectUri,
    scope: o.scope,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const page = await fetch(`${o.issuer}/oauth2/authorize?${query}`);
  if (page.status !== 200) throw new Error(`the login page answered ${page.status}: ${await page.text()}`);
  const action = /<form method="post" action="([^"]+)"/.exec(await page.text())?.[1]?.replace(/&amp;/g, '&');
  if (!action) throw new Error('the login page has no form');
  const login = await fetch(action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: o.username, password: o.password }),
  });
  const location = login.headers.get('location');
  if (login.status !== 302 || !location) throw new Error(`sign-in answered ${login.status}: ${await login.text()}`);
  const code = new URL(location).searchParams.get('code');
  if (!code) throw new Error(`sign-in redirected without a code: ${location}`);
  const token = await fetch(`${o.issuer}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: o.clientId,
      code,
      redirect_uri: o.redirectUri,
      code_verifier: verifier,
    }),
  });
  if (token.status !== 200) throw new Error(`the token endpoint answered ${token.status}: ${await token.text()}`);
  return (await token.json()) as { access_token: string; id_token?: string; refresh_token: string };
}
