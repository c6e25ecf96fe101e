// `npm run demo -- --drift`: the model lifecycle in the console — drift injected → detected → retraining → gate →
// new version serving — on a local stage the demo started, using the same template, bundles and state machine as AWS.
import type { ExecutionRecord } from './lifecycle/state-machine.js';
import type { LocalStage } from './stage.js';

/** History the dataset query can learn from (the query reads decisions 30 to 7 days old) and that has drifted. */
const DRIFTED_HISTORY = {
  customers: 600,
  days: 18,
  drift: { fromDay: 0, newPatternShare: 0.5, amountShift: 2, newMerchantShare: 0.3 },
} as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

/** Runs the drift scenario and returns 0 when a new version ends up serving, 1 otherwise. */
export async function runDriftDemo(stage: LocalStage, log: (line: string) => void): Promise<number> {
  const { lifecycle } = stage;
  const before = lifecycle.status();
  log(
    `▶ champion: ${before.champion} (serving ${before.serving.version}); ${before.versions.length} registered versions`,
  );

  log('▶ the lake: labelled decision history, drifted (new fraud pattern, amounts ×2, new merchants)');
  const seeded = await lifecycle.seedLake(DRIFTED_HISTORY);
  log(
    `  ${seeded.decisions} decisions, ${seeded.labels} labels (${seeded.frauds} fraud), ${seeded.from} → ${seeded.to}`,
  );

  log('▶ drift injected: drifted live traffic through the endpoint (captured like any request)');
  const injected = await lifecycle.injectDrift({ count: 600 });
  log(`  ${injected.sent} requests captured, ${injected.failed} failed`);

  log('▶ the drift check (the template’s scheduled function) runs against the capture');
  const check = await lifecycle.runDriftCheck();
  if (!check.ok) {
    log(`  ✖ the drift check failed: ${check.errorType}: ${check.errorMessage}`);
    return 1;
  }
  const report = check.payload as {
    drifted?: { name: string; psi: number; threshold: number }[];
    samples?: number;
    scorePsi?: number;
  };
  const drifted = [...(report.drifted ?? [])].sort((a, b) => b.psi - a.psi);
  log(
    `  ${report.samples ?? '?'} samples; ${drifted.length} features over their PSI threshold` +
      (report.scorePsi === undefined ? '' : `; score PSI ${report.scorePsi.toFixed(3)}`),
  );
  for (const f of drifted.slice(0, 5))
    log(`    ${f.name.padEnd(28)} PSI ${f.psi.toFixed(3)} (threshold ${f.threshold})`);
  if (!report.drifted?.length) {
    log('  no drift detected, so no retraining starts');
    return 1;
  }

  log('▶ ModelDriftDetected → bus rule → retraining state machine');
  const seen = new Set<string>();
  const stop = lifecycle.stepFunctions.onChange((record: ExecutionRecord) => {
    for (const state of record.states) {
      const key = `${record.executionArn}:${state}`;
      if (seen.has(key)) continue;
      seen.add(key);
      log(`  · ${state}`);
    }
  });
  try {
    const execution = await until(
      () => lifecycle.stepFunctions.list().find((e) => e.input.includes('"drift"')),
      30_000,
      'the drift-triggered execution',
    );
    const done = await lifecycle.waitForExecution(execution.executionArn);
    const after = lifecycle.status();
    log(`▶ retraining ${done.status.toLowerCase()}${done.error ? ` (${done.error}: ${done.cause ?? ''})` : ''}`);
    log(`  champion: ${after.champion}`);
    log(`  serving:  ${after.serving.version} (was ${before.serving.version}); models stack ${after.stack.status}`);
    const newest = after.versions.at(-1);
    if (newest) log(`  registry: version ${newest.version} ${newest.approval}`);
    return done.status === 'SUCCEEDED' && after.serving.version !== before.serving.version ? 0 : 1;
  } finally {
    stop();
  }
}
