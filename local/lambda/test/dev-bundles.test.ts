// The runtime against the real synthesized dev stage: every function's bundle from cdk.out, loaded by the template loader.
import { readFileSync, rmSync } from 'node:fs';
import { loadLocalTemplate } from '../../template/index.js';
import { customResourceProviders } from '../functions.js';
import { type LambdaRuntime, startLambdaRuntime } from '../runtime.js';
import { closedEndpoints, tempDir } from './fixtures.js';

function proxyEvent(path: string) {
  return {
    resource: path,
    path,
    httpMethod: 'GET',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'req-1', resourcePath: path, httpMethod: 'GET', path, stage: 'v1' },
  };
}

describe('the dev stage functions in the local runtime', () => {
  const template = loadLocalTemplate({ assemblyDir: 'cdk.out', stageName: 'Dev' });
  let dataDir: string;
  let runtime: LambdaRuntime;

  beforeAll(async () => {
    dataDir = tempDir('lambda-dev');
    runtime = await startLambdaRuntime({ template, endpoints: closedEndpoints(), dataDir });
  });

  afterAll(async () => {
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('GIVEN the dev template WHEN the runtime starts THEN every function has a bundle and a handler export', () => {
    // All but the functions that only back custom resources (CloudFormation runs those; the stage does not serve them).
    const providers = customResourceProviders(template);
    const names = template
      .ofType('AWS::Lambda::Function')
      .filter((r) => !providers.has(`${r.stackName}/${r.logicalId}`))
      .map((r) => r.ref);
    expect(providers.size).toBeGreaterThan(0);
    expect(runtime.functions.map((f) => f.name).sort()).toEqual([...names].sort());
    for (const fn of runtime.functions) {
      expect(readFileSync(fn.modulePath, 'utf8')).toMatch(new RegExp(`export\\s*\\{[^}]*\\bas ${fn.exportName}\\b`));
    }
  });

  it('GIVEN the health bundle WHEN invoked cold then warm THEN it answers 200 within the cold-start budget', async () => {
    const health = runtime.functions.find((f) => f.logicalId.startsWith('HealthFunction'));
    if (!health) throw new Error('no health function in the dev template');
    const cold = await runtime.invoke(health.arn, proxyEvent('/v1/health'));
    expect(cold).toMatchObject({ ok: true, payload: { statusCode: 200 } });
    const body = cold.ok ? JSON.parse((cold.payload as { body: string }).body) : undefined;
    expect(body).toEqual({ status: 'ok', service: 'health', version: expect.any(String) });
    expect(cold.durationMs).toBeLessThan(3000);
    const warm: number[] = [];
    for (let i = 0; i < 50; i++) {
      const result = await runtime.invoke(health.name, proxyEvent('/v1/health'));
      expect(result.ok).toBe(true);
      warm.push(result.durationMs);
    }
    warm.sort((a, b) => a - b);
    // Loose bound for a shared 2-core machine; measured p50 ≈ 0.1 ms.
    expect(warm[25]).toBeLessThan(20);
    expect(runtime.stats().find((s) => s.name === health.name)).toMatchObject({ coldStarts: 1, invocations: 51 });
  });

  it('GIVEN every dev function WHEN warmed THEN each imports with the environment the template gives it', async () => {
    await expect(runtime.warm()).resolves.toBeUndefined();
    expect(runtime.stats().every((s) => s.workers >= 1 && s.errors === 0)).toBe(true);
  });
});
