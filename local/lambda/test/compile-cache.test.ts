// The workers' compile cache: an init leaves V8's compiled code of the bundle in the cache folder, and none is
// written when it is turned off; the function answers the same either way.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startLambdaRuntime } from '../runtime.js';
import { closedEndpoints, functionResource, makeTemplate, tempDir } from './fixtures.js';

const SOURCE = `const table = new Map([['a', 1]]);
export const handler = async (event) => ({ got: event, table: table.get('a') });`;

/** Every file under `dir` with its size. */
function filesUnder(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => statSync(join(entry.parentPath, entry.name)).size);
}

describe('GIVEN a function started by the local runtime', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const run = async (compileCacheDir?: string | false) => {
    const dataDir = tempDir('lambda-compile-cache');
    dirs.push(dataDir);
    const assemblyDir = join(dataDir, 'cdk.out', 'assembly-Dev');
    const template = makeTemplate([functionResource(assemblyDir, { name: 'Cached', source: SOURCE })], assemblyDir);
    const runtime = await startLambdaRuntime({
      template,
      endpoints: closedEndpoints(),
      dataDir,
      eager: true,
      ...(compileCacheDir !== undefined ? { compileCacheDir } : {}),
    });
    try {
      expect(await runtime.invoke('Cached', { n: 1 })).toMatchObject({
        ok: true,
        payload: { got: { n: 1 }, table: 1 },
      });
    } finally {
      await runtime.close();
    }
    return dataDir;
  };

  test('WHEN it initialises THEN its compiled code is in <dataDir>/cache/compile for the next start', async () => {
    const dataDir = await run();
    const sizes = filesUnder(join(dataDir, 'cache', 'compile'));
    expect(sizes.length).toBeGreaterThan(0);
    expect(sizes.some((size) => size > 0)).toBe(true);
  });

  test('WHEN the cache is turned off THEN nothing is written', async () => {
    const dataDir = await run(false);
    expect(existsSync(join(dataDir, 'cache'))).toBe(false);
  });
});
