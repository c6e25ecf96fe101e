// The local stage's assembly reuse: what the fingerprint covers, when it synthesizes again, and what it prints.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  type AssemblyRecord,
  assemblyDigest,
  changedInputs,
  decideSynth,
  type Fingerprint,
  fingerprintInputs,
  INPUTS_FILE,
  prepareAssembly,
  sourceFiles,
} from '../assembly.js';
import { ROOT } from '../stage.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function write(root: string, file: string, content: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), content);
}

/** A project with one of each kind of file, relevant and not. */
function project(): { root: string; home: string } {
  const root = mkdtempSync(join(tmpdir(), 'aims-fingerprint-'));
  const home = mkdtempSync(join(tmpdir(), 'aims-home-'));
  dirs.push(root, home);
  const files: Record<string, string> = {
    'bin/aims.ts': 'app',
    'lib/app.ts': 'stages',
    'lib/stacks/models-stack.ts': 'models',
    'lambdas/score/handler.ts': 'handler',
    'lambdas/score/test/core.test.ts': 'a test',
    'lambdas/drift/monitor/record_preprocessor.py': 'def preprocess(): pass',
    'models/fraud-detector/model.json': '{"name":"fraud-detector"}',
    'models/fraud-detector/bootstrap/model.onnx': 'onnx',
    'models/fraud-detector/triton/config.pbtxt': 'config',
    'models/fraud-detector/train.py': 'train',
    'models/fraud-detector/artifacts/model.onnx': 'trained here',
    'models/server/README.md': 'docs',
    'cdk.json': '{}',
    'package-lock.json': '{}',
    'tsconfig.json': '{}',
    'README.md': '# AIMS',
    'docs/deploy.md': 'deploy',
    'local/stage.ts': 'the local stage itself',
  };
  for (const [file, content] of Object.entries(files)) write(root, file, content);
  return { root, home };
}

const COMMAND = ['cdk', 'synth', 'Dev/*'];
const fingerprint = (root: string, home: string, env: Record<string, string> = {}) =>
  fingerprintInputs({ root, home, env, command: COMMAND });

describe('GIVEN the fingerprint of a project', () => {
  test.each([
    ['a library file', 'lib/app.ts'],
    ['a stack', 'lib/stacks/models-stack.ts'],
    ['the app entry', 'bin/aims.ts'],
    ['a lambda handler', 'lambdas/score/handler.ts'],
    ['an asset a construct reads', 'lambdas/drift/monitor/record_preprocessor.py'],
    ['a model manifest', 'models/fraud-detector/model.json'],
    ['the bootstrap model', 'models/fraud-detector/bootstrap/model.onnx'],
    ['the Triton config', 'models/fraud-detector/triton/config.pbtxt'],
    ['the training script', 'models/fraud-detector/train.py'],
    ['cdk.json', 'cdk.json'],
    ['the lockfile', 'package-lock.json'],
    ['tsconfig.json', 'tsconfig.json'],
  ])('WHEN %s changes THEN the fingerprint changes, naming it', (_what, file) => {
    const { root, home } = project();
    const before = fingerprint(root, home);
    appendFileSync(join(root, file), ' ');
    expect(changedInputs(before, fingerprint(root, home))).toEqual([{ input: file, change: 'changed' }]);
  });

  test.each([
    ['the README', 'README.md'],
    ['a doc', 'docs/deploy.md'],
    ['a markdown file beside the code', 'models/server/README.md'],
    ['a test', 'lambdas/score/test/core.test.ts'],
    [
      'a trained artifact (the local stage serves it, the templates do not hold it)',
      'models/fraud-detector/artifacts/model.onnx',
    ],
    ['the local stage', 'local/stage.ts'],
  ])('WHEN %s changes THEN the fingerprint is the same', (_what, file) => {
    const { root, home } = project();
    const before = fingerprint(root, home);
    appendFileSync(join(root, file), ' ');
    expect(fingerprint(root, home)).toEqual(before);
  });

  test('WHEN a source file is added or removed THEN the fingerprint names it', () => {
    const { root, home } = project();
    const before = fingerprint(root, home);
    write(root, 'lambdas/new/handler.ts', 'new');
    rmSync(join(root, 'lib/stacks/models-stack.ts'));
    expect(changedInputs(before, fingerprint(root, home))).toEqual([
      { input: 'lambdas/new/handler.ts', change: 'added' },
      { input: 'lib/stacks/models-stack.ts', change: 'removed' },
    ]);
  });

  test('WHEN a variable the app reads changes THEN it counts; WHEN a run-time variable changes THEN it does not', () => {
    const { root, home } = project();
    const before = fingerprint(root, home, { AIMS_DEV_ACCOUNT: '123456789012', AIMS_PORT: '3000' });
    expect(
      changedInputs(before, fingerprint(root, home, { AIMS_DEV_ACCOUNT: '210987654321', AIMS_PORT: '3000' })),
    ).toEqual([{ input: '$AIMS_DEV_ACCOUNT', change: 'changed' }]);
    expect(fingerprint(root, home, { AIMS_DEV_ACCOUNT: '123456789012', AIMS_PORT: '4000', PATH: '/x' })).toEqual(
      before,
    );
    // The value is compared, not stored.
    expect(JSON.stringify(before)).not.toContain('123456789012');
  });

  test('WHEN the CDK user settings or the synth command change THEN the fingerprint changes', () => {
    const { root, home } = project();
    const before = fingerprint(root, home);
    write(home, '.cdk.json', '{"context":{"x":1}}');
    expect(changedInputs(before, fingerprint(root, home))).toEqual([{ input: '~/.cdk.json', change: 'added' }]);
    const other = fingerprintInputs({ root, home, env: {}, command: ['cdk', 'synth', 'Prod/*'] });
    expect(changedInputs(fingerprint(root, home), other)).toEqual([{ input: 'synth', change: 'changed' }]);
  });

  test('THEN it records the Node and CDK versions the synth runs with', () => {
    const { root, home } = project();
    expect(fingerprint(root, home)).toMatchObject({ node: process.version, 'aws-cdk-lib version': 'not installed' });
    expect(fingerprintInputs({ root: ROOT, env: {}, command: COMMAND })['aws-cdk-lib version']).toMatch(
      /^2\.\d+\.\d+$/,
    );
  });
});

describe('GIVEN this project', () => {
  test('THEN the fingerprint covers every file the stacks read and every lambda, and no test or doc', () => {
    const files = sourceFiles(ROOT);
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/aims.ts',
        'lib/app.ts',
        'lib/config/models.ts',
        'lambdas/score/handler.ts',
        'lambdas/drift/monitor/record_preprocessor.py',
        'models/shared/manifest.ts',
        'models/fraud-detector/model.json',
        'models/fraud-detector/bootstrap/model.onnx',
        'models/fraud-detector/bootstrap/model-card.json',
        'models/fraud-detector/bootstrap/baseline/statistics.json',
        'models/fraud-detector/bootstrap/baseline/constraints.json',
        'models/fraud-detector/bootstrap/baseline/psi-bins.json',
        'models/shared/triton/config.pbtxt',
        'models/fraud-detector/train.py',
        'models/fraud-detector/src/features.ts',
      ]),
    );
    expect(files.filter((f) => /(^|\/)test\/|\.md$|\/artifacts\//.test(f))).toEqual([]);
  });
});

const current: Fingerprint = { 'lib/app.ts': 'a', node: 'v22' };
const record: AssemblyRecord = { version: 1, inputs: current, assembly: 'asm' };

describe('GIVEN the decision to synthesize', () => {
  const changed = { ...current, 'lib/app.ts': 'b' };
  const several = { 'lib/app.ts': 'b', 'lib/z.ts': 'c', node: 'v24' };
  test.each([
    ['nothing changed', false, 'inputs unchanged', { force: false, record, current, assembly: 'asm' }],
    ['--synth', true, 'asked to (--synth)', { force: true, record, current, assembly: 'asm' }],
    ['no assembly', true, 'no dev assembly yet', { force: false, record, current, assembly: undefined }],
    ['no record', true, 'no record of the inputs', { force: false, record: undefined, current, assembly: 'asm' }],
    [
      'an assembly someone else wrote',
      true,
      'the assembly was changed since it was synthesized',
      { force: false, record, current, assembly: 'other' },
    ],
    ['a changed file', true, 'lib/app.ts changed', { force: false, record, current: changed, assembly: 'asm' }],
    [
      'several changes',
      true,
      'lib/app.ts changed and 2 more inputs',
      { force: false, record, current: several, assembly: 'asm' },
    ],
  ])('WHEN %s THEN synth is %s, because: %s', (_what, synth, reason, args) => {
    const decision = decideSynth(args);
    expect(decision.synth).toBe(synth);
    expect(decision.reason).toContain(reason);
  });
});

describe('GIVEN an assembly folder and a synth', () => {
  /** A stand-in for `cdk synth` that writes a minimal assembly of the stage (and counts its runs). */
  const fakeSynth = (assemblyDir: string, runs: string[][], fail = false) => {
    return async (args: readonly string[]) => {
      runs.push([...args]);
      write(assemblyDir, 'manifest.json', `{"run":${runs.length}}`);
      if (fail) throw new Error('cdk synth exited with code 1');
      write(assemblyDir, 'assembly-Dev/manifest.json', '{}');
      write(assemblyDir, 'assembly-Dev/DevData.template.json', `{"Resources":{},"Run":${runs.length}}`);
      mkdirSync(join(assemblyDir, 'asset.abc'), { recursive: true });
    };
  };

  const prepare = (root: string, home: string, assemblyDir: string, runs: string[][], lines: string[], force = false) =>
    prepareAssembly({
      root,
      home,
      assemblyDir,
      stageName: 'Dev',
      force,
      env: {},
      run: fakeSynth(assemblyDir, runs),
      log: (line) => lines.push(line),
    });

  test('WHEN started twice THEN the second start reuses it; WHEN a source changes THEN it synthesizes again', async () => {
    const { root, home } = project();
    const assemblyDir = join(root, 'cdk.out.local');
    const runs: string[][] = [];
    const lines: string[] = [];

    expect((await prepare(root, home, assemblyDir, runs, lines)).synth).toBe(true);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toEqual(
      expect.arrayContaining(['--exclusively', 'Dev/*', '--output', assemblyDir, '-c', 'aims:stages=Dev']),
    );
    expect(JSON.parse(readFileSync(join(assemblyDir, INPUTS_FILE), 'utf8'))).toMatchObject({
      inputs: { 'lib/app.ts': expect.any(String) },
      assembly: assemblyDigest(assemblyDir, 'Dev'),
    });

    expect(await prepare(root, home, assemblyDir, runs, lines)).toEqual({ synth: false, reason: 'inputs unchanged' });
    expect(runs).toHaveLength(1);
    expect(lines).toContain(`▶ reusing the Dev assembly in ${assemblyDir} (inputs unchanged)`);

    appendFileSync(join(root, 'lib/app.ts'), '// edited');
    expect(await prepare(root, home, assemblyDir, runs, lines)).toEqual({ synth: true, reason: 'lib/app.ts changed' });
    expect(runs).toHaveLength(2);
    expect(lines).toContain('▶ synthesizing the Dev stage: lib/app.ts changed');

    expect((await prepare(root, home, assemblyDir, runs, lines, true)).synth).toBe(true);
    expect(runs).toHaveLength(3);
  });

  test('WHEN a synth fails THEN no record claims the half-written assembly, and the next start synthesizes', async () => {
    const { root, home } = project();
    const assemblyDir = join(root, 'cdk.out.local');
    const runs: string[][] = [];
    await prepare(root, home, assemblyDir, runs, []);
    appendFileSync(join(root, 'lib/app.ts'), '// edited');
    await expect(
      prepareAssembly({
        root,
        home,
        assemblyDir,
        stageName: 'Dev',
        force: false,
        env: {},
        run: fakeSynth(assemblyDir, runs, true),
        log: () => {},
      }),
    ).rejects.toThrow('cdk synth exited with code 1');
    // Even with the edit reverted, the assembly on disk is not the recorded one.
    writeFileSync(join(root, 'lib/app.ts'), 'stages');
    expect((await prepare(root, home, assemblyDir, runs, [])).reason).toBe('no record of the inputs it was made from');
  });

  test('WHEN the assembly is rewritten by another synth or loses an asset THEN it is not reused', async () => {
    const { root, home } = project();
    const assemblyDir = join(root, 'cdk.out.local');
    const runs: string[][] = [];
    await prepare(root, home, assemblyDir, runs, []);
    write(assemblyDir, 'assembly-Dev/DevData.template.json', '{"Resources":{"Other":{}}}');
    expect((await prepare(root, home, assemblyDir, runs, [])).reason).toBe(
      'the assembly was changed since it was synthesized',
    );
    rmSync(join(assemblyDir, 'asset.abc'), { recursive: true });
    expect((await prepare(root, home, assemblyDir, runs, [])).reason).toBe(
      'the assembly was changed since it was synthesized',
    );
  });
});
