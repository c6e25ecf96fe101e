// Tests of the local runtime's init phase: the local init limit (option and env), its error, and bounded warm-up.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LOCAL_INIT_TIMEOUT_MS, localInitTimeoutMs, startLambdaRuntime, withoutLoaders } from '../runtime.js';
import { closedEndpoints, functionResource, makeTemplate, tempDir } from './fixtures.js';

/** A bundle whose import takes `ms` of wall time and records when it ran into `file` (one JSON line per init). */
const slowInit = (file: string, ms: number) => `
import { appendFileSync } from 'node:fs';
const start = Date.now();
await new Promise((r) => setTimeout(r, ${ms}));
appendFileSync(${JSON.stringify(file)}, JSON.stringify({ name: process.env.AWS_LAMBDA_FUNCTION_NAME, start, end: Date.now() }) + '\\n');
export const handler = async () => 'ok';`;

describe('local init phase', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN no option WHEN the limit is read THEN it is 60 s, or AIMS_LAMBDA_INIT_TIMEOUT_MS, and nonsense is refused', () => {
    const saved = process.env.AIMS_LAMBDA_INIT_TIMEOUT_MS;
    try {
      delete process.env.AIMS_LAMBDA_INIT_TIMEOUT_MS;
      expect(localInitTimeoutMs()).toBe(DEFAULT_LOCAL_INIT_TIMEOUT_MS);
      expect(DEFAULT_LOCAL_INIT_TIMEOUT_MS).toBe(60_000);
      process.env.AIMS_LAMBDA_INIT_TIMEOUT_MS = '90000';
      expect(localInitTimeoutMs()).toBe(90_000);
      expect(localInitTimeoutMs(1234)).toBe(1234);
      process.env.AIMS_LAMBDA_INIT_TIMEOUT_MS = 'soon';
      expect(() => localInitTimeoutMs()).toThrow(/positive number of ms, got "soon"/);
      expect(() => localInitTimeoutMs(0)).toThrow(/positive number of ms/);
    } finally {
      if (saved === undefined) delete process.env.AIMS_LAMBDA_INIT_TIMEOUT_MS;
      else process.env.AIMS_LAMBDA_INIT_TIMEOUT_MS = saved;
    }
  });

  it('GIVEN the flags tsx starts Node with WHEN workers get ours THEN the loaders are dropped and the rest kept', () => {
    const tsxCli = [
      '--require',
      '/r/node_modules/tsx/dist/preflight.cjs',
      '--import',
      'file:///r/node_modules/tsx/dist/loader.mjs',
      '--cpu-prof',
      '--experimental-loader=foo',
      '--import=tsx',
      '--max-old-space-size=512',
    ];
    expect(withoutLoaders(tsxCli)).toEqual(['--cpu-prof', '--max-old-space-size=512']);
    expect(withoutLoaders(['--experimental-vm-modules'])).toEqual(['--experimental-vm-modules']);
  });

  it('GIVEN an init slower than the local limit WHEN warmed THEN the error names the function, the limit and its log', async () => {
    const dataDir = tempDir('lambda-init-timeout');
    dirs.push(dataDir);
    const assemblyDir = join(dataDir, 'cdk.out', 'assembly-Dev');
    const template = makeTemplate(
      [
        functionResource(assemblyDir, { name: 'Hung', source: slowInit(join(dataDir, 'never.jsonl'), 30_000) }),
        functionResource(assemblyDir, { name: 'Quick', source: 'export const handler = async () => 1;' }),
      ],
      assemblyDir,
    );
    const runtime = await startLambdaRuntime({ template, endpoints: closedEndpoints(), dataDir, initTimeoutMs: 400 });
    try {
      const error = await runtime.warm().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/^1 of 2 functions failed to initialise/);
      expect(error?.message).toMatch(
        /Hung: Runtime\.InitTimeout: Init phase exceeded 0\.4 seconds \(the local limit\)/,
      );
      expect(error?.message).toContain(`(log: ${runtime.logFile('Hung')})`);
      expect(error?.message).toMatch(/AIMS_LAMBDA_INIT_TIMEOUT_MS, now 400 ms/);
      expect(error?.message).not.toMatch(/Quick:/);
      expect(readFileSync(runtime.logFile('Hung'), 'utf8')).toMatch(/ERROR\tInit phase exceeded 0\.4 seconds/);
      // The healthy function is warm and serves; the hung one answers with its init error.
      expect(await runtime.invoke('Quick', {})).toMatchObject({ ok: true, payload: 1 });
      expect(await runtime.invoke('Hung', {})).toMatchObject({ ok: false, errorType: 'Runtime.InitTimeout' });
    } finally {
      await runtime.close();
    }
  });

  it('GIVEN five slow inits WHEN warmed with warmConcurrency 2 THEN never more than two import at once', async () => {
    const dataDir = tempDir('lambda-init-bounded');
    dirs.push(dataDir);
    const assemblyDir = join(dataDir, 'cdk.out', 'assembly-Dev');
    const record = join(dataDir, 'inits.jsonl');
    const names = ['A', 'B', 'C', 'D', 'E'];
    const template = makeTemplate(
      names.map((name) => functionResource(assemblyDir, { name, source: slowInit(record, 250) })),
      assemblyDir,
    );
    const runtime = await startLambdaRuntime({ template, endpoints: closedEndpoints(), dataDir, warmConcurrency: 2 });
    try {
      await runtime.warm();
      const inits = readFileSync(record, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { name: string; start: number; end: number });
      expect(inits.map((i) => i.name).sort()).toEqual(names);
      // At each init's start, count the inits running then (itself included).
      const overlap = Math.max(...inits.map((a) => inits.filter((b) => b.start <= a.start && b.end > a.start).length));
      expect(overlap).toBeLessThanOrEqual(2);
      expect(overlap).toBeGreaterThanOrEqual(1);
      expect(runtime.stats().every((s) => s.workers === 1 && s.coldStarts === 1)).toBe(true);
    } finally {
      await runtime.close();
    }
  });
});
