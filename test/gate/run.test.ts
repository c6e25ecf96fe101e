// The gate runner: one summary line per check, details under a failing one, a thrown check is a failed check, the
// exit code, and the arguments it takes.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GateAssembly } from './assembly.js';
import type { GateCheck, GateCheckResult } from './check.js';
import { CHECKS, parseArguments, runGate } from './run.js';

const assembly: GateAssembly = {
  directory: 'cdk.out',
  stages: [{ name: 'Dev', directory: 'x', stacks: [] }],
  stacks: [],
};

const check = (name: string, over: Partial<GateCheckResult> = {}): GateCheck => ({
  name,
  run: async () => ({ check: name, errors: [], warnings: [], acknowledged: 0, scope: '1 template', ...over }),
});

describe('GIVEN checks that pass', () => {
  test('THEN one line per check, in table order, then the verdict, and the gate passes', async () => {
    const outcome = await runGate(assembly, [check('first'), check('second', { acknowledged: 2 })]);
    expect(outcome.ok).toBe(true);
    expect(outcome.lines).toHaveLength(3);
    expect(outcome.lines[0]).toMatch(/^✔ first +1 template · 0 errors · 0 warnings · 0 acknowledged \(\d+\.\d s\)$/);
    expect(outcome.lines[1]).toMatch(/^✔ second .* 2 acknowledged/);
    expect(outcome.lines[2]).toMatch(/^deploy gate passed: 0 stacks of Dev in \d+\.\d s$/);
  });
});

describe('GIVEN a check with an error, one with a stale acknowledgement and one that throws', () => {
  test('THEN each fails with its details under its own line, and the gate fails', async () => {
    const outcome = await runGate(assembly, [
      check('errors', { errors: [{ rule: 'E1', where: 'Dev-Data/Queue', message: 'too short' }] }),
      check('stale', { unusedAcknowledgements: ['W9 (resources ^Gone$)'] }),
      { name: 'throws', run: async () => Promise.reject(new Error('cfn-lint was not found on PATH')) },
      check('fine'),
    ]);
    expect(outcome.ok).toBe(false);
    expect(outcome.lines).toEqual([
      expect.stringMatching(/^✘ errors .* 1 error · /),
      '    error   E1 Dev-Data/Queue: too short',
      expect.stringMatching(/^✘ stale .* 1 stale acknowledgements/),
      '    stale   acknowledgement matches nothing: W9 (resources ^Gone$)',
      expect.stringMatching(/^✘ throws +not run · 1 error/),
      '    error   gate/check-failed throws: cfn-lint was not found on PATH',
      expect.stringMatching(/^✔ fine /),
      expect.stringMatching(/^deploy gate FAILED/),
    ]);
  });

  test('THEN a stale acknowledgement does not fail a run over some stages only', async () => {
    const stale = check('stale', { unusedAcknowledgements: ['W9 (stacks ^Dev-)'] });
    const outcome = await runGate(assembly, [stale], { allStages: false });
    expect(outcome.ok).toBe(true);
    expect(outcome.lines).toContain('(stale acknowledgements are judged only when every stage is checked)');
  });

  test('THEN warnings alone do not fail the gate', async () => {
    const outcome = await runGate(assembly, [
      check('warns', { warnings: [{ rule: 'limits/x', where: 'Dev-Data', message: 'cannot be sized' }] }),
    ]);
    expect(outcome.ok).toBe(true);
  });
});

describe('GIVEN the committed list of checks', () => {
  test('THEN it holds cfn-lint, cfn-guard and limits, each named once', () => {
    expect(CHECKS.map((c) => c.name)).toEqual(['cfn-lint', 'cfn-guard', 'replacement', 'kms-iam', 'limits']);
  });
});

describe('GIVEN command-line arguments', () => {
  test('THEN --assembly and repeated --stage are read, and anything else is refused', () => {
    expect(parseArguments([])).toEqual({ assembly: 'cdk.out', stages: undefined });
    expect(parseArguments(['--assembly', 'out', '--stage', 'Dev', '--stage', 'Prod'])).toEqual({
      assembly: 'out',
      stages: ['Dev', 'Prod'],
    });
    expect(() => parseArguments(['--stage'])).toThrow(/--stage needs a value/);
    expect(() => parseArguments(['--fast'])).toThrow(/unknown argument '--fast'/);
  });

  test('THEN the command exits non-zero with a clear message when there is no assembly', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'test/gate/run.ts', '--assembly', 'no-such-cdk-out'],
      { cwd: root, encoding: 'utf8' },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/no cloud assembly at no-such-cdk-out: run `npm run synth` first/);
  });
});
