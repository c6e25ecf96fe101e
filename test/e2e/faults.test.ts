// Fault injection on the local stage: the model endpoint goes down → rules fallback (degraded), then recovery.
import { DecisionRecord, ScoreResponse } from '../../lambdas/shared/contracts/api.js';
import {
  type Caller,
  call,
  callerFor,
  type E2eStage,
  runId,
  STAGE_HOOK_TIMEOUT_MS,
  startE2eStage,
  transaction,
} from './support.js';

/** The score service's breaker (lambdas/shared/inference.ts createModelPolicy defaults, used by lambdas/shared/model-route.ts):
 *  opens after 5 consecutive failures and lets one trial call through 10 s later (half-open). */
const BREAK_AFTER = 5;
const HALF_OPEN_AFTER_MS = 10_000;
/** How long recovery may take after the server is back: one half-open delay plus slack for a busy machine. */
const RECOVERY_BUDGET_MS = HALF_OPEN_AFTER_MS + 20_000;

let e2e: E2eStage;
let gateway: Required<Caller>;
let analyst: Required<Caller>;
const run = runId('faults');
let seq = 0;
/** When the breaker of the environment serving these sequential calls opened (its BREAK_AFTER-th failure). */
let openedAt = 0;

beforeAll(async () => {
  e2e = await startE2eStage('faults');
  gateway = await callerFor(e2e.stage, 'merchant-gateway');
  analyst = await callerFor(e2e.stage, 'analyst-console');
}, STAGE_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await e2e?.close();
}, STAGE_HOOK_TIMEOUT_MS);

async function score(): Promise<ScoreResponse> {
  const response = await call(e2e.stage, 'POST', '/v1/score', {
    caller: gateway,
    body: transaction(`${run}-${seq++}`),
  });
  if (response.status !== 200) throw new Error(`score answered ${response.status}: ${response.text}`);
  return ScoreResponse.parse(response.json);
}

describe('GIVEN the model endpoint is down', () => {
  it('WHEN transactions are scored THEN every one is answered by the rules, marked degraded and audited as such', async () => {
    expect((await score()).degraded).toBe(false);
    await e2e.stage.model.stop();
    expect(e2e.stage.model.running).toBe(false);

    // Enough calls to open the breaker of every execution environment that serves them.
    const answers: ScoreResponse[] = [];
    for (let i = 0; i < BREAK_AFTER * 2; i++) {
      answers.push(await score());
      if (i === BREAK_AFTER - 1) openedAt = Date.now();
    }
    for (const a of answers) {
      expect(a.degraded).toBe(true);
      expect(a.model).toEqual({ name: 'rules', version: '1' });
      expect(['approve', 'review', 'decline']).toContain(a.decision);
    }
    const last = answers.at(-1) as ScoreResponse;
    const audit = await call(e2e.stage, 'GET', `/v1/decisions/${last.transactionId}`, { caller: analyst });
    expect(audit.status).toBe(200);
    expect(DecisionRecord.parse(audit.json)).toMatchObject({ degraded: true, model: { name: 'rules' } });
  }, 60_000);

  it(
    'WHEN the endpoint comes back THEN decisions return to the model within the half-open delay',
    async () => {
      await e2e.stage.model.start();
      const started = Date.now();
      if (started - openedAt < HALF_OPEN_AFTER_MS - 2_000) {
        // The server is up but the breaker is still open: the call fails fast to the rules without trying the model.
        expect((await score()).degraded).toBe(true);
      }
      let recovered: ScoreResponse | undefined;
      while (Date.now() - started < RECOVERY_BUDGET_MS) {
        const answer = await score();
        if (!answer.degraded) {
          recovered = answer;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      if (!recovered) throw new Error(`still degraded ${RECOVERY_BUDGET_MS} ms after the model server restarted`);
      expect(recovered.model.name).toBe('fraud-detector');
      // Once the trial call succeeded the breaker is closed: the next answers come from the model again.
      for (let i = 0; i < 3; i++) expect((await score()).degraded).toBe(false);
    },
    RECOVERY_BUDGET_MS + 30_000,
  );
});
