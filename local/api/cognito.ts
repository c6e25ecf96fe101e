// The local Cognito issuer: client_credentials tokens (RS256), people's sign-in (./signin.ts) and the JWKS, for the
// user pool clients of every stack the local stage runs.
import { createPublicKey, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { localConsoleUrl } from './console.js';
import type { RestApiDefinition, UserPoolClientSpec } from './model.js';
import { SignIn } from './signin.js';
import { apiDir, readJsonFile, writeJsonFile } from './store.js';
import { syncUsers } from './users.js';

export interface SigningKeyFile {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

/** One app client as persisted in `<dataDir>/api/clients.json`. */
export interface StoredClient {
  readonly clientId: string;
  readonly name: string;
  readonly poolRef: string;
  /** Absent for a public client (GenerateSecret false: a browser app, which signs in with PKCE). */
  readonly clientSecret?: string;
  readonly scopes: readonly string[];
  readonly flows: readonly string[];
  readonly accessTokenSeconds: number;
  readonly refreshTokenSeconds: number;
  /** Where sign-in may return to, mapped to the local stage (a CloudFront URL becomes `<apiUrl>/console/…`). */
  readonly callbackUrls: readonly string[];
  readonly logoutUrls: readonly string[];
  /** The client's usage-plan API key value, when the template links one to it. */
  readonly apiKey?: string;
}

export interface ClientsFile {
  readonly apiUrl: string;
  /** Issuer URL per user pool ref. */
  readonly issuers: Readonly<Record<string, string>>;
  readonly clients: readonly StoredClient[];
}

export const signingKeyPath = (dataDir: string): string => join(apiDir(dataDir), 'signing-key.json');
export const clientsPath = (dataDir: string): string => join(apiDir(dataDir), 'clients.json');

/** The issuer URL of a pool served by the local API at `apiUrl` (what the template's ProviderURL resolves to). */
export const issuerUrl = (apiUrl: string, poolRef: string): string =>
  `${apiUrl.replace(/\/$/, '')}/cognito/${encodeURIComponent(poolRef)}`;

/** Loads the persisted RS256 signing key, creating it on first use. */
export async function loadSigningKey(dataDir: string): Promise<SigningKeyFile> {
  const path = signingKeyPath(dataDir);
  const existing = readJsonFile<SigningKeyFile>(path);
  if (existing) return existing;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const file: SigningKeyFile = { kid, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256' }, publicJwk };
  writeJsonFile(path, file);
  return file;
}

/** Creates or refreshes `clients.json`: secrets survive restarts; names, scopes and keys follow the template. */
export function syncClients(
  dataDir: string,
  api: RestApiDefinition,
  apiUrl: string,
  apiKeyOfClient: (client: UserPoolClientSpec) => string | undefined,
): ClientsFile {
  const previous = readJsonFile<ClientsFile>(clientsPath(dataDir));
  const secrets = new Map((previous?.clients ?? []).map((c) => [c.clientId, c.clientSecret]));
  const issuers: Record<string, string> = {};
  for (const pool of api.userPools) issuers[pool] = issuerUrl(apiUrl, pool);
  // The local stage serves the console at `<apiUrl>/console/`: a URL on a distribution of the stage maps there.
  const local = (url: string) => api.distributionDomains.reduce((u, d) => localConsoleUrl(u, d, apiUrl), url);
  const clients = api.clients.map((c: UserPoolClientSpec): StoredClient => {
    const apiKey = apiKeyOfClient(c);
    const secret = c.generateSecret ? (secrets.get(c.clientId) ?? randomBytes(32).toString('base64url')) : undefined;
    return {
      clientId: c.clientId,
      name: c.name,
      poolRef: c.poolRef,
      ...(secret ? { clientSecret: secret } : {}),
      scopes: c.scopes,
      flows: c.flows,
      accessTokenSeconds: c.accessTokenSeconds,
      refreshTokenSeconds: c.refreshTokenSeconds,
      callbackUrls: c.callbackUrls.map(local),
      logoutUrls: c.logoutUrls.map(local),
      ...(apiKey ? { apiKey } : {}),
    };
  });
  const file: ClientsFile = { apiUrl, issuers, clients };
  writeJsonFile(clientsPath(dataDir), file);
  return file;
}

export interface MintTokenOptions {
  /** Which client the token is for (by id or by ClientName). */
  readonly client: string;
  /** Scopes to grant. @default - every scope the client is allowed */
  readonly scopes?: readonly string[];
  /** Lifetime; negative mints an already expired token (for tests). @default - the client's access-token validity */
  readonly expiresInSeconds?: number;
  /** Overrides the issuer claim (for tests of a foreign issuer). @default - the client's pool issuer */
  readonly issuer?: string;
}

/** Signs a Cognito-shaped access token with the local key, exactly as the token endpoint would. */
export async function mintToken(dataDir: string, options: MintTokenOptions): Promise<string> {
  const clients = readJsonFile<ClientsFile>(clientsPath(dataDir));
  if (!clients) throw new Error(`no local clients in ${clientsPath(dataDir)}: start the local API first`);
  const client = clients.clients.find((c) => c.clientId === options.client || c.name === options.client);
  if (!client) {
    throw new Error(`no client '${options.client}'; known: ${clients.clients.map((c) => c.name).join(', ')}`);
  }
  const issuer = options.issuer ?? clients.issuers[client.poolRef];
  if (!issuer) throw new Error(`client '${client.name}' belongs to unknown user pool '${client.poolRef}'`);
  return signAccessToken(await loadSigningKey(dataDir), {
    issuer,
    client,
    scopes: options.scopes ?? client.scopes,
    expiresInSeconds: options.expiresInSeconds ?? client.accessTokenSeconds,
  });
}

async function signAccessToken(
  key: SigningKeyFile,
  o: { issuer: string; client: StoredClient; scopes: readonly string[]; expiresInSeconds: number },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    key,
    o.issuer,
    {
      sub: o.client.clientId,
      token_use: 'access',
      scope: o.scopes.join(' '),
      auth_time: now,
      version: 2,
      client_id: o.client.clientId,
    },
    o.expiresInSeconds,
  );
}

/** Signs claims as the pool's issuer: `iss`, `iat`, `exp` and `jti` are added. */
export async function signJwt(
  key: SigningKeyFile,
  issuer: string,
  claims: Record<string, unknown>,
  expiresInSeconds: number,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const privateKey = await importJWK(key.privateJwk, 'RS256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds)
    .setJti(randomUUID())
    .sign(privateKey);
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json;charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** The client a token request authenticates as: HTTP Basic or form fields (RFC 6749 §2.3.1), secret if any. */
function clientAuthentication(
  req: IncomingMessage,
  form: URLSearchParams,
): { clientId?: string; clientSecret?: string } {
  const basic = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Both parts are form-urlencoded before Base64.
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon < 0 ? undefined : colon)),
      clientSecret: colon < 0 ? '' : decodeURIComponent(decoded.slice(colon + 1)),
    };
  }
  const clientId = form.get('client_id') ?? undefined;
  const clientSecret = form.get('client_secret') ?? undefined;
  return { ...(clientId ? { clientId } : {}), ...(clientSecret !== undefined ? { clientSecret } : {}) };
}

/** Serves `/cognito/<poolRef>/…`: the JWKS, discovery, the token endpoint and people's sign-in (./signin.ts). */
export class LocalIssuer {
  private constructor(
    private readonly key: SigningKeyFile,
    private readonly clients: ClientsFile,
    private readonly jwks: string,
    private readonly signIn: SignIn,
  ) {}

  static async create(dataDir: string, clients: ClientsFile): Promise<LocalIssuer> {
    const key = await loadSigningKey(dataDir);
    // Derive the public half from the private key so a hand-edited file cannot publish a mismatched key.
    const publicKey = createPublicKey({ key: key.privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    const jwk = { ...(await exportJWK(publicKey)), kid: key.kid, alg: 'RS256', use: 'sig' };
    const signIn = new SignIn(key, clients, syncUsers(dataDir));
    return new LocalIssuer(key, clients, JSON.stringify({ keys: [jwk] }), signIn);
  }

  /** True when the request was for the issuer (and has been answered). */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, body: string): Promise<boolean> {
    const m = /^\/cognito\/([^/]+)(\/.*)$/.exec(path);
    if (!m?.[1] || !m[2]) return false;
    const poolRef = decodeURIComponent(m[1]);
    const issuer = this.clients.issuers[poolRef];
    if (issuer === undefined) {
      sendJson(res, 404, { error: 'not_found', error_description: `no local user pool '${poolRef}'` });
      return true;
    }
    const query = new URL(req.url ?? '/', 'http://local').searchParams;
    const route = `${req.method} ${m[2]}`;
    switch (route) {
      case 'GET /.well-known/jwks.json':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(this.jwks) });
        res.end(this.jwks);
        return true;
      case 'GET /.well-known/openid-configuration':
        sendJson(res, 200, openIdConfiguration(issuer, this.clients, poolRef));
        return true;
      case 'GET /oauth2/authorize':
      case 'GET /login':
        this.signIn.authorize(res, poolRef, query);
        return true;
      case 'POST /login':
      case 'POST /oauth2/authorize':
        this.signIn.login(res, poolRef, query, new URLSearchParams(body));
        return true;
      case 'GET /logout':
        this.signIn.logout(res, poolRef, query);
        return true;
      case 'POST /oauth2/revoke': {
        const form = new URLSearchParams(body);
        const client = this.authenticate(req, form, poolRef);
        if (client) this.signIn.revoke(res, client, form);
        else sendJson(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="cognito"' });
        return true;
      }
      case 'POST /oauth2/token':
        await this.token(req, res, poolRef, body);
        return true;
    }
    if (m[2] === '/oauth2/token') {
      sendJson(res, 405, { error: 'invalid_request', error_description: 'use POST' }, { allow: 'POST' });
      return true;
    }
    sendJson(res, 404, { error: 'not_found', error_description: `unknown issuer path ${m[2]}` });
    return true;
  }

  /** The calling client: a confidential one proves its secret; a public one (no secret) names itself and proves PKCE
   *  (or owns the refresh token) instead. */
  private authenticate(req: IncomingMessage, form: URLSearchParams, poolRef: string): StoredClient | undefined {
    const { clientId, clientSecret } = clientAuthentication(req, form);
    const client = this.clients.clients.find((c) => c.clientId === clientId && c.poolRef === poolRef);
    if (!client) return undefined;
    if (client.clientSecret === undefined) return clientSecret ? undefined : client;
    return clientSecret !== undefined && sameSecret(clientSecret, client.clientSecret) ? client : undefined;
  }

  private async token(req: IncomingMessage, res: ServerResponse, poolRef: string, body: string): Promise<void> {
    const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
    if (!contentType.startsWith('application/x-www-form-urlencoded')) {
      sendJson(res, 400, {
        error: 'invalid_request',
        error_description: 'Content-Type must be application/x-www-form-urlencoded',
      });
      return;
    }
    const form = new URLSearchParams(body);
    const client = this.authenticate(req, form, poolRef);
    if (!client) {
      sendJson(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="cognito"' });
      return;
    }
    const grant = form.get('grant_type');
    if (grant === 'authorization_code' || grant === 'refresh_token') {
      await this.signIn.token(res, client, grant, form);
      return;
    }
    if (grant !== 'client_credentials') {
      sendJson(res, 400, { error: 'unsupported_grant_type' });
      return;
    }
    if (client.flows.length > 0 && !client.flows.includes('client_credentials')) {
      sendJson(res, 400, { error: 'unauthorized_client' });
      return;
    }
    const requested = (form.get('scope') ?? '').split(' ').filter(Boolean);
    if (requested.some((s) => !client.scopes.includes(s))) {
      sendJson(res, 400, { error: 'invalid_scope' });
      return;
    }
    const scopes = requested.length > 0 ? requested : client.scopes;
    const issuer = this.clients.issuers[poolRef] as string;
    const accessToken = await signAccessToken(this.key, {
      issuer,
      client,
      scopes,
      expiresInSeconds: client.accessTokenSeconds,
    });
    sendJson(res, 200, { access_token: accessToken, expires_in: client.accessTokenSeconds, token_type: 'Bearer' });
  }
}

/** The pool's discovery document as Cognito shapes it: authorize, token, JWKS and /logout (which, as on Cognito, wants
 *  `client_id` and `logout_uri`); /oauth2/revoke exists but, as on Cognito, is not listed. */
function openIdConfiguration(issuer: string, clients: ClientsFile, poolRef: string): Record<string, unknown> {
  const scopes = new Set(['openid', 'profile', 'email']);
  for (const c of clients.clients) if (c.poolRef === poolRef) for (const s of c.scopes) scopes.add(s);
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth2/authorize`,
    token_endpoint: `${issuer}/oauth2/token`,
    end_session_endpoint: `${issuer}/logout`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    code_challenge_methods_supported: ['S256'],
    subject_types_supported: ['public'],
    scopes_supported: [...scopes].sort(),
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
}

/** What the CLI, the demo and the tests need to call the local API: client credentials, keys and the token URL. */
export interface LocalCredentials {
  readonly apiUrl: string;
  readonly tokenUrl: string;
  readonly clients: readonly {
    readonly name: string;
    readonly clientId: string;
    readonly clientSecret: string;
    readonly scopes: readonly string[];
    readonly apiKey?: string;
    readonly tokenUrl: string;
  }[];
}

/** Reads the local credentials the API wrote at start (throws when it has never run with this data dir). */
export function localCredentials(dataDir: string): LocalCredentials {
  const file = readJsonFile<ClientsFile>(clientsPath(dataDir));
  if (!file) throw new Error(`no local credentials in ${clientsPath(dataDir)}: start the local stage first`);
  const tokenUrlOf = (pool: string) => `${file.issuers[pool] ?? issuerUrl(file.apiUrl, pool)}/oauth2/token`;
  const firstPool = Object.keys(file.issuers)[0];
  return {
    apiUrl: file.apiUrl,
    tokenUrl: firstPool ? tokenUrlOf(firstPool) : '',
    // Machine clients only: a public client (the console) has no secret and signs people in instead.
    clients: file.clients
      .flatMap((c) => (c.clientSecret === undefined ? [] : [{ ...c, clientSecret: c.clientSecret }]))
      .map((c) => ({
        name: c.name,
        clientId: c.clientId,
        clientSecret: c.clientSecret,
        scopes: c.scopes,
        ...(c.apiKey ? { apiKey: c.apiKey } : {}),
        tokenUrl: tokenUrlOf(c.poolRef),
      })),
  };
}
