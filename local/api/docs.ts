// The local /docs: Swagger UI from the installed swagger-ui-dist (allowlisted files only) over /openapi.json.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import {
  DOCS_PAGE_HTML,
  DOCS_SCRIPT,
  DOCS_SCRIPT_FILE,
  SWAGGER_UI_FILES,
  swaggerUiDir,
} from '../../lib/constructs/api-docs-page.js';
import { CONTENT_TYPES, SECURITY_HEADERS } from './console.js';

/** Where the local API serves the docs. */
export const DOCS_PATH = '/docs/';

export interface DocsFiles {
  /** Answers a GET or HEAD under /docs (true) or leaves the request (false). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

/** The docs page and its files, read once (they change only with the installed package). */
export function docsFiles(): DocsFiles {
  const dir = swaggerUiDir();
  const files = new Map<string, Buffer>([
    ['', Buffer.from(DOCS_PAGE_HTML)],
    [DOCS_SCRIPT_FILE, Buffer.from(DOCS_SCRIPT)],
  ]);
  const load = (name: string): Buffer | undefined => {
    if (!files.has(name) && (SWAGGER_UI_FILES as readonly string[]).includes(name)) {
      files.set(name, readFileSync(join(dir, name)));
    }
    return files.get(name);
  };
  return {
    handle(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      if (path === '/docs') {
        // The page's URLs are relative to its folder.
        res.writeHead(301, { location: DOCS_PATH, 'content-length': '0' });
        res.end();
        return true;
      }
      if (!path.startsWith(DOCS_PATH)) return false;
      const name = path.slice(DOCS_PATH.length);
      const body = name === 'index.html' ? load('') : load(name);
      if (!body) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '10' });
        res.end('Not Found\n');
        return true;
      }
      res.writeHead(200, {
        // The same policy as on CloudFront, so a page that needs more than it allows fails here first.
        ...SECURITY_HEADERS,
        'content-type': CONTENT_TYPES[name === '' ? '.html' : extname(name)] ?? 'application/octet-stream',
        'content-length': String(body.length),
        'cache-control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
