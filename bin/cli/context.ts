// Where the CLI talks to and as whom: the local stage from its data dir's credentials, or a deployed stage by URL with
// OAuth2 client credentials; mints tokens with a real client-credentials call and calls the API with them.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalCredentials, localCredentials } from '../../local/api/index.js';
import { type ApiError, CliError, UsageError } from './errors.js';
import { apiError, call, type HttpResponse, isLoopback, send } from './http.js';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const DEFAULT_LOCAL_URL = 'http://127.0.0.1:3000';
const RESOURCE_SERVER = 'aims';

/** Options every command accepts (commander's `optsWithGlobals()`). */
export interface GlobalOptions {
  readonly url?: string;
  readonly dataDir?: string;
  readonly client?: string;
  readonly token?: string;
  readonly tokenUrl?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly requestTimeout?: number;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

export interface ClientCredentials {
  /** The client's name when known (local stage), else its id. */
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenUrl: string;
}

export interface MintedToken {
  readonly token: string;
  readonly expiresIn: number;
  readonly scope: string;
  readonly client: string;
  readonly tokenUrl: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export class Context {
  readonly dataDir: string;
  readonly url: string;
  readonly local: LocalCredentials | undefined;
  readonly timeoutMs: number;
  private readonly tokens = new Map<string, Promise<MintedToken>>();

  constructor(
    readonly options: GlobalOptions,
    private readonly env: Env = process.env,
  ) {
    this.dataDir = resolve(options.dataDir ?? env.AIMS_DATA_DIR ?? join(ROOT, '.aims'));
    this.local = tryLocalCredentials(this.dataDir);
    const url = options.url ?? env.AIMS_URL ?? this.local?.apiUrl ?? DEFAULT_LOCAL_URL;
    if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--url must be an http(s) URL, got '${url}'`);
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = (options.requestTimeout ?? 30) * 1000;
  }

  get json(): boolean {
    return this.options.json === true;
  }

  get quiet(): boolean {
    return this.options.quiet === true;
  }

  /** True when the target is the local stage this data dir describes (its credentials apply). */
  get targetsLocalStage(): boolean {
    return this.local !== undefined && sameOrigin(this.local.apiUrl, this.url);
  }

  /** The OAuth2 client to use: explicit id/secret/token URL (deployed stage), else the local stage's client by name. */
  async credentials(defaultClient: string): Promise<ClientCredentials> {
    const o = this.options;
    const clientId = o.clientId ?? this.env.AIMS_CLIENT_ID;
    if (clientId) {
      const clientSecret = o.clientSecret ?? this.env.AIMS_CLIENT_SECRET;
      const tokenUrl = o.tokenUrl ?? this.env.AIMS_TOKEN_URL;
      if (!clientSecret) throw new UsageError('--client-id needs --client-secret (or AIMS_CLIENT_SECRET)');
      if (!tokenUrl) {
        throw new UsageError(
          '--client-id needs --token-url https://<cognito-domain>/oauth2/token (or AIMS_TOKEN_URL): the stack output names it',
        );
      }
      return { name: clientId, clientId, clientSecret, tokenUrl };
    }
    const name = o.client ?? defaultClient;
    if (!this.local) {
      if (isLoopback(this.url)) await this.requireStageRunning();
      throw new CliError(
        `no local credentials in ${join(this.dataDir, 'api', 'clients.json')} — start the local stage with \`npm start\` ` +
          '(or pass the --data-dir it uses); for a deployed stage pass --client-id, --client-secret and --token-url',
        1,
        { code: 'no_credentials' },
      );
    }
    if (!this.targetsLocalStage) {
      if (isLoopback(this.url)) await this.requireStageRunning();
      throw new UsageError(
        `the credentials in ${this.dataDir} belong to ${this.local.apiUrl}, not ${this.url}: ` +
          'pass --client-id, --client-secret and --token-url for that stage (or the --data-dir of the stage at that URL)',
      );
    }
    const client = this.local.clients.find((c) => c.name === name || c.clientId === name);
    if (!client) {
      throw new UsageError(`no client '${name}'; this stage has: ${this.local.clients.map((c) => c.name).join(', ')}`);
    }
    return {
      name: client.name,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      tokenUrl: client.tokenUrl,
    };
  }

  /** Probes /v1/health so a missing local stage is reported as such rather than as missing credentials. */
  private async requireStageRunning(): Promise<void> {
    await send({ method: 'GET', url: `${this.url}/v1/health`, timeoutMs: Math.min(this.timeoutMs, 5000) });
  }

  /** An OAuth2 client-credentials token (one per client and scope set per run). */
  mint(credentials: ClientCredentials, scopes: readonly string[] = []): Promise<MintedToken> {
    const key = `${credentials.clientId} ${scopes.join(' ')}`;
    let pending = this.tokens.get(key);
    if (!pending) {
      pending = requestToken(credentials, scopes.map(qualifyScope), this.timeoutMs);
      this.tokens.set(key, pending);
    }
    return pending;
  }

  /** Calls the API as `defaultClient` (or --client / --client-id) with its bearer token: its one credential (the
   *  authorizer names the client's usage-plan key). */
  async api(method: 'GET' | 'POST', path: string, defaultClient: string | null, json?: unknown): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    if (defaultClient !== null) {
      const explicit = this.options.token ?? this.env.AIMS_TOKEN;
      headers.authorization = `Bearer ${explicit ?? (await this.mint(await this.credentials(defaultClient))).token}`;
    }
    return call({
      method,
      url: `${this.url}${path}`,
      headers,
      ...(json !== undefined ? { json } : {}),
      timeoutMs: this.timeoutMs,
    });
  }
}

function tryLocalCredentials(dataDir: string): LocalCredentials | undefined {
  try {
    return localCredentials(dataDir);
  } catch {
    return undefined;
  }
}

function sameOrigin(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    const host = (h: string) => (h === 'localhost' ? '127.0.0.1' : h);
    return x.protocol === y.protocol && host(x.hostname) === host(y.hostname) && x.port === y.port;
  } catch {
    return false;
  }
}

/** `score` → `aims/score`; a scope with a slash is taken as written. */
export function qualifyScope(scope: string): string {
  return scope.includes('/') ? scope : `${RESOURCE_SERVER}/${scope}`;
}

/** Reads the `scope` claim of a JWT without verifying it (the API verifies; this is only for display). */
export function tokenScope(token: string): string {
  const payload = token.split('.')[1];
  if (!payload) return '';
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { scope?: unknown };
    return typeof claims.scope === 'string' ? claims.scope : '';
  } catch {
    return '';
  }
}

async function requestToken(
  credentials: ClientCredentials,
  scopes: readonly string[],
  timeoutMs: number,
): Promise<MintedToken> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scopes.length > 0) form.set('scope', scopes.join(' '));
  // RFC 6749 §2.3.1: form-encode id and secret before Base64 (Cognito accepts both).
  const basic = Buffer.from(
    `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`,
  ).toString('base64');
  const request = {
    method: 'POST' as const,
    url: credentials.tokenUrl,
    headers: { authorization: `Basic ${basic}` },
    form,
    timeoutMs,
  };
  const response = await send(request);
  if (response.status !== 200) throw tokenError(credentials, scopes, apiError(request, response));
  const body = response.body as { access_token?: unknown; expires_in?: unknown };
  if (typeof body.access_token !== 'string') {
    throw new CliError(`the token endpoint ${credentials.tokenUrl} answered 200 without an access_token`);
  }
  return {
    token: body.access_token,
    expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 0,
    scope: tokenScope(body.access_token),
    client: credentials.name,
    tokenUrl: credentials.tokenUrl,
  };
}

function tokenError(credentials: ClientCredentials, scopes: readonly string[], error: ApiError): CliError {
  const fix =
    error.code === 'invalid_client'
      ? 'the client id or secret is wrong (for the local stage: is --data-dir the one the running stage uses?)'
      : error.code === 'invalid_scope'
        ? `client '${credentials.name}' may not request ${scopes.join(' ')}`
        : error.status === 404
          ? `${credentials.tokenUrl} is not a token endpoint — check --token-url`
          : 'check the token URL and client';
  return new CliError(`could not get a token for '${credentials.name}': ${error.message}\n  ${fix}`, 1, {
    ...error.info,
    code: error.code ?? 'token_error',
  });
}
