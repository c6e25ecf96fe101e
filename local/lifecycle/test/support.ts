// Helpers the local lifecycle tests share.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalStage, ROOT, startLocalStage } from '../../stage.js';

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
