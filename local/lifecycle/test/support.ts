// Helpers the local lifecycle tests share.
import type { LocalStage } from '../../stage.js';

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
