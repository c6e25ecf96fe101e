// The replacement gate on fixture templates, and the models stack planned across two champion/challenger pointer values.

import { challengerParameterName, championParameterName } from '../../lib/constructs/model-registry.js';
import { planStackUpdate } from '../../local/cloudformation/update-rules.js';
import { cleanTestApps, templateOf, testApp } from '../support/app.js';
import type { CfnResource, CfnTemplate, GateAssembly, GateStack, Json } from './assembly.js';
import { findHazards, replacementCheck, replacementCheckWith } from './replacement.js';

const STAGES = ['Dev', 'Staging', 'Prod'] as const;
const HASH = 'ab'.repeat(32);
const ssm = (name: string) => ({ Type: 'AWS::SSM::Parameter::Value<String>', Default: name });

/** A data-quality job definition with the given name, instance type and extra create-only values. */
function jobDefinition(name: Json, instanceType: string, extra: Record<string, Json> = {}): CfnResource {
  return {
    Type: 'AWS::SageMaker::DataQualityJobDefinition',
    Properties: {
      ...(name === undefined ? {} : { JobDefinitionName: name }),
      RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
      JobResources: { ClusterConfig: { InstanceCount: 1, InstanceType: instanceType, VolumeSizeInGB: 20 } },
      ...extra,
    },
  };
}

/** The fixture stack of one stage: each resource below is one case the check must get right. */
function fixtureTemplate(stage: (typeof STAGES)[number]): CfnTemplate {
  const lower = stage.toLowerCase();
  const instanceType = stage === 'Prod' ? 'ml.m5.2xlarge' : 'ml.m5.large';
  return {
    Parameters: { Fifo: { Type: 'String' }, Pointer: ssm(`/aims/${lower}/models/m/champion`) },
    Conditions: { IsBootstrap: { 'Fn::Equals': [{ Ref: 'Pointer' }, 'bootstrap'] } },
    Resources: {
      // Custom-named, and a create-only property from a template parameter: the finding.
      NamedParameterQueue: {
        Type: 'AWS::SQS::Queue',
        Properties: { QueueName: `${lower}-orders`, FifoQueue: { Ref: 'Fifo' } },
      },
      // The name reads the same parameter: it changes whenever FifoQueue does.
      DerivedNameQueue: {
        Type: 'AWS::SQS::Queue',
        Properties: { QueueName: { 'Fn::Sub': `${lower}-orders-\${Fifo}` }, FifoQueue: { Ref: 'Fifo' } },
      },
      // No custom name: CloudFormation replaces it under a fresh name.
      UnnamedQueue: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: { Ref: 'Fifo' } } },
      // A mutable property from a parameter is an update, never a replacement.
      MutableQueue: {
        Type: 'AWS::SQS::Queue',
        Properties: { QueueName: `${lower}-mutable`, DelaySeconds: { Ref: 'Fifo' } },
      },
      // SSM pointer through a condition, and an asset hash, in the baseline.
      PointerJob: jobDefinition(`${lower}-pointer-job`, 'ml.m5.large', {
        DataQualityBaselineConfig: {
          ConstraintsResource: {
            S3Uri: {
              'Fn::If': [
                'IsBootstrap',
                `s3://assets/${HASH}.json`,
                { 'Fn::Join': ['', [{ Ref: 'Pointer' }, 'c.json']] },
              ],
            },
          },
        },
      }),
      // Per-environment config: the instance type differs between stages under the same name pattern.
      ConfigJob: jobDefinition(`${lower}-config-job`, instanceType),
      // The same config, named after it: the name changes with the instance type.
      ConfigNamedJob: jobDefinition(`${lower}-config-job-${instanceType}`, instanceType),
      // A dynamic reference and another stack's output.
      ResolvedJob: jobDefinition(`${lower}-resolved-job`, 'ml.m5.large', {
        DataQualityAppSpecification: { ImageUri: '{{resolve:ssm:/images/analyzer}}' },
        DataQualityJobOutputConfig: {
          KmsKeyId: { 'Fn::GetStackOutput': { StackName: `${stage}-Data`, OutputName: 'Key' } },
        },
      }),
    },
  };
}

function fixtureAssembly(): GateAssembly {
  const stages = STAGES.map((name) => {
    const stack: GateStack = {
      stage: name,
      stackName: `${name}-Jobs`,
      displayName: `${name}/Jobs`,
      templateFile: `${name}/Jobs.template.json`,
      template: fixtureTemplate(name),
      region: 'eu-west-1',
      account: { Dev: '111111111111', Staging: '222222222222', Prod: '333333333333' }[name],
    };
    return { name, directory: name, stacks: [stack] };
  });
  return { directory: 'fixture', stages, stacks: stages.flatMap((s) => s.stacks) };
}

describe('GIVEN fixture templates of three stages', () => {
  const assembly = fixtureAssembly();

  test('THEN each custom-named resource with a changing create-only input is an error, and only those', async () => {
    const result = await replacementCheck.run(assembly);
    const where = (id: string) => STAGES.map((s) => `${s}-Jobs/${id}`);
    expect(result.errors.map((e) => e.where).sort()).toEqual(
      [...where('NamedParameterQueue'), ...where('PointerJob'), ...where('ConfigJob'), ...where('ResolvedJob')].sort(),
    );
    expect(result.scope).toBe('3 templates, 21 custom-named resources');
    expect(result.errors.every((e) => e.rule === 'replacement/custom-name')).toBe(true);
  });

  test('THEN each finding says which input moves the create-only value', () => {
    const { hazards } = findHazards(assembly);
    const dev = (id: string) =>
      hazards
        .filter((h) => h.stack.stage === 'Dev' && h.logicalId === id)
        .map((h) => [h.property, h.inputs.map((i) => i.kind).sort()]);
    expect(dev('NamedParameterQueue')).toEqual([['FifoQueue', ['parameter']]]);
    expect(dev('PointerJob')).toEqual([['DataQualityBaselineConfig', ['asset', 'parameter']]]);
    expect(dev('ConfigJob')).toEqual([['JobResources', ['stage-config']]]);
    expect(dev('ResolvedJob')).toEqual([
      ['DataQualityAppSpecification', ['dynamic-reference']],
      ['DataQualityJobOutputConfig', ['cross-stack']],
    ]);
    const pointer = hazards.find((h) => h.logicalId === 'PointerJob' && h.stack.stage === 'Dev');
    expect(pointer?.inputs.map((i) => i.description)).toContain(
      'SSM parameter /aims/dev/models/m/champion (template parameter Pointer)',
    );
  });

  test('THEN an acknowledgement silences one type and property, and an unused one is reported stale', async () => {
    const check = replacementCheckWith([
      { type: 'AWS::SQS::Queue', property: 'FifoQueue', reason: 'fixture' },
      { type: 'AWS::SNS::Topic', property: 'FifoTopic', reason: 'fixture: matches nothing' },
    ]);
    const result = await check.run(assembly);
    expect(result.acknowledged).toBe(3);
    expect(result.errors.some((e) => e.where.endsWith('/NamedParameterQueue'))).toBe(false);
    expect(result.unusedAcknowledgements).toEqual(['AWS::SNS::Topic FifoTopic']);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: a template body is untyped JSON.
type Body = any;

/** The template as CloudFormation sees it in one deploy: the pointer parameters resolved to `values`. */
function deployedWith(template: Body, values: Readonly<Record<string, string>>): Body {
  const conditions: Record<string, boolean> = {};
  const resolve = (v: Body): Body => {
    if (Array.isArray(v)) return v.map(resolve);
    if (typeof v !== 'object' || v === null) return v;
    if (typeof v.Ref === 'string' && v.Ref in values) return values[v.Ref];
    if (Array.isArray(v['Fn::If']) && v['Fn::If'][0] in conditions)
      return resolve(v['Fn::If'][conditions[v['Fn::If'][0]] ? 1 : 2]);
    if (Array.isArray(v['Fn::Join'])) {
      const parts = resolve(v['Fn::Join'][1]);
      if (Array.isArray(parts) && parts.every((p) => typeof p === 'string')) return parts.join(v['Fn::Join'][0]);
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
  };
  for (const [name, expression] of Object.entries(template.Conditions ?? {})) {
    const equals = resolve(expression)['Fn::Equals'];
    if (Array.isArray(equals) && equals.every((x) => typeof x === 'string')) conditions[name] = equals[0] === equals[1];
  }
  return { ...template, Resources: resolve(template.Resources) };
}

describe('GIVEN the prod models stack (the shadow environment) synthesized', () => {
  const { stages } = testApp();
  const template = templateOf(stages.Prod.models).toJSON();
  afterAll(cleanTestApps);

  /** The stack's pointer parameters (champion and challenger of every model), by logical id. */
  const pointers = (kind: 'champion' | 'challenger') =>
    Object.entries(template.Parameters as Record<string, { Default?: string }>)
      .filter(
        ([, p]) =>
          p.Default ===
          (kind === 'champion' ? championParameterName : challengerParameterName)('Prod', 'fraud-detector'),
      )
      .map(([id]) => id);

  test('WHEN it is deployed with two different champion and challenger pointers THEN every changed property is an update or an allowed replacement', () => {
    expect(pointers('champion')).toHaveLength(1);
    expect(pointers('challenger')).toHaveLength(1);
    const deploy = (version: string) =>
      deployedWith(template, {
        ...Object.fromEntries(
          pointers('champion').map((id) => [id, `s3://artifacts/models/fraud-detector/versions/${version}/`]),
        ),
        ...Object.fromEntries(
          pointers('challenger').map((id) => [id, `s3://artifacts/models/fraud-detector/versions/${version}-rc/`]),
        ),
      });
    const plan = planStackUpdate(deploy('v1'), deploy('v2'));
    const byType = (type: string) =>
      plan.changes.filter((c) => c.type === type).map((c) => `${c.property}:${c.action}`);

    // The served models are rebuilt from the new pointers: each model and the endpoint config reading them replaced,
    // the endpoint updated in place (its name stays, which is allowed because an update is not a replacement).
    expect(byType('AWS::SageMaker::Model')).toEqual(['PrimaryContainer:replacement', 'PrimaryContainer:replacement']);
    expect(byType('AWS::SageMaker::EndpointConfig')).toContain('ProductionVariants:replacement');
    expect(byType('AWS::SageMaker::Endpoint')).toEqual(['EndpointConfigName:update']);
    expect(plan.added).toEqual([]);
    expect(plan.removed).toEqual([]);
    // Nothing CloudFormation would refuse: no custom-named resource is replaced under its unchanged name.
    expect(plan.refused).toEqual([]);
  });
});
