// The API docs in a real browser (Debian's chromium): Swagger UI renders the local document offline, "Try it out"
// sends a pasted bearer token (no API key: the authorizer supplies it), and the authorization survives a reload.
import { rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../../test/support/browser.js';
import { type LocalApi, startLocalApi } from '../index.js';
import { devTemplate, freePort, RoutingInvoker, tempDataDir } from './support.js';

const DENY = {
  principalId: 'docs-test',
  policyDocument: {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: '*' }],
  },
};

let api: LocalApi;
let dataDir: string;
let browser: Browser;

beforeAll(async () => {
  dataDir = tempDataDir();
  const port = await freePort();
  api = await startLocalApi({
    template: devTemplate(`http://127.0.0.1:${port}`),
    // The authorizer denies: the test is about what the browser sends, not about what the API answers.
    invoker: new RoutingInvoker(() => ({ ok: true, payload: DENY, durationMs: 0 })),
    dataDir,
    port,
    enforceLimits: false,
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.close(0);
  rmSync(dataDir, { recursive: true, force: true });
});

test('GIVEN /docs/ in chromium WHEN a bearer token is authorized and getDecision is tried THEN the request carries it (and no API key: the authorizer supplies the caller’s), offline, and it persists', async () => {
  const page = await browser.newPage();
  const external: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(api.url)) external.push(r.url());
  });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${api.url}/docs/`);
  await page.locator('.swagger-ui .info .title').filter({ hasText: 'AIMS' }).waitFor();

  await page.locator('.swagger-ui .btn.authorize').first().click();
  const bearer = page.locator('.auth-container').filter({ hasText: 'bearer' });
  await bearer.locator('input').fill('token-for-the-docs-test');
  await bearer.locator('button.authorize').click();
  // One credential: the document has no API key scheme to fill in (the key source is the authorizer).
  expect(await page.locator('.auth-container').filter({ hasText: 'x-api-key' }).count()).toBe(0);
  await page.locator('.btn-done').first().click();

  const tryDecision = async () => {
    const op = page.locator('.opblock').filter({ has: page.locator('[data-path="/v1/decisions/{id}"]') });
    await op.locator('.opblock-summary').click();
    await op.locator('.try-out__btn').click();
    await op.locator('input[placeholder="id"]').fill('d-1');
    const sent = page.waitForRequest((r) => r.url().includes('/v1/decisions/d-1'));
    await op.locator('.execute').click();
    return (await sent).headers();
  };
  const headers = await tryDecision();
  expect(headers.authorization).toBe('Bearer token-for-the-docs-test');
  expect(headers).not.toHaveProperty('x-api-key');

  // persistAuthorization: opening the page again keeps the token.
  await page.goto(`${api.url}/docs/`);
  await page.locator('.swagger-ui .info .title').waitFor();
  const again = await tryDecision();
  expect(again.authorization).toBe('Bearer token-for-the-docs-test');

  expect(external).toEqual([]);
  expect(errors.filter((e) => !/401|403|Failed to load resource/.test(e))).toEqual([]);
  await page.close();
}, 90_000);
