// Fidelity: every resource type of the dev template either runs locally or is cloud-only with a reason.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RESOURCE_SUPPORT, unsupportedTypes } from '../../fidelity.js';
import { mappingConfig } from '../../lambda/esm.js';
import type { LocalResource, LocalTemplate } from '../../types.js';
import { loadLocalTemplate } from '../index.js';

function templateOf(types: string[]): LocalTemplate {
  const resources = types.map(
    (type, i): LocalResource => ({
      stackName: 'S',
      logicalId: `R${i}`,
      type,
      properties: {},
      metadata: {},
      ref: `r${i}`,
      attributes: {},
    }),
  );
  return {
    stageName: 'T',
    account: '123456789012',
    region: 'eu-west-1',
    assemblyDir: '.',
    resources,
    ofType: (type) => resources.filter((r) => r.type === type),
    byArn: () => undefined,
  };
}

describe('RESOURCE_SUPPORT', () => {
  it('GIVEN a type nobody mapped WHEN checked THEN unsupportedTypes names it once', () => {
    expect(unsupportedTypes(templateOf(['AWS::DynamoDB::Table', 'AWS::Foo::Bar', 'AWS::Foo::Bar']))).toEqual([
      'AWS::Foo::Bar',
    ]);
  });

  it('GIVEN every entry WHEN read THEN it says how it runs or why it is cloud-only', () => {
    for (const [type, support] of Object.entries(RESOURCE_SUPPORT)) {
      const reason = 'local' in support ? support.local : support.cloudOnly;
      expect(`${type}: ${reason}`).toMatch(/^(AWS::\w+::\w+|Custom::\w+): .{10,}/);
    }
  });
});

const devAssembly = join(process.cwd(), 'cdk.out');
const describeDev = existsSync(join(devAssembly, 'assembly-Dev', 'manifest.json')) ? describe : describe.skip;

describeDev('fidelity of the synthesized Dev stage', () => {
  it('GIVEN the dev template WHEN every resource type is checked THEN none is unaccounted for', () => {
    expect(unsupportedTypes(loadLocalTemplate({ assemblyDir: devAssembly, stageName: 'Dev' }))).toEqual([]);
  });

  it('GIVEN the dev template WHEN its event-source mappings are read THEN the local pollers run each of them', () => {
    // Kinesis streams and table streams (of a table with a StreamSpecification); anything else would throw here.
    const dev = loadLocalTemplate({ assemblyDir: devAssembly, stageName: 'Dev' });
    const mappings = dev.ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBeGreaterThan(0);
    for (const mapping of mappings) {
      expect(['kinesis', 'dynamodb']).toContain(mappingConfig(dev, mapping).source);
    }
  });
});
