// Helpers the local lifecycle tests share.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalStage, ROOT, runProjectCommand, startLocalStage } from '../../stage.js';

const trained = existsSync(join(ROOT, 'models', 'fraud-detector', 'artifacts', 'model.onnx'));

/** A quiet local stage in `dir` from the synthesized cdk.out, with a 2 s canary bake and 200 ms Wait states. */
export function startLifecycleStage(dir: string): Promise<LocalStage> {
  return startLocalStage({
    dataDir: dir,
    port: 0,
    synth: false,
    train: !trained,
    log: () => {},
    lifecycle: { canaryBakeSeconds: 2, waitMs: 200 },
  });
}

/** The version the endpoint serves, as a v2 answer names it. */
export async function servedVersion(stage: LocalStage): Promise<string> {
  const res = await fetch(`${stage.model.url}/endpoints/x/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'features', shape: [1, 30], datatype: 'FP32', data: new Array(30).fill(0) }],
    }),
  });
  return ((await res.json()) as { model_version: string }).model_version;
}

/**
 * A lake of labelled, drifted history the bootstrap champion has not seen: a retraining run on it passes the gate and
 * trains in seconds.
 */
export const DRIFTED_HISTORY = {
  customers: 600,
  days: 18,
  drift: { fromDay: 0, newPatternShare: 0.5, amountShift: 2, newMerchantShare: 0.3 },
};

/**
 * Synthesizes the dev stage with Prod's manual approval (./manual-approval-app.ts) into `assemblyDir`, with the
 * AwaitApproval timeout given: the assembly a local stage runs to have a version wait for an operator.
 */
export async function synthesizeManualApproval(assemblyDir: string, approvalTimeoutSeconds: number): Promise<void> {
  // The CDK CLI reads cdk.json (context, feature flags) as for `npm run synth`; only the app entry differs.
  const app = join('local', 'lifecycle', 'test', 'manual-approval-app.ts');
  const output: string[] = [];
  // The approval timeout is the environment's prop, given here as context: the template is used as synthesized.
  const context = ['-c', `approvalTimeoutSeconds=${approvalTimeoutSeconds}`];
  await runProjectCommand(
    ['cdk', 'synth', '-q', 'Dev/*', '--app', `tsx ${app}`, ...context, '--output', assemblyDir],
    (line) => output.push(line),
  ).catch((error: unknown) => {
    throw new Error(`synthesizing ${app} failed: ${error}\n${output.slice(-20).join('\n')}`);
  });
}
