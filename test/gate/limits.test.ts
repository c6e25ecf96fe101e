// The limits check on small fixture templates: literal sizes over a limit fail, sizes that depend on unsized
// references warn, pseudo parameters are sized from the stack, and each fact cites its source.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CfnTemplate } from './assembly.js';
import { fixtureAssembly } from './check.js';
import { ASSUMED_UNSIZED, evaluateLimits, jsonSize, LIMITS, stringSize } from './limits.js';

let directory: string;
beforeAll(() => {
  directory = mkdtempSync(path.join(tmpdir(), 'gate-limits-'));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const stack = { stackName: 'Dev-Services', region: 'eu-west-1', account: '111111111111' };

const fn = (variables: Record<string, unknown>) => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Environment: { Variables: variables } },
});

describe('GIVEN values built with intrinsics', () => {
  test('THEN pseudo parameters are sized from the stack, resource references are counted as unsized', () => {
    expect(stringSize({ 'Fn::Join': ['-', ['a', { Ref: 'AWS::StackName' }, { Ref: 'AWS::Region' }]] }, stack)).toEqual({
      known: 1 + 1 + 'Dev-Services'.length + 1 + 'eu-west-1'.length,
      unsized: 0,
    });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template.
    expect(stringSize({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${Bucket}/*' }, stack)).toEqual({
      known: 'arn:aws:s3:::/*'.length,
      unsized: 1,
    });
    expect(stringSize({ 'Fn::GetAtt': ['Queue', 'Arn'] }, stack)).toEqual({ known: 0, unsized: 1 });
  });

  test('THEN a JSON document is sized as serialized, an intrinsic inside it as a quoted string', () => {
    expect(jsonSize({ a: [1, 'x'] }, stack)).toEqual({ known: JSON.stringify({ a: [1, 'x'] }).length, unsized: 0 });
    expect(jsonSize({ Resource: { Ref: 'AWS::AccountId' } }, stack)).toEqual({
      known: JSON.stringify({ Resource: '111111111111' }).length,
      unsized: 0,
    });
  });
});

describe('GIVEN Lambda environments around the 4 KB limit', () => {
  test('THEN literals over the limit fail, and a near-limit one with references only warns', () => {
    const templates: Record<string, CfnTemplate> = {
      'Test-Services': {
        Resources: {
          Big: fn({ PAYLOAD: 'x'.repeat(4_100) }),
          Near: fn({ PAYLOAD: 'x'.repeat(4_000), TABLE: { Ref: 'Table' } }),
          Small: fn({ TABLE: { Ref: 'Table' } }),
        },
      },
    };
    const { errors, warnings } = evaluateLimits(fixtureAssembly(directory, templates).stacks);
    expect(errors.map((e) => `${e.rule} ${e.where}`)).toEqual(['limits/lambda-environment Test-Services/Big']);
    expect(errors[0]?.message).toMatch(/4107 bytes, over the limit of 4096/);
    expect(warnings.map((w) => `${w.rule} ${w.where}`)).toEqual(['limits/lambda-environment Test-Services/Near']);
    expect(warnings[0]?.message).toMatch(new RegExp(`1 value\\(s\\) that cannot be sized; at ${ASSUMED_UNSIZED} each`));
  });
});

describe("GIVEN a role whose inline policies together pass IAM's 10,240 characters", () => {
  test('THEN the aggregate over every AWS::IAM::Policy attached to it fails', () => {
    const statement = (i: number) => ({
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: `arn:aws:s3:::bucket-${i}/${'k'.repeat(40)}/*`,
    });
    const policy = (from: number) => ({
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: `p${from}`,
        Roles: [{ Ref: 'Role' }],
        PolicyDocument: { Version: '2012-10-17', Statement: Array.from({ length: 60 }, (_, i) => statement(from + i)) },
      },
    });
    const templates: Record<string, CfnTemplate> = {
      'Test-Roles': {
        Resources: {
          Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [] } } },
          First: policy(0),
          Second: policy(100),
        },
      },
    };
    const { errors } = evaluateLimits(fixtureAssembly(directory, templates).stacks);
    expect(errors.map((e) => `${e.rule} ${e.where}`)).toEqual(['limits/iam-role-inline-policies Test-Roles/Role']);
    // One policy alone is under the limit: the finding is about the sum.
    const single = evaluateLimits(
      fixtureAssembly(directory, {
        'Test-Roles': { Resources: { ...templates['Test-Roles']?.Resources, Second: { Type: 'AWS::SNS::Topic' } } },
      }).stacks,
    );
    expect(single.errors).toEqual([]);
  });
});

describe('GIVEN a stack with more than 500 resources', () => {
  test('THEN the resource count fails', () => {
    const resources = Object.fromEntries(
      Array.from({ length: 501 }, (_, i) => [`Topic${i}`, { Type: 'AWS::SNS::Topic' }]),
    );
    const { errors } = evaluateLimits(fixtureAssembly(directory, { 'Test-Many': { Resources: resources } }).stacks);
    expect(errors.map((e) => e.rule)).toEqual(['limits/resources']);
  });
});

describe('GIVEN the table of facts', () => {
  test('THEN every fact has a unique id and a source URL in the comment above it', () => {
    const source = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'limits.ts'), 'utf8');
    const ids = LIMITS.map((l) => l.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      const at = source.indexOf(`id: '${id}'`);
      const before = source.slice(source.lastIndexOf('},', at), at);
      expect(before).toMatch(/\/\/ https:\/\/docs\.aws\.amazon\.com\//);
    }
  });
});
