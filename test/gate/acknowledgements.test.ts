// The gate's acknowledgement tables: narrow, with reasons, naming rules that exist; matching and staleness.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  type Acknowledgement,
  acknowledge,
  CFN_LINT_ACKNOWLEDGEMENTS,
  GUARD_ACKNOWLEDGEMENTS,
  type RawFinding,
} from './acknowledgements.js';
import { CONTROL_TOWER_RULES } from './guard.js';

const finding = (over: Partial<RawFinding>): RawFinding => ({
  rule: 'sqs_dlq_check',
  stackName: 'Dev-Services',
  logicalId: 'EventsDeadLetterQueue404572C7',
  resourceType: 'AWS::SQS::Queue',
  where: 'Dev-Services/EventsDeadLetterQueue404572C7',
  message: '[CT.SQS.PR.1]: Require any Amazon SQS queue to have a dead-letter queue configured',
  ...over,
});

describe('GIVEN an acknowledgement scoped to a rule, stacks and resources', () => {
  const ack: Acknowledgement = {
    rule: 'sqs_dlq_check',
    stacks: /-Services$/,
    resources: /DeadLetterQueue[0-9A-F]{8}$/,
    reason: 'these queues are dead-letter queues themselves',
  };

  test('THEN it silences exactly the findings inside its scope', () => {
    const inside = finding({});
    const otherStack = finding({ stackName: 'Dev-Data' });
    const otherResource = finding({ logicalId: 'WorkQueue1234ABCD' });
    const otherRule = finding({ rule: 'sqs_queue_encrypted_check' });
    const result = acknowledge([inside, otherStack, otherResource, otherRule], [ack]);
    expect(result.acknowledged).toBe(1);
    expect(result.open.map((f) => `${f.rule}@${f.where}`)).toEqual([
      `sqs_dlq_check@${otherStack.where}`,
      `sqs_dlq_check@${otherResource.where}`,
      `sqs_queue_encrypted_check@${otherRule.where}`,
    ]);
    expect(result.unused).toEqual([]);
  });

  test('THEN it is stale when nothing matches it, and names what it covered', () => {
    const result = acknowledge([finding({ stackName: 'Dev-Data' })], [ack]);
    expect(result.acknowledged).toBe(0);
    expect(result.unused).toEqual(['sqs_dlq_check (stacks -Services$, resources DeadLetterQueue[0-9A-F]{8}$)']);
  });

  test('THEN a finding it may not silence stays open and the acknowledgement counts as stale', () => {
    const result = acknowledge([finding({})], [ack], () => false);
    expect(result.open).toHaveLength(1);
    expect(result.unused).toHaveLength(1);
  });
});

describe.each([
  ['cfn-lint', CFN_LINT_ACKNOWLEDGEMENTS],
  ['cfn-guard', GUARD_ACKNOWLEDGEMENTS],
] as const)('GIVEN the committed %s acknowledgements', (_, table) => {
  test('THEN each gives a reason of at least 20 characters', () => {
    for (const ack of table) expect(ack.reason.trim().length).toBeGreaterThanOrEqual(20);
  });

  test('THEN each rule is acknowledged once (one place per rule)', () => {
    const rules = table.map((a) => a.rule);
    expect(new Set(rules).size).toBe(rules.length);
  });
});

describe('GIVEN the committed cfn-lint acknowledgements', () => {
  test('THEN none names an error rule, and each narrows to a message or resources', () => {
    for (const ack of CFN_LINT_ACKNOWLEDGEMENTS) {
      expect(ack.rule).toMatch(/^[WI]\d{4}$/);
      expect(ack.message ?? ack.resources).toBeDefined();
    }
  });
});

describe('GIVEN the committed cfn-guard acknowledgements', () => {
  const ruleNames = new Set(
    readdirSync(CONTROL_TOWER_RULES, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.guard'))
      .flatMap((f) => [...readFileSync(path.join(CONTROL_TOWER_RULES, f), 'utf8').matchAll(/^rule (\w+)/gm)])
      .map((m) => m[1]),
  );

  test('THEN each names a Control Tower rule the package ships', () => {
    for (const ack of GUARD_ACKNOWLEDGEMENTS) expect(ruleNames).toContain(ack.rule);
  });

  test('THEN each narrows to resource types or logical ids, never a whole rule everywhere', () => {
    for (const ack of GUARD_ACKNOWLEDGEMENTS) expect(ack.resources ?? ack.types).toBeDefined();
  });
});
