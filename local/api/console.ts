// The console in the local stage: the built app (console/dist) at <apiUrl>/console/ and its config.json generated
// from the template — the console's app client (found by its `aims:console` metadata) on the local issuer.
import { createReadStream, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { CONSOLE_CONFIG_FILE, ConsoleConfig } from '../../lambdas/shared/contracts/console.js';
import { CONSOLE_METADATA_KEY } from '../../lib/constructs/console-metadata.js';
import type { LocalResource, LocalTemplate } from '../types.js';
import { issuerUrl } from './cognito.js';

/** Where the local API serves the console. */
export const CONSOLE_PATH = '/console/';

/** Content types of what the local stage serves as files (the console's build, the docs). */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite content-hashes what it writes under assets/: those never change under one name. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html and config.json name the current build: revalidate every time. */
const REVALIDATE = 'no-cache';

/** The headers CloudFront's response headers policy adds, for the same origin-only app (and the docs page). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
};

/** The console's app client as the template declares it, with its AWS URLs mapped to the local console. */
export interface LocalConsoleClient {
  readonly clientId: string;
  readonly poolRef: string;
  readonly scopes: readonly string[];
  /** The client's CallbackURLs with the distribution's origin replaced by `<apiUrl>/console/`. */
  readonly callbackUrls: readonly string[];
  /** Its LogoutURLs, mapped the same way. */
  readonly logoutUrls: readonly string[];
}

function tagged(template: LocalTemplate, type: string, role: string): LocalResource | undefined {
  const found = template.ofType(type).filter((r) => r.metadata[CONSOLE_METADATA_KEY] === role);
  if (found.length > 1) {
    throw new Error(`the template has ${found.length} ${type} resources tagged ${CONSOLE_METADATA_KEY}=${role}`);
  }
  return found[0];
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/** The local URL of a URL on the console's distribution (`https://<domain>/x` → `<apiUrl>/console/x`). */
export function localConsoleUrl(url: string, distributionDomain: string | undefined, apiUrl: string): string {
  const base = `${apiUrl.replace(/\/$/, '')}${CONSOLE_PATH}`;
  if (!distributionDomain) return url;
  const prefix = `https://${distributionDomain}`;
  if (url !== prefix && !url.startsWith(`${prefix}/`)) return url;
  return `${base}${url.slice(prefix.length).replace(/^\//, '')}`;
}

/** The console's app client, or undefined when the template has no console (an assembly from before it). */
export function localConsoleClient(template: LocalTemplate, apiUrl: string): LocalConsoleClient | undefined {
  const client = tagged(template, 'AWS::Cognito::UserPoolClient', 'app-client');
  if (!client) return undefined;
  const domain = tagged(template, 'AWS::CloudFront::Distribution', 'distribution')?.attributes.DomainName;
  const local = (urls: unknown) => strings(urls).map((u) => localConsoleUrl(u, domain, apiUrl));
  return {
    clientId: client.ref,
    poolRef: String(client.properties.UserPoolId),
    scopes: strings(client.properties.AllowedOAuthScopes),
    callbackUrls: local(client.properties.CallbackURLs),
    logoutUrls: local(client.properties.LogoutURLs),
  };
}

/** config.json of the local console: same origin for the API, the local issuer of the client's pool. */
export function localConsoleConfig(template: LocalTemplate, apiUrl: string): ConsoleConfig | undefined {
  const client = localConsoleClient(template, apiUrl);
  if (!client) return undefined;
  return ConsoleConfig.parse({
    stage: 'local',
    apiUrl: '',
    auth: {
      authority: issuerUrl(apiUrl, client.poolRef),
      clientId: client.clientId,
      scopes: client.scopes,
    },
  });
}

export interface ConsoleFiles {
  /** Answers a request under /console (true) or leaves it (false). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

function notFound(res: ServerResponse): void {
  const body = 'Not Found\n';
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The file under `root` that `relative` names, or undefined for a name that leaves it or is not a file. */
function fileUnder(root: string, relative: string): string | undefined {
  const segments = relative.split('/');
  if (segments.some((s) => s === '..' || s === '.' || s.includes('\\') || s.includes('\0'))) return undefined;
  let real: string;
  try {
    real = realpathSync(join(root, ...segments));
  } catch {
    return undefined;
  }
  // A symbolic link inside dist must not lead out of it either.
  if (!real.startsWith(root + sep)) return undefined;
  return statSync(real).isFile() ? real : undefined;
}

/** Serves `distDir` at /console/ and `config` as /console/config.json (GET and HEAD). */
export function consoleFiles(distDir: string, config: ConsoleConfig | undefined): ConsoleFiles {
  const configJson = config ? `${JSON.stringify(config, null, 2)}\n` : undefined;
  let root: string | undefined;
  const rootDir = (): string | undefined => {
    try {
      root ??= realpathSync(distDir);
    } catch {
      return undefined;
    }
    return root;
  };

  function sendFile(req: IncomingMessage, res: ServerResponse, file: string, relative: string): void {
    const stat = statSync(file);
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const headers = {
      ...SECURITY_HEADERS,
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'cache-control': relative.startsWith('assets/') ? IMMUTABLE : REVALIDATE,
      etag,
      'last-modified': stat.mtime.toUTCString(),
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(stat.size) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  return {
    handle(req, res, path) {
      if (path !== '/console' && !path.startsWith(CONSOLE_PATH)) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-length': '0' });
        res.end();
        return true;
      }
      // The app's URLs are relative to its folder: /console must become /console/.
      if (path === '/console') {
        res.writeHead(301, { location: CONSOLE_PATH, 'content-length': '0' });
        res.end();
        return true;
      }
      let relative: string;
      try {
        relative = decodeURIComponent(path.slice(CONSOLE_PATH.length));
      } catch {
        notFound(res);
        return true;
      }
      if (relative === CONSOLE_CONFIG_FILE && configJson !== undefined) {
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': REVALIDATE,
          'content-length': Buffer.byteLength(configJson),
        });
        res.end(req.method === 'HEAD' ? undefined : configJson);
        return true;
      }
      const dir = rootDir();
      if (!dir) {
        const body = `The console is not built (${distDir} is missing): run npm run console:build\n`;
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return true;
      }
      const file = fileUnder(dir, relative === '' ? 'index.html' : relative);
      if (file) {
        sendFile(req, res, file, relative);
        return true;
      }
      // A client-side route (no file extension, nothing dangerous in it) gets the app; a missing file is a 404.
      const last = relative.split('/').pop() ?? '';
      const index = fileUnder(dir, 'index.html');
      if (index && !last.includes('.') && !relative.split('/').includes('..') && !relative.includes('\0')) {
        sendFile(req, res, index, 'index.html');
        return true;
      }
      notFound(res);
      return true;
    },
  };
}
