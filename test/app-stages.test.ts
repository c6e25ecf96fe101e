// Building only some stages (`-c aims:stages=Dev`, the local stage's synth): which stages exist, and that Dev alone is
// the same Dev as in the whole app.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stage } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.js';
import { appEnvironment, STAGES_CONTEXT_KEY, stagesFromContext } from '../lib/config/app-inputs.js';
import { CDK_CONTEXT } from './support/app.js';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** The app as bin/ builds it under the given context, without bundling (the templates are what is compared). */
function appWithContext(context: Record<string, unknown>) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'aims-stages-'));
  outdirs.push(outdir);
  return buildApp({
    outdir,
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context },
    env: {},
    nag: false,
    stages: 'context',
  });
}

describe('GIVEN the aims:stages context value', () => {
  test.each([
    [undefined, ['Dev', 'Staging', 'Prod']],
    ['', ['Dev', 'Staging', 'Prod']],
    ['Dev', ['Dev']],
    ['Prod, Dev', ['Dev', 'Prod']],
    [['Staging'], ['Staging']],
  ])('WHEN it is %j THEN the stages built are %j', (value, expected) => {
    expect(stagesFromContext(value)).toEqual(expected);
  });

  test('WHEN it names a stage that does not exist THEN the error names it and the choices', () => {
    expect(() => stagesFromContext('Dev,Qa')).toThrow(
      `context ${STAGES_CONTEXT_KEY} names unknown stage 'Qa': expected some of Dev, Staging, Prod`,
    );
    expect(() => stagesFromContext(3)).toThrow(`context ${STAGES_CONTEXT_KEY} must be a comma-separated list`);
  });

  test('WHEN it is Dev THEN the app holds the Dev stage alone, and its templates are those of the whole app', () => {
    const whole = appWithContext({}).app.synth();
    const { app, stages } = appWithContext({ [STAGES_CONTEXT_KEY]: 'Dev' });
    expect(app.node.children.filter((c) => c instanceof Stage).map((c) => c.node.id)).toEqual(['Dev']);
    expect(Object.keys(stages)).toEqual(['Dev']);

    const alone = app.synth();
    const devStacks = (assembly: typeof alone) =>
      assembly.getNestedAssembly('assembly-Dev').stacks.map((s) => [s.stackName, s.template] as const);
    expect(alone.nestedAssemblies).toHaveLength(1);
    expect(devStacks(alone).length).toBeGreaterThanOrEqual(5);
    expect(devStacks(alone)).toEqual(devStacks(whole));
  });
});

describe('GIVEN the process environment', () => {
  test('THEN the app is handed the AIMS_<STAGE>_* variables and nothing else', () => {
    const env = {
      AIMS_DEV_ACCOUNT: '123456789012',
      AIMS_PROD_REGION: 'us-east-2',
      AIMS_STAGING_ACCOUNT: '222233334444',
      AIMS_PORT: '3000',
      AIMS_DATA_DIR: '/tmp/x',
      PATH: '/usr/bin',
      AIMS_DEVELOPER: 'not a stage prefix',
    };
    expect(appEnvironment(env)).toEqual({
      AIMS_DEV_ACCOUNT: '123456789012',
      AIMS_PROD_REGION: 'us-east-2',
      AIMS_STAGING_ACCOUNT: '222233334444',
    });
  });
});
