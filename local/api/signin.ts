// People's sign-in on the local issuer, as Cognito's hosted login does it: authorization code + PKCE (S256), a login
// page, single-use short-lived codes, refresh tokens, /logout. Tokens carry `username` and `cognito:groups`, and
// the API scopes the person's groups grant (lambdas/shared/contracts/people.ts).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { RESOURCE_SERVER } from '../../lambdas/shared/contracts/api.js';
import { GROUPS_CLAIM, scopesOfGroups } from '../../lambdas/shared/contracts/people.js';
import { type ClientsFile, type SigningKeyFile, type StoredClient, sameSecret, sendJson, signJwt } from './cognito.js';
import { checkPassword, type LocalUser } from './users.js';

/** Cognito's authorization codes are valid for five minutes, and once. */
export const CODE_TTL_MS = 5 * 60_000;
/** Bounds on what the issuer keeps in memory, so a flood of sign-ins cannot grow it without limit. */
const MAX_CODES = 1_000;
const MAX_REFRESH_TOKENS = 10_000;

interface Grant {
  readonly clientId: string;
  readonly user: LocalUser;
  readonly scopes: readonly string[];
  readonly authTime: number;
  readonly expires: number;
}

interface PendingCode extends Grant {
  readonly redirectUri: string;
  readonly challenge: string;
  readonly nonce?: string;
}

/** A valid authorization request, or how to refuse it: a page when the redirect cannot be trusted, else a redirect. */
type AuthorizeRequest =
  | {
      readonly ok: true;
      readonly client: StoredClient;
      readonly redirectUri: string;
      readonly scopes: readonly string[];
      readonly challenge: string;
      readonly state?: string;
      readonly nonce?: string;
    }
  | { readonly ok: false; readonly page: string }
  | { readonly ok: false; readonly redirect: string };

const escapeHtml = (s: string): string =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[c] ?? c);

/** BASE64URL(SHA256(verifier)), RFC 7636 §4.2. */
export const s256 = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');

function withParams(url: string, params: Record<string, string | undefined>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u.toString();
}

function boundedSet<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (map.size >= max) map.delete(map.keys().next().value as string);
  map.set(key, value);
}

const PAGE_STYLE = `
  body { font-family: system-ui, sans-serif; background: #f4f5f7; color: #1b1f24; margin: 0; }
  main { max-width: 22rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 8px;
         box-shadow: 0 1px 3px rgb(0 0 0 / 0.2); }
  h1 { font-size: 1.4rem; margin-top: 0; }
  label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
  input { box-sizing: border-box; width: 100%; padding: 0.5rem; font-size: 1rem; border: 1px solid #5f6368;
          border-radius: 4px; }
  button { margin-top: 1.5rem; width: 100%; padding: 0.6rem; font-size: 1rem; color: #fff; background: #0b57d0;
           border: 0; border-radius: 4px; cursor: pointer; }
  button:focus-visible, input:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
  [role=alert] { color: #8c1d18; background: #fce8e6; padding: 0.6rem; border-radius: 4px; }
  p.note { color: #3c4043; font-size: 0.9rem; }`;

function page(title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
${content}
</main>
</body>
</html>
`;
}

function loginPage(o: { action: string; clientName: string; username?: string; error?: string }): string {
  return page(
    'Sign in · AIMS',
    `<h1>Sign in to AIMS</h1>
<p class="note">${escapeHtml(o.clientName)} · local stage (the user names and passwords are printed by <code>npm start</code>)</p>
${o.error ? `<div role="alert">${escapeHtml(o.error)}</div>` : ''}
<form method="post" action="${escapeHtml(o.action)}">
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required${o.username ? ` value="${escapeHtml(o.username)}"` : ' autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${o.username ? ' autofocus' : ''}>
<button type="submit">Sign in</button>
</form>`,
  );
}

const errorPage = (message: string): string =>
  page('Sign-in error · AIMS', `<h1>Sign-in error</h1>\n<div role="alert">${escapeHtml(message)}</div>`);

function sendHtml(res: ServerResponse, status: number, html: string, formTarget?: string): void {
  const targets = ["'self'", ...(formTarget ? [new URL(formTarget).origin] : [])].join(' ');
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    // The page runs no script; the form may only post here and be redirected back to the client.
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action ${targets}; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store', 'content-length': '0' });
  res.end();
}

/** The sign-in flow of one local issuer (codes and refresh tokens live in memory: a restart signs people out). */
export class SignIn {
  private readonly codes = new Map<string, PendingCode>();
  private readonly refreshTokens = new Map<string, Grant>();

  constructor(
    private readonly key: SigningKeyFile,
    private readonly clients: ClientsFile,
    private readonly users: readonly LocalUser[],
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Checks an authorization request in Cognito's order: client, redirect URI, then the rest (reported by redirect). */
  private authorizeRequest(poolRef: string, q: URLSearchParams): AuthorizeRequest {
    const client = this.clients.clients.find((c) => c.clientId === q.get('client_id') && c.poolRef === poolRef);
    if (!client) return { ok: false, page: 'The client is not known to this user pool.' };
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!client.callbackUrls.includes(redirectUri)) {
      return { ok: false, page: `The redirect_uri is not a callback URL of ${client.name}.` };
    }
    const state = q.get('state') ?? undefined;
    const refuse = (error: string, description: string): AuthorizeRequest => ({
      ok: false,
      redirect: withParams(redirectUri, { error, error_description: description, state }),
    });
    if (q.get('response_type') !== 'code') return refuse('unsupported_response_type', 'response_type must be code');
    if (!client.flows.includes('code')) return refuse('unauthorized_client', 'the client may not use the code flow');
    const challenge = q.get('code_challenge') ?? '';
    if (q.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return refuse('invalid_request', 'a code_challenge with code_challenge_method S256 is required');
    }
    const requested = (q.get('scope') ?? '').split(' ').filter(Boolean);
    if (requested.some((s) => !client.scopes.includes(s))) return refuse('invalid_scope', 'a scope is not allowed');
    const nonce = q.get('nonce') ?? undefined;
    return {
      ok: true,
      client,
      redirectUri,
      scopes: requested.length > 0 ? requested : client.scopes,
      challenge,
      ...(state !== undefined ? { state } : {}),
      ...(nonce !== undefined ? { nonce } : {}),
    };
  }

  private loginAction(poolRef: string, q: URLSearchParams): string {
    return `${this.clients.issuers[poolRef]}/login?${q.toString()}`;
  }

  /** GET /oauth2/authorize (and /login): the login page, or the refusal. */
  authorize(res: ServerResponse, poolRef: string, q: URLSearchParams): void {
    const r = this.authorizeRequest(poolRef, q);
    if (!r.ok) {
      if ('page' in r) sendHtml(res, 400, errorPage(r.page));
      else redirect(res, r.redirect);
      return;
    }
    sendHtml(res, 200, loginPage({ action: this.loginAction(poolRef, q), clientName: r.client.name }), r.redirectUri);
  }

  /** POST /login: the credentials → 302 to the callback with a code, or the page again with the error. */
  login(res: ServerResponse, poolRef: string, q: URLSearchParams, form: URLSearchParams): void {
    const r = this.authorizeRequest(poolRef, q);
    if (!r.ok) {
      if ('page' in r) sendHtml(res, 400, errorPage(r.page));
      else redirect(res, r.redirect);
      return;
    }
    const username = form.get('username') ?? '';
    const user = checkPassword(this.users, username, form.get('password') ?? '');
    if (!user) {
      const html = loginPage({
        action: this.loginAction(poolRef, q),
        clientName: r.client.name,
        username,
        error: 'Incorrect user name or password.',
      });
      sendHtml(res, 401, html, r.redirectUri);
      return;
    }
    const code = randomBytes(32).toString('base64url');
    const now = this.now();
    boundedSet(
      this.codes,
      code,
      {
        clientId: r.client.clientId,
        user,
        scopes: r.scopes,
        authTime: Math.floor(now / 1000),
        expires: now + CODE_TTL_MS,
        redirectUri: r.redirectUri,
        challenge: r.challenge,
        ...(r.nonce !== undefined ? { nonce: r.nonce } : {}),
      },
      MAX_CODES,
    );
    redirect(res, withParams(r.redirectUri, { code, state: r.state }));
  }

  /** POST /oauth2/token for `authorization_code` and `refresh_token` (the client is already authenticated). */
  async token(
    res: ServerResponse,
    client: StoredClient,
    grant: 'authorization_code' | 'refresh_token',
    form: URLSearchParams,
  ): Promise<void> {
    if (!client.flows.includes('code')) {
      sendJson(res, 400, { error: 'unauthorized_client' });
      return;
    }
    const invalid = (why: string) => sendJson(res, 400, { error: 'invalid_grant', error_description: why });
    const now = this.now();
    if (grant === 'refresh_token') {
      const g = this.refreshTokens.get(form.get('refresh_token') ?? '');
      if (!g || g.clientId !== client.clientId || g.expires <= now) return invalid('refresh token is not valid');
      sendJson(res, 200, await this.tokens(client, g));
      return;
    }
    const code = form.get('code') ?? '';
    const pending = this.codes.get(code);
    // Single use: a code is spent by the first attempt to redeem it, whatever its outcome.
    this.codes.delete(code);
    if (!pending || pending.clientId !== client.clientId || pending.expires <= now) {
      return invalid('code is not valid (unknown, expired, already used or for another client)');
    }
    if (form.get('redirect_uri') !== pending.redirectUri) return invalid('redirect_uri differs from the authorization');
    const verifier = form.get('code_verifier') ?? '';
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || !sameSecret(s256(verifier), pending.challenge)) {
      return invalid('code_verifier does not match the code_challenge');
    }
    const refreshToken = randomBytes(48).toString('base64url');
    const refresh: Grant = {
      clientId: client.clientId,
      user: pending.user,
      scopes: pending.scopes,
      authTime: pending.authTime,
      expires: now + client.refreshTokenSeconds * 1000,
    };
    boundedSet(this.refreshTokens, refreshToken, refresh, MAX_REFRESH_TOKENS);
    sendJson(res, 200, { ...(await this.tokens(client, pending, pending.nonce)), refresh_token: refreshToken });
  }

  /** The access token (and id token when `openid` was granted) of a person, as Cognito shapes them. */
  private async tokens(
    client: StoredClient,
    g: Grant,
    nonce?: string,
  ): Promise<{ access_token: string; id_token?: string; expires_in: number; token_type: 'Bearer' }> {
    const issuer = this.clients.issuers[client.poolRef] as string;
    const allowed = scopesOfGroups(g.user.groups);
    // API scopes only as far as the person's groups allow; OpenID scopes (openid, profile, email) as granted.
    const scopes = g.scopes.filter((s) => !s.startsWith(`${RESOURCE_SERVER}/`) || allowed.has(s));
    const common = {
      sub: g.user.sub,
      [GROUPS_CLAIM]: [...g.user.groups],
      auth_time: g.authTime,
      origin_jti: randomUUID(),
    };
    const accessToken = await signJwt(
      this.key,
      issuer,
      {
        ...common,
        token_use: 'access',
        scope: scopes.join(' '),
        version: 2,
        client_id: client.clientId,
        username: g.user.username,
        event_id: randomUUID(),
      },
      client.accessTokenSeconds,
    );
    const idToken = g.scopes.includes('openid')
      ? await signJwt(
          this.key,
          issuer,
          {
            ...common,
            aud: client.clientId,
            token_use: 'id',
            'cognito:username': g.user.username,
            ...(nonce !== undefined ? { nonce } : {}),
          },
          client.accessTokenSeconds,
        )
      : undefined;
    return {
      access_token: accessToken,
      ...(idToken ? { id_token: idToken } : {}),
      expires_in: client.accessTokenSeconds,
      token_type: 'Bearer',
    };
  }

  /** GET /logout?client_id&logout_uri: back to a sign-out URL of the client (there is no session cookie to clear). */
  logout(res: ServerResponse, poolRef: string, q: URLSearchParams): void {
    const client = this.clients.clients.find((c) => c.clientId === q.get('client_id') && c.poolRef === poolRef);
    const target = q.get('logout_uri') ?? '';
    if (!client?.logoutUrls.includes(target)) {
      sendHtml(res, 400, errorPage('The logout_uri is not a sign-out URL of this client.'));
      return;
    }
    redirect(res, target);
  }

  /** POST /oauth2/revoke (RFC 7009) by an authenticated client: ends its refresh token; 200 whether or not it existed. */
  revoke(res: ServerResponse, client: StoredClient, form: URLSearchParams): void {
    const token = form.get('token') ?? '';
    if (this.refreshTokens.get(token)?.clientId === client.clientId) this.refreshTokens.delete(token);
    sendJson(res, 200, {});
  }
}
