// How a fresh execution environment of the score function serves its first calls: one environment, calls one after
// another through the Lambda runtime (no HTTP, no API emulator, nothing else running), each call's duration by its
// position. A new V8 isolate runs the score path unoptimised at first; this curve is what the first seconds after
// `ready` meet, and why a fixed 30 req/s then queues on two shared cores (bench/scoring.bench.ts, cold run).
// Run: npx tsx bench/score-warmup.bench.ts   (≈ 30 s; writes bench/results/score-warmup.json)
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStage } from '../local/stage.js';
import { apiEvent } from './support/api-event.js';
import { type Figure, info, median, printTable, ROOT, writeResult } from './support/figures.js';

const CALLS = 60;
/** The cold run's rate in bench/scoring.bench.ts: what one environment would have to keep up with alone. */
const COLD_RATE = 30;
const say = (line: string) => process.stdout.write(`${line}\n`);

const started = Date.now();
const dataDir = mkdtempSync(join(tmpdir(), 'aims-bench-warmup-'));
const stage = await startLocalStage({
  port: 0,
  synth: !existsSync(join(ROOT, 'cdk.out', 'assembly-Dev')),
  enforceLimits: false,
  dataDir,
  log: () => {},
});
try {
  const score = stage.runtime.functions.find((f) => f.environment.MODEL_ENDPOINT_NAME && f.environment.DECISIONS_TABLE);
  if (!score)
    throw new Error('the dev template has no score function (one with MODEL_ENDPOINT_NAME and DECISIONS_TABLE)');
  const gateway = stage.api.credentials().clients.find((c) => c.name === 'merchant-gateway');
  if (!gateway) throw new Error('the dev template has no merchant-gateway client');
  const caller = { clientId: gateway.clientId, scopes: 'aims/score' };
  const tag = `w${Date.now().toString(36)}`;
  const durations: number[] = [];
  // Sequential: each call finds the one warm environment idle, so no second environment starts.
  for (let i = 0; i < CALLS; i++) {
    const body = JSON.stringify({
      transactionId: `${tag}-${i}`,
      customerId: `${tag}-c${i % 7}`,
      merchantId: `${tag}-m${i % 3}`,
      merchantCategory: 'grocery',
      amount: 20 + i,
      currency: 'EUR',
      country: 'DE',
      channel: 'card_present',
      timestamp: new Date().toISOString(),
    });
    const result = await stage.runtime.invoke(score.name, apiEvent(caller, i, '/v1/score', body));
    if (!result.ok) throw new Error(`score call ${i + 1} failed: ${result.errorType}: ${result.errorMessage}`);
    durations.push(result.durationMs);
  }
  const stats = stage.runtime.stats().find((f) => f.name === score.name);
  const steady = median(durations.slice(20));
  const firstTwenty = durations.slice(0, 20).reduce((a, b) => a + b, 0);
  const figures: Figure[] = [
    info('score call 1 in a fresh environment', durations[0] ?? Number.NaN, 'ms'),
    info('score calls 2–5, median', median(durations.slice(1, 5)), 'ms'),
    info('score calls 6–20, median', median(durations.slice(5, 20)), 'ms'),
    info(`score calls 21–${CALLS}, median (steady)`, steady, 'ms'),
    info('call 1 over steady', (durations[0] ?? Number.NaN) / steady, 'ratio'),
    info('calls one environment serves a second over its first 20', (20 * 1000) / firstTwenty, 'calls/s'),
    info(`the cold run's rate`, COLD_RATE, 'calls/s'),
    info('environments of the score function at the end', stats?.workers ?? Number.NaN, 'environments'),
  ];
  writeResult('score-warmup', started, figures, { durations });
  printTable(figures);
  say(
    `\nfirst calls (ms): ${durations
      .slice(0, 20)
      .map((d) => d.toFixed(1))
      .join(', ')}`,
  );
} finally {
  await stage.close();
  rmSync(dataDir, { recursive: true, force: true });
}
