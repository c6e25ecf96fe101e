// The console in a real browser (Debian's chromium driven by playwright-core) against one local stage: an analyst
// signs in through the local login page, watches the review queue fill from demo traffic, labels a decision fraud and
// overrides it (both readable through the API), cannot approve a model version (disabled in the UI, 403 from the
// API); an operator approves the version a retraining run parked for approval. axe-core checks every page, and each
// page is saved as a screenshot under test/.tmp/console/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Locator, Page } from 'playwright-core';
import { type DecisionRecord, ModelList, type RetrainResponse } from '../../lambdas/shared/contracts/api.js';
import { AuditTrail } from '../../lambdas/shared/contracts/review.js';
import { readLocalUsers } from '../../local/api/users.js';
import { ensureConsoleBuilt } from '../../local/console-build.js';
import { demoTraffic } from '../../local/demo-traffic.js';
import { DRIFTED_HISTORY, manualApprovalAssembly, servedVersion } from '../../local/lifecycle/test/support.js';
import { ROOT, runProjectCommand } from '../../local/stage.js';
import {
  type Caller,
  call,
  callerFor,
  type E2eStage,
  mapLimit,
  runId,
  STAGE_HOOK_TIMEOUT_MS,
  startE2eStage,
} from '../e2e/support.js';
import { launchChromium } from '../support/browser.js';

const SCREENSHOTS = join(ROOT, 'test', '.tmp', 'console');
const MODEL = 'fraud-detector';
const trained = existsSync(join(ROOT, 'models', MODEL, 'artifacts', 'model.onnx'));
/** Transactions scored at most, and the review decisions that are enough to work the queue. */
const MAX_TRAFFIC = 400;
const ENOUGH_REVIEWS = 3;
/** Browser waits: a poll of the queue is 3 s, an API answer under load a few seconds. */
const UI_TIMEOUT_MS = 30_000;

let dir: string;
let e2e: E2eStage;
let browser: Browser;
let operatorClient: Required<Caller>;
let retraining: RetrainResponse;
const run = runId('console');

beforeAll(async () => {
  // First: without chromium nothing below is worth its minutes.
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'aims-console-'));
  // One stage for every check: the dev stage with manual approval, so a retraining run can wait for an operator
  // (the assembly the manual-approval suite runs too: synthesized once for both).
  // The build first: the console stack deploys console/dist, so the synth reads it. Only when the sources are newer
  // (as `npm start` does): in `npm test` the synth has just built it, and rewriting it here would change the files
  // other workers read (the manual-approval suite's synth and its cache key) while they read them.
  const t0 = Date.now();
  await ensureConsoleBuilt(ROOT, runProjectCommand, () => {});
  const t1 = Date.now();
  const assemblyDir = await manualApprovalAssembly();
  const t2 = Date.now();
  e2e = await startE2eStage('console', {
    dataDir: join(dir, 'data'),
    assemblyDir,
    train: !trained,
    lifecycle: { canaryBakeSeconds: 2, waitMs: 200 },
  });
  // The retraining run trains while the operator signs in; the operator approves the version it parks.
  operatorClient = await callerFor(e2e.stage, 'operator');
  await e2e.stage.lifecycle.seedLake(DRIFTED_HISTORY);
  const started = await call(e2e.stage, 'POST', `/v1/models/${MODEL}/retrain`, {
    caller: operatorClient,
    body: { reason: 'console test' },
  });
  if (started.status !== 202) throw new Error(`retrain answered ${started.status}: ${started.text}`);
  retraining = started.json as RetrainResponse;
  const s = (from: number, to: number) => `${((to - from) / 1000).toFixed(1)} s`;
  process.stderr.write(
    `console test: build ${s(t0, t1)}, manual-approval synth ${s(t1, t2)}, stage + lake ${s(t2, Date.now())}\n`,
  );
}, STAGE_HOOK_TIMEOUT_MS * 2);

afterAll(async () => {
  await browser?.close();
  await e2e?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, STAGE_HOOK_TIMEOUT_MS);

/** A page in a fresh browser context (its own sessionStorage: one person's session). */
async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  return context.newPage();
}

/** Opens the console, signs in through the local login page, and lands on the first page (the queue for analysts). */
async function signIn(page: Page, username: 'analyst' | 'operator'): Promise<void> {
  const user = readLocalUsers(e2e.stage.dataDir).find((u) => u.username === username);
  if (!user) throw new Error(`the local stage seeded no user ${username}`);
  await page.goto(`${e2e.stage.url}/console/`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('User name').waitFor({ timeout: UI_TIMEOUT_MS });
  await expectAccessible(page, 'login');
  await page.getByLabel('User name').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const landing = username === 'analyst' ? 'Review queue' : 'All decisions';
  await page.getByRole('heading', { level: 1, name: landing }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.getByText(`Signed in as ${username}`).waitFor({ timeout: UI_TIMEOUT_MS });
}

/**
 * Waits for `what` to show, or fails at once with the page's alert when the console reports an error instead (a page
 * that failed to load shows role=alert, never a silent blank), with a screenshot of that moment.
 */
async function shows(page: Page, what: Locator, name: string, timeout = UI_TIMEOUT_MS): Promise<void> {
  const alert = page.getByRole('alert').filter({ hasText: /\S/ });
  await what.or(alert).first().waitFor({ timeout });
  if (!(await what.first().isVisible())) {
    await screenshot(page, `failed-${name}`);
    throw new Error(`${name}: the console shows an error: ${await alert.first().textContent()}`);
  }
}

/** The access token the console holds (sessionStorage), to ask the API what the person's own token may do. */
async function browserToken(page: Page): Promise<string> {
  const token = await page.evaluate(() => {
    for (let i = 0; i < sessionStorage.length; i++) {
      const key = sessionStorage.key(i) ?? '';
      if (key.startsWith('oidc.user:'))
        return (JSON.parse(sessionStorage.getItem(key) ?? '{}') as { access_token?: string }).access_token;
    }
    return undefined;
  });
  if (!token) throw new Error('the console holds no access token in sessionStorage');
  return token;
}

/** axe-core over the page as it is now: no serious or critical violation. */
async function expectAccessible(page: Page, name: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${name}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Scores the demo's live traffic until enough review decisions exist (bounded by MAX_TRAFFIC). */
async function sendTraffic(): Promise<{ scored: number; reviews: number }> {
  const merchant = await callerFor(e2e.stage, 'merchant-gateway');
  const traffic = demoTraffic({ seed: 13, customers: 300, days: 3, fraudRate: 0.2 }, run).live.slice(0, MAX_TRAFFIC);
  let reviews = 0;
  let scored = 0;
  await mapLimit(traffic, 4, async (transaction) => {
    if (reviews >= ENOUGH_REVIEWS) return;
    const r = await call(e2e.stage, 'POST', '/v1/score', { caller: merchant, body: transaction });
    if (r.status !== 200) throw new Error(`score answered ${r.status}: ${r.text}`);
    scored++;
    if ((r.json as { decision: string }).decision === 'review') reviews++;
  });
  return { scored, reviews };
}

describe('GIVEN the console served by the local stage', () => {
  // First: the run started in beforeAll waits at AwaitApproval only APPROVAL_TIMEOUT_SECONDS (support.ts: the
  // timeout the manual-approval suite waits out), so the operator signs in while it trains and approves once it parks.
  it('WHEN an operator approves the version a retraining run parked THEN the run deploys it', async () => {
    const page = await newPage();
    await signIn(page, 'operator');

    // The run waits at AwaitApproval once it has trained and passed the gate.
    const deadline = Date.now() + 240_000;
    let pending: string | undefined;
    while (!pending) {
      const state = e2e.stage.lifecycle.stepFunctions.describe(retraining.executionArn);
      if (state.status !== 'RUNNING') throw new Error(`the run ended ${state.status}: ${state.error} ${state.cause}`);
      const models = await call(e2e.stage, 'GET', '/v1/models', { caller: operatorClient });
      const model = ModelList.parse(models.json).models.find((m) => m.name === MODEL);
      pending = model?.pendingApproval?.version;
      if (pending) break;
      if (Date.now() > deadline) throw new Error(`no version awaited approval within 240 s (${state.currentState})`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    await page.goto(`${e2e.stage.url}/console/#/models/${MODEL}`);
    await shows(page, page.getByText(`Version ${pending} passed the quality gate`), 'model (operator)');
    await screenshot(page, 'model-operator');
    await expectAccessible(page, 'model (operator)');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Approve and deploy' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Version ${pending} approved.` })
      .waitFor({ timeout: UI_TIMEOUT_MS });
    await page.context().close();

    const done = await e2e.stage.lifecycle.waitForExecution(retraining.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.states).toEqual(expect.arrayContaining(['AwaitApproval', 'Approve', 'Deployed']));
    expect(await servedVersion(e2e.stage)).toBe(pending);
  }, 300_000);

  it('WHEN an analyst works the queue THEN the label and the override reach the audit trail, approval is refused, and every page is accessible', async () => {
    const page = await newPage();
    await signIn(page, 'analyst');

    // The queue fills while traffic flows (the page polls; nothing is reloaded by hand).
    const traffic = sendTraffic();
    const firstRow = page.locator('table tbody tr').first();
    await shows(page, firstRow, 'queue', 120_000);
    const sent = await traffic;
    expect(sent.reviews).toBeGreaterThan(0);
    await expect(page.locator('table tbody tr').count()).resolves.toBeGreaterThan(0);
    await screenshot(page, 'queue');
    await expectAccessible(page, 'queue');

    // A decision: its page, a fraud label, an override with a note.
    const link = firstRow.getByRole('link');
    const id = (await link.textContent())?.trim() ?? '';
    await link.click();
    await page.getByRole('heading', { level: 1, name: `Decision ${id}` }).waitFor({ timeout: UI_TIMEOUT_MS });
    await shows(page, page.getByRole('heading', { name: 'Top attributions' }), 'decision');
    await shows(page, page.getByText('No label yet.'), 'audit trail');
    await screenshot(page, 'decision');
    await expectAccessible(page, 'decision');

    await page.getByRole('button', { name: 'Confirm fraud' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, it is fraud' }).click();
    await shows(page, page.getByRole('status').filter({ hasText: 'Label saved: fraud' }), 'label');

    await page.getByLabel('New decision').selectOption('decline');
    await page.getByLabel('Note (why)').fill('card used from two countries within the hour');
    await page.getByRole('button', { name: 'Override', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Record override' }).click();
    await shows(page, page.getByRole('status').filter({ hasText: 'Override recorded' }), 'override');
    await page.locator('.audit-overrides li').first().waitFor({ timeout: UI_TIMEOUT_MS });
    // The customer's list on the page follows: the decision is resolved by the label and shows the override.
    const listed = page
      .getByRole('table', { name: /^Latest decisions of customer/ })
      .getByRole('row')
      .filter({ hasText: id });
    await shows(
      page,
      listed.filter({ hasText: 'resolved by label' }).filter({ hasText: 'overridden' }),
      'recent decisions',
    );
    await screenshot(page, 'decision-reviewed');

    // Through the API with the analyst's own token: the label, the override beside the untouched original.
    const analyst = { token: await browserToken(page) };
    const original = await call(e2e.stage, 'GET', `/v1/decisions/${encodeURIComponent(id)}`, { caller: analyst });
    expect(original.status).toBe(200);
    const audit = await call(e2e.stage, 'GET', `/v1/decisions/${encodeURIComponent(id)}/audit`, { caller: analyst });
    expect(audit.status).toBe(200);
    const trail = AuditTrail.parse(audit.json);
    expect(trail.label).toMatchObject({ transactionId: id, isFraud: true, source: 'analyst' });
    expect(trail.overrides).toEqual([
      expect.objectContaining({
        transactionId: id,
        kind: 'override',
        previousDecision: (original.json as DecisionRecord).decision,
        decision: 'decline',
        note: 'card used from two countries within the hour',
      }),
    ]);
    expect(trail.effectiveDecision).toBe('decline');

    // Models: an analyst sees why approval is disabled, and the API refuses the analyst's token.
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor({ timeout: UI_TIMEOUT_MS });
    await shows(page, page.getByRole('link', { name: MODEL }), 'models');
    await screenshot(page, 'models');
    await expectAccessible(page, 'models');
    await page.getByRole('link', { name: MODEL }).click();
    await page.getByRole('heading', { level: 1, name: `Model ${MODEL}` }).waitFor({ timeout: UI_TIMEOUT_MS });
    const approveButton = page.getByRole('button', { name: 'Approve' });
    await expect(approveButton.isDisabled()).resolves.toBe(true);
    // (Not `shows`: until the drift history is readable with aims/read, this page also shows the drift route's 403.)
    await page.getByText('Only operators approve or reject versions').waitFor({ timeout: UI_TIMEOUT_MS });
    await screenshot(page, 'model-analyst');
    await expectAccessible(page, 'model');
    const refused = await call(e2e.stage, 'POST', `/v1/models/${MODEL}/versions/any/approve`, {
      caller: analyst,
      body: {},
    });
    expect(refused.status).toBe(403);

    // Live figures.
    await page.getByRole('link', { name: 'Live' }).click();
    await shows(page, page.getByRole('heading', { name: 'Decisions per minute' }), 'live');
    await screenshot(page, 'live');
    await expectAccessible(page, 'live');

    // Sign-out ends the session: the sign-in screen again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: UI_TIMEOUT_MS });
    await page.context().close();
  }, 300_000);
});
