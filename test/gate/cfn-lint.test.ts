// The cfn-lint check on small fixture templates: errors fail and cannot be acknowledged, warnings fail unless
// acknowledged, and a missing cfn-lint says how to install it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CfnTemplate, GateAssembly } from './assembly.js';
import { cfnLintCheck, cfnLintFindings, cfnLintResult } from './cfn-lint.js';
import { fixtureAssembly } from './check.js';

const lambdaWithRole: CfnTemplate = {
  Resources: {
    FnRole1234ABCD: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
      },
    },
    // DependsOn on the role its Role GetAtt already orders: what CDK renders for every function (W3005).
    FnFunction5678ABCD: {
      Type: 'AWS::Lambda::Function',
      DependsOn: ['FnRole1234ABCD'],
      Properties: {
        Role: { 'Fn::GetAtt': ['FnRole1234ABCD', 'Arn'] },
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        Code: { ZipFile: 'exports.handler = async () => 1;' },
      },
    },
  },
};

const queueTooShort: CfnTemplate = {
  // 30 s is below SQS's 60 s minimum retention: the schema's range, an error CloudFormation would refuse.
  Resources: { Queue0000AAAA: { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 30 } } },
};

let directory: string;
let assembly: GateAssembly;
let findings: Awaited<ReturnType<typeof cfnLintFindings>>;

beforeAll(async () => {
  directory = mkdtempSync(path.join(tmpdir(), 'gate-cfn-lint-'));
  assembly = fixtureAssembly(directory, { 'Test-Functions': lambdaWithRole, 'Test-Queues': queueTooShort });
  findings = await cfnLintFindings(assembly);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('GIVEN a template with a schema error', () => {
  test('THEN cfn-lint finds it where it is and the gate fails', () => {
    const error = findings.find((f) => f.level === 'Error');
    expect(error).toMatchObject({ stackName: 'Test-Queues', logicalId: 'Queue0000AAAA' });
    expect(error?.where).toBe('Test-Queues/Resources/Queue0000AAAA/Properties/MessageRetentionPeriod');
    const result = cfnLintResult(assembly, findings);
    expect(result.errors.map((e) => e.where)).toContain(error?.where);
  });

  test('THEN no acknowledgement can silence it, and such an acknowledgement is reported stale', () => {
    const error = findings.find((f) => f.level === 'Error');
    const table = [{ rule: String(error?.rule), reason: 'trying to acknowledge an error, which must not work' }];
    const result = cfnLintResult(assembly, findings, table);
    expect(result.errors.map((e) => e.rule)).toContain(error?.rule);
    expect(result.unusedAcknowledgements).toEqual([error?.rule]);
  });
});

describe('GIVEN a function that depends on its own role (CDK rendering, W3005)', () => {
  test('THEN without an acknowledgement the warning fails the gate', () => {
    const result = cfnLintResult(assembly, findings, []);
    expect(result.errors.filter((e) => e.rule === 'W3005').map((e) => e.where)).toEqual([
      'Test-Functions/Resources/FnFunction5678ABCD/DependsOn/0',
    ]);
  });

  test('THEN the committed acknowledgement silences it and nothing else', () => {
    const result = cfnLintResult(assembly, findings);
    expect(result.acknowledged).toBe(1);
    // The queue's informational I3011 (no explicit DeletionPolicy) is not acknowledged, so it fails too.
    expect(result.errors.map((e) => e.rule).sort()).toEqual(['E3034', 'I3011', 'I3011']);
  });
});

describe('GIVEN no cfn-lint on the machine', () => {
  test('THEN the check fails with the install command', async () => {
    const check = cfnLintCheck({ executable: 'cfn-lint-not-installed-here' });
    await expect(check.run(assembly)).rejects.toThrow(/pip install cfn-lint==1\.51\.0/);
  });
});
