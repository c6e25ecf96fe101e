// The console in the local stage: console/dist at /console/ (types, caching, app fallback, no way out of dist) and
// config.json generated from the dev template's console client, through the local API on the real template.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleConfig } from '../../../lambdas/shared/contracts/console.js';
import { consoleFiles, localConsoleUrl } from '../console.js';
import { type LocalApi, startLocalApi } from '../index.js';
import { devTemplate, echo, freePort, RoutingInvoker, tempDataDir } from './support.js';

/** A raw GET, so the path reaches the server exactly as written (fetch would normalize dot segments). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GIVEN a built console folder served at /console/', () => {
  let root: string;
  let server: Server;
  let base: string;
  const config: ConsoleConfig = {
    stage: 'local',
    apiUrl: '',
    auth: { authority: 'http://127.0.0.1:1/cognito/pool', clientId: 'client-1', scopes: ['openid'] },
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'aims-console-'));
    const dist = join(root, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><script src="./assets/app-1a2b.js"></script>');
    writeFileSync(join(dist, 'assets', 'app-1a2b.js'), 'console.log(1)');
    writeFileSync(join(dist, 'assets', 'app-1a2b.css'), 'body{}');
    writeFileSync(join(root, 'secret.txt'), 'outside dist');
    symlinkSync(join(root, 'secret.txt'), join(dist, 'link.txt'));
    const site = consoleFiles(dist, config);
    server = createServer((req, res) => {
      if (!site.handle(req, res, new URL(req.url ?? '/', 'http://x').pathname)) {
        res.writeHead(418);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(root, { recursive: true, force: true });
  });

  it('WHEN /console/ is asked THEN index.html comes back as HTML, revalidated, with the security headers', async () => {
    const r = await rawGet(base, '/console/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(r.body).toContain('app-1a2b.js');
  });

  it('WHEN /console (no slash) is asked THEN it redirects to /console/, where relative URLs resolve', async () => {
    const r = await rawGet(base, '/console');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('/console/');
  });

  it('WHEN a hashed asset is asked THEN it has its content type and is cached as immutable; a repeat with its ETag is 304', async () => {
    const js = await rawGet(base, '/console/assets/app-1a2b.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toBe('console.log(1)');
    const css = await rawGet(base, '/console/assets/app-1a2b.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const again = await rawGet(base, '/console/assets/app-1a2b.js', { 'if-none-match': String(js.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
  });

  it('WHEN config.json is asked THEN the generated config comes back, valid by the contract and never cached', async () => {
    const r = await rawGet(base, '/console/config.json');
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(ConsoleConfig.parse(JSON.parse(r.body))).toEqual(config);
  });

  it('WHEN a client-side route is asked THEN the app answers; a missing file is 404', async () => {
    const route = await rawGet(base, '/console/decisions/abc');
    expect(route.status).toBe(200);
    expect(route.body).toContain('app-1a2b.js');
    expect((await rawGet(base, '/console/assets/missing.js')).status).toBe(404);
  });

  it.each([
    '/console/..%2fsecret.txt',
    '/console/assets/..%2f..%2fsecret.txt',
    '/console/%2e%2e%2fsecret.txt',
    '/console/..%5csecret.txt',
    '/console/%00index.html',
    '/console/%E0%A4%A',
    '/console/link.txt',
  ])('WHEN %s tries to leave dist THEN 404 and nothing of what lies outside', async (path) => {
    const r = await rawGet(base, path);
    expect(r.status).toBe(404);
    expect(r.body).not.toContain('outside dist');
  });

  it('WHEN anything but GET or HEAD comes THEN 405; HEAD answers headers only', async () => {
    expect((await rawGet(base, '/console/', {}, 'POST')).status).toBe(405);
    const head = await rawGet(base, '/console/assets/app-1a2b.js', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('14');
    expect(head.body).toBe('');
  });

  it('WHEN a path is not under /console THEN the console leaves it to the API', async () => {
    expect((await rawGet(base, '/consoles')).status).toBe(418);
    expect((await rawGet(base, '/v1/health')).status).toBe(418);
  });
});

describe('GIVEN a CloudFront URL of the console', () => {
  it('THEN the local stage maps it to /console/ on the local API, and leaves other URLs as they are', () => {
    const local = (u: string) => localConsoleUrl(u, 'd123.cloudfront.net', 'http://127.0.0.1:3000');
    expect(local('https://d123.cloudfront.net/')).toBe('http://127.0.0.1:3000/console/');
    expect(local('https://d123.cloudfront.net/callback')).toBe('http://127.0.0.1:3000/console/callback');
    expect(local('https://d123.cloudfront.net.evil.example/')).toBe('https://d123.cloudfront.net.evil.example/');
  });
});

describe('GIVEN the local API on the dev template', () => {
  let api: LocalApi;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = tempDataDir();
    const port = await freePort();
    const template = devTemplate(`http://127.0.0.1:${port}`);
    api = await startLocalApi({ template, invoker: new RoutingInvoker(echo), dataDir, port, enforceLimits: false });
  });

  afterAll(async () => {
    await api?.close(0);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("WHEN the console's config.json is asked THEN it names the template's console client on the local issuer, same origin", async () => {
    const r = await fetch(`${api.url}/console/config.json`);
    expect(r.status).toBe(200);
    const config = ConsoleConfig.parse(await r.json());
    const client = api.definition.clients.find((c) => c.name === 'console');
    expect(config).toMatchObject({ stage: 'local', apiUrl: '', auth: { clientId: client?.clientId } });
    expect(config.auth.scopes).toEqual(expect.arrayContaining(['openid', 'aims/read', 'aims/review']));
    // The authority is this server's issuer for the client's pool: its keys are served there.
    expect(config.auth.authority).toBe(`${api.url}/cognito/${client?.poolRef}`);
    expect((await fetch(`${config.auth.authority}/.well-known/jwks.json`)).status).toBe(200);
  });

  it('WHEN /console/ and the asset its index.html loads are asked THEN the built app comes back', async () => {
    const index = await fetch(`${api.url}/console/`);
    expect(index.status).toBe(200);
    const html = await index.text();
    const built = readFileSync(join(process.cwd(), 'console', 'dist', 'index.html'), 'utf8');
    expect(html).toBe(built);
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${api.url}/console/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('WHEN a path tries to leave console/dist THEN 404', async () => {
    const r = await rawGet(api.url, '/console/..%2f..%2fpackage.json');
    expect(r.status).toBe(404);
    expect(r.body).not.toContain('"devDependencies"');
  });
});
