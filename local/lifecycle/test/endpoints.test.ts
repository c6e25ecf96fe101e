// The local stage serves every real-time endpoint of the dev template: each endpoint name is answered through the
// SageMaker runtime SDK by its own model server (its own model, its own width), an unknown name is refused as SageMaker
// refuses it, and the startup output lists every endpoint.
import { rmSync } from 'node:fs';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadManifest } from '../../../models/shared/manifest.js';
import { STAGE_HOOK_TIMEOUT_MS, tempDataDir } from '../../../test/e2e/support.js';
import { type LocalStage, startLocalStage } from '../../stage.js';

let stage: LocalStage;
let dataDir: string;
const lines: string[] = [];

beforeAll(async () => {
  dataDir = tempDataDir('endpoints');
  stage = await startLocalStage({ dataDir, port: 0, synth: false, log: (line) => lines.push(line) });
}, STAGE_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await stage?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, STAGE_HOOK_TIMEOUT_MS);

function runtime(): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({
    endpoint: stage.endpoints.sagemakerRuntime,
    region: stage.template.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

function body(width: number): string {
  const data = new Array(width).fill(0);
  return JSON.stringify({ inputs: [{ name: 'features', shape: [1, width], datatype: 'FP32', data }] });
}

describe('GIVEN the dev template with two real-time models', () => {
  it('THEN the stage serves both, the scored one first, and its output lists every endpoint', () => {
    expect(stage.servedModels.map((m) => m.name)).toEqual(['fraud-detector', 'merchant-risk']);
    for (const m of stage.servedModels) {
      expect(lines).toContain(`  endpoint ${m.endpointName} serves ${m.name}`);
    }
    expect(lines.join('\n')).not.toMatch(/not served locally/);
  });

  it('WHEN each endpoint name is invoked THEN its own model server answers with its own model', async () => {
    const client = runtime();
    for (const m of stage.servedModels) {
      const width = loadManifest(m.dir).features.length;
      const out = await client.send(
        new InvokeEndpointCommand({ EndpointName: m.endpointName, ContentType: 'application/json', Body: body(width) }),
      );
      const answer = JSON.parse(Buffer.from(out.Body as Uint8Array).toString('utf8')) as {
        model_name: string;
        outputs: { shape: number[]; data: number[] }[];
      };
      expect(answer.model_name).toBe(m.name);
      expect(answer.outputs[0]?.shape).toEqual([1, 1]);
      expect(answer.outputs[0]?.data[0]).toBeGreaterThanOrEqual(0);
      expect(answer.outputs[0]?.data[0]).toBeLessThanOrEqual(1);
    }
    // Each endpoint's own front counted its own call.
    for (const m of stage.servedModels) expect(stage.lifecycle.endpoints.get(m.name).proxy.served.champion).toBe(1);
  });

  it('WHEN an endpoint the template does not have is invoked THEN SageMaker’s ValidationError comes back', async () => {
    await expect(
      runtime().send(
        new InvokeEndpointCommand({ EndpointName: 'aims-dev-nothing', ContentType: 'application/json', Body: body(1) }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(/aims-dev-nothing .*not found/),
    });
  });
});
