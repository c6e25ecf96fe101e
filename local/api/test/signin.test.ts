// People's sign-in on the local issuer over HTTP: authorization code + PKCE, the login page, code and token rules.
import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import { type ClientsFile, issuerUrl, LocalIssuer } from '../cognito.js';
import { s256 } from '../signin.js';
import { readLocalUsers, syncUsers, usersPath } from '../users.js';
import { tempDataDir } from './support.js';

const POOL = 'eu-west-1_LocalPool';
const CONSOLE = 'console-client-id';

describe('local sign-in (authorization code + PKCE)', () => {
  let dataDir: string;
  let server: Server;
  let base: string;
  let issuer: string;
  let callback: string;
  let analystPassword: string;

  beforeAll(async () => {
    dataDir = tempDataDir();
    let local: LocalIssuer | undefined;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        void local?.handle(req, res, path, Buffer.concat(chunks).toString('utf8')).then((handled) => {
          if (!handled) res.writeHead(404).end();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    issuer = issuerUrl(base, POOL);
    callback = `${base}/console/`;
    const clients: ClientsFile = {
      apiUrl: base,
      issuers: { [POOL]: issuer },
      clients: [
        {
          clientId: CONSOLE,
          name: 'console',
          poolRef: POOL,
          scopes: ['openid', 'aims/read', 'aims/feedback', 'aims/review', 'aims/admin'],
          flows: ['code'],
          accessTokenSeconds: 3600,
          refreshTokenSeconds: 86_400,
          callbackUrls: [callback],
          logoutUrls: [callback],
        },
        {
          clientId: 'machine-client-id',
          name: 'merchant-gateway',
          poolRef: POOL,
          clientSecret: 'machine-secret',
          scopes: ['aims/score'],
          flows: ['client_credentials'],
          accessTokenSeconds: 3600,
          refreshTokenSeconds: 86_400,
          callbackUrls: [],
          logoutUrls: [],
        },
      ],
    };
    local = await LocalIssuer.create(dataDir, clients);
    analystPassword = readLocalUsers(dataDir).find((u) => u.username === 'analyst')?.password as string;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const authorizeQuery = (verifier: string, extra: Record<string, string> = {}) =>
    new URLSearchParams({
      client_id: CONSOLE,
      response_type: 'code',
      redirect_uri: callback,
      state: 'st-1',
      scope: 'openid aims/read aims/review aims/admin',
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
      ...extra,
    });

  const login = (query: URLSearchParams, username: string, password: string) =>
    fetch(`${issuer}/login?${query}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password }),
    });

  /** Signs the analyst in and returns the code from the redirect. */
  async function codeFor(verifier: string): Promise<string> {
    const res = await login(authorizeQuery(verifier), 'analyst', analystPassword);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') as string);
    expect(`${location.origin}${location.pathname}`).toBe(callback);
    expect(location.searchParams.get('state')).toBe('st-1');
    return location.searchParams.get('code') as string;
  }

  const redeem = (form: Record<string, string>) =>
    fetch(`${issuer}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CONSOLE, ...form }),
    });

  const newVerifier = () => randomBytes(32).toString('base64url');

  it('GIVEN the seeded users THEN each has a random password in a 0600 file that a restart keeps', () => {
    const users = readLocalUsers(dataDir);
    expect(users.map((u) => [u.username, u.groups])).toEqual([
      ['analyst', ['analysts']],
      ['operator', ['operators']],
    ]);
    expect(users[0]?.password).not.toBe(users[1]?.password);
    expect(users[0]?.password.length).toBeGreaterThanOrEqual(16);
    expect(statSync(usersPath(dataDir)).mode & 0o777).toBe(0o600);
    expect(syncUsers(dataDir)).toEqual(users);
  });

  it('GIVEN discovery THEN oidc-client-ts finds the authorize, token, logout and key endpoints and S256', async () => {
    const doc = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/oauth2/authorize`,
      token_endpoint: `${issuer}/oauth2/token`,
      end_session_endpoint: `${issuer}/logout`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      code_challenge_methods_supported: ['S256'],
    });
  });

  it('GIVEN a valid authorization request THEN an accessible login page; without S256 PKCE or with a foreign redirect THEN refused', async () => {
    const page = await fetch(`${issuer}/oauth2/authorize?${authorizeQuery(newVerifier())}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toMatch(/<label for="username">User name<\/label>\s*<input id="username"/);
    expect(html).toMatch(/<label for="password">Password<\/label>\s*<input id="password"[^>]*type="password"/);
    expect(html).toMatch(/<button type="submit">Sign in<\/button>/);

    const plain = authorizeQuery(newVerifier(), { code_challenge_method: 'plain' });
    const noPkce = await fetch(`${issuer}/oauth2/authorize?${plain}`, { redirect: 'manual' });
    expect(noPkce.status).toBe(302);
    const refused = new URL(noPkce.headers.get('location') as string).searchParams;
    expect([refused.get('error'), refused.get('state'), refused.get('code')]).toEqual([
      'invalid_request',
      'st-1',
      null,
    ]);

    // A redirect that is not a callback URL of the client is never followed: an error page instead.
    const foreign = authorizeQuery(newVerifier(), { redirect_uri: 'https://attacker.example/cb' });
    const bad = await fetch(`${issuer}/oauth2/authorize?${foreign}`, { redirect: 'manual' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('location')).toBeNull();
    expect(await bad.text()).toMatch(/role="alert"/);
    const badLogin = await login(foreign, 'analyst', analystPassword);
    expect([badLogin.status, badLogin.headers.get('location')]).toEqual([400, null]);
  });

  it('GIVEN a wrong password or an unknown user THEN the page again with the error in role=alert and no code', async () => {
    for (const [user, password] of [
      ['analyst', `${analystPassword}x`],
      ['nobody', analystPassword],
    ] as const) {
      const res = await login(authorizeQuery(newVerifier()), user, password);
      expect(res.status).toBe(401);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toMatch(/<div role="alert">Incorrect user name or password\.<\/div>/);
    }
  });

  it('GIVEN the analyst signs in and redeems the code with its verifier THEN verifiable tokens with the analysts scopes only, and a refresh token that works', async () => {
    const verifier = newVerifier();
    const code = await codeFor(verifier);
    const res = await redeem({
      grant_type: 'authorization_code',
      code,
      redirect_uri: callback,
      code_verifier: verifier,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; id_token: string; refresh_token: string };
    const jwks = createLocalJWKSet((await (await fetch(`${issuer}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
    const access = (await jwtVerify(body.access_token, jwks, { issuer })).payload;
    expect(access).toMatchObject({
      token_use: 'access',
      client_id: CONSOLE,
      username: 'analyst',
      'cognito:groups': ['analysts'],
    });
    // aims/admin was asked for, but the analysts group does not grant it.
    expect(String(access.scope).split(' ').sort()).toEqual(['aims/read', 'aims/review', 'openid']);
    const id = (await jwtVerify(body.id_token, jwks, { issuer, audience: CONSOLE })).payload;
    expect(id).toMatchObject({ token_use: 'id', 'cognito:username': 'analyst', sub: access.sub });

    const refreshed = await redeem({ grant_type: 'refresh_token', refresh_token: body.refresh_token });
    expect(refreshed.status).toBe(200);
    const again = (await refreshed.json()) as { access_token: string; refresh_token?: string };
    expect(decodeJwt(again.access_token)).toMatchObject({ username: 'analyst', scope: access.scope });
    expect(again.refresh_token).toBeUndefined();

    const revoked = await fetch(`${issuer}/oauth2/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CONSOLE, token: body.refresh_token }),
    });
    expect(revoked.status).toBe(200);
    const afterRevoke = await redeem({ grant_type: 'refresh_token', refresh_token: body.refresh_token });
    expect([afterRevoke.status, ((await afterRevoke.json()) as { error: string }).error]).toEqual([
      400,
      'invalid_grant',
    ]);
  });

  it('GIVEN a verifier that does not match, a reused code or another redirect_uri THEN invalid_grant', async () => {
    const expectInvalidGrant = async (res: Response) => {
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
    };
    const verifier = newVerifier();
    const mismatch = await codeFor(verifier);
    await expectInvalidGrant(
      await redeem({
        grant_type: 'authorization_code',
        code: mismatch,
        redirect_uri: callback,
        code_verifier: newVerifier(),
      }),
    );
    // The failed attempt spent the code: the right verifier no longer helps.
    await expectInvalidGrant(
      await redeem({
        grant_type: 'authorization_code',
        code: mismatch,
        redirect_uri: callback,
        code_verifier: verifier,
      }),
    );

    const once = await codeFor(verifier);
    const first = await redeem({
      grant_type: 'authorization_code',
      code: once,
      redirect_uri: callback,
      code_verifier: verifier,
    });
    expect(first.status).toBe(200);
    await expectInvalidGrant(
      await redeem({ grant_type: 'authorization_code', code: once, redirect_uri: callback, code_verifier: verifier }),
    );

    const other = await codeFor(verifier);
    await expectInvalidGrant(
      await redeem({
        grant_type: 'authorization_code',
        code: other,
        redirect_uri: `${base}/elsewhere/`,
        code_verifier: verifier,
      }),
    );
  });

  it('GIVEN a public client THEN it cannot use client_credentials, and a machine client cannot redeem a code', async () => {
    const cc = await redeem({ grant_type: 'client_credentials' });
    expect(((await cc.json()) as { error: string }).error).toBe('unauthorized_client');
    const machine = await fetch(`${issuer}/oauth2/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('machine-client-id:machine-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', code_verifier: newVerifier() }),
    });
    expect(((await machine.json()) as { error: string }).error).toBe('unauthorized_client');
  });

  it('GIVEN /logout THEN back to a sign-out URL of the client only', async () => {
    const ok = await fetch(`${issuer}/logout?${new URLSearchParams({ client_id: CONSOLE, logout_uri: callback })}`, {
      redirect: 'manual',
    });
    expect([ok.status, ok.headers.get('location')]).toEqual([302, callback]);
    const foreign = new URLSearchParams({ client_id: CONSOLE, logout_uri: 'https://attacker.example/' });
    const bad = await fetch(`${issuer}/logout?${foreign}`, { redirect: 'manual' });
    expect([bad.status, bad.headers.get('location')]).toEqual([400, null]);
  });
});
