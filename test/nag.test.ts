// The cdk-nag gate: every environment passes AwsSolutions with zero errors and zero warnings.
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { STAGE_NAMES } from '../lib/config/environment-config.js';
import { cleanTestApps, testApp } from './support/app.js';

const { stages } = testApp();
afterAll(cleanTestApps);

describe.each(STAGE_NAMES)('GIVEN the %s stage checked by AwsSolutions', (name) => {
  test('THEN there is no error and no warning left unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(stages[name]);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map(
        (r) => `${v.severity ?? 'unknown'} ${v.ruleName} at ${(r as { constructPath?: string }).constructPath}`,
      ),
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('GIVEN the acknowledgements that silence findings', () => {
  test('THEN each names one rule (and one finding for wildcard rules) and gives a reason', () => {
    const acks: Array<{ id: string; reason: string }> = [];
    for (const construct of stages.Dev.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          acks.push({ id: id.replace(/^Annotation::/, ''), reason });
        }
      }
    }
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[[^\]]+\])?$/);
      if (ack.id.startsWith('AwsSolutions-IAM5')) expect(ack.id).toMatch(/\[(Action|Resource)::.+\]$/);
      expect(ack.reason.length).toBeGreaterThan(20);
    }
  });
});
