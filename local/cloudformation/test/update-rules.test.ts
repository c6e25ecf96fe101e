// planStackUpdate on small hand-written templates: update vs replacement, and the custom-name refusal.
import { UnknownResourceTypeError } from '../spec.js';
import { type PlannableTemplate, planStackUpdate, ResourceTypeChangeError } from '../update-rules.js';

const template = (Resources: PlannableTemplate['Resources']): PlannableTemplate => ({ Resources });

const BASELINE = {
  ConstraintsResource: { S3Uri: 's3://bucket/baseline/v1/constraints.json' },
  StatisticsResource: { S3Uri: 's3://bucket/baseline/v1/statistics.json' },
};
const dataQuality = (props: Record<string, unknown>) => ({
  Type: 'AWS::SageMaker::DataQualityJobDefinition',
  Properties: {
    EndpointName: 'dev-fraud-detector',
    RoleArn: 'arn:aws:iam::123456789012:role/monitor',
    DataQualityAppSpecification: { ImageUri: 'analyzer:latest' },
    DataQualityBaselineConfig: BASELINE,
    ...props,
  },
});

describe('planStackUpdate', () => {
  test('GIVEN a mutable property change THEN it is an update and nothing is replaced', () => {
    const before = template({ Q: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 30 } } });
    const after = template({ Q: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 60 } } });
    expect(planStackUpdate(before, after)).toEqual({
      changes: [{ logicalId: 'Q', type: 'AWS::SQS::Queue', property: 'VisibilityTimeout', action: 'update' }],
      added: [],
      removed: [],
      replaced: [],
      refused: [],
    });
  });

  test('GIVEN an SQS queue whose QueueName and FifoQueue change THEN both replace it, and the rename makes it allowed', () => {
    const before = template({ Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'orders' } } });
    const after = template({
      Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'orders.fifo', FifoQueue: true } },
    });
    const plan = planStackUpdate(before, after);
    expect(plan.changes).toEqual([
      { logicalId: 'Q', type: 'AWS::SQS::Queue', property: 'FifoQueue', action: 'replacement' },
      { logicalId: 'Q', type: 'AWS::SQS::Queue', property: 'QueueName', action: 'replacement' },
    ]);
    expect(plan.replaced).toEqual(['Q']);
    expect(plan.refused).toEqual([]);
  });

  test('GIVEN a named SQS queue made FIFO without a rename THEN the replacement is refused', () => {
    const before = template({ Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'orders.fifo' } } });
    const after = template({
      Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'orders.fifo', FifoQueue: true } },
    });
    expect(planStackUpdate(before, after).refused).toEqual([
      expect.objectContaining({ logicalId: 'Q', nameProperty: 'QueueName', physicalName: 'orders.fifo' }),
    ]);
  });

  test('GIVEN a data-quality job definition with a fixed JobDefinitionName WHEN its baseline changes THEN the replacement is refused', () => {
    const name = { JobDefinitionName: 'dev-fraud-detector-data-quality' };
    const before = template({ DQ: dataQuality(name) });
    const after = template({
      DQ: dataQuality({
        ...name,
        DataQualityBaselineConfig: {
          ...BASELINE,
          StatisticsResource: { S3Uri: 's3://bucket/baseline/v2/statistics.json' },
        },
      }),
    });
    const plan = planStackUpdate(before, after);
    expect(plan.changes).toEqual([
      {
        logicalId: 'DQ',
        type: 'AWS::SageMaker::DataQualityJobDefinition',
        property: 'DataQualityBaselineConfig',
        action: 'replacement',
      },
    ]);
    expect(plan.replaced).toEqual(['DQ']);
    expect(plan.refused).toEqual([
      {
        logicalId: 'DQ',
        type: 'AWS::SageMaker::DataQualityJobDefinition',
        nameProperty: 'JobDefinitionName',
        physicalName: 'dev-fraud-detector-data-quality',
        properties: ['DataQualityBaselineConfig'],
        reason:
          'CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename dev-fraud-detector-data-quality and update the stack again.',
      },
    ]);
  });

  test('GIVEN the same job definition without a name WHEN its baseline changes THEN it is an allowed replacement', () => {
    const before = template({ DQ: dataQuality({}) });
    const after = template({
      DQ: dataQuality({ DataQualityBaselineConfig: { ...BASELINE, ConstraintsResource: { S3Uri: 's3://b/v2.json' } } }),
    });
    const plan = planStackUpdate(before, after);
    expect(plan.replaced).toEqual(['DQ']);
    expect(plan.refused).toEqual([]);
  });

  test('GIVEN a named job definition renamed along with its baseline THEN the replacement is allowed', () => {
    const before = template({ DQ: dataQuality({ JobDefinitionName: 'dq-v1' }) });
    const after = template({
      DQ: dataQuality({
        JobDefinitionName: 'dq-v2',
        DataQualityBaselineConfig: { ...BASELINE, ConstraintsResource: {} },
      }),
    });
    expect(planStackUpdate(before, after).refused).toEqual([]);
  });

  test('GIVEN raw templates THEN intrinsics compare structurally, key order aside', () => {
    const ref = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
    const before = template({
      F: {
        Type: 'AWS::Lambda::Function',
        Properties: { Role: ref('R1'), Environment: { Variables: { A: '1', B: { Ref: 'P' } } } },
      },
    });
    const same = template({
      F: {
        Type: 'AWS::Lambda::Function',
        Properties: { Environment: { Variables: { B: { Ref: 'P' }, A: '1' } }, Role: ref('R1') },
      },
    });
    const other = template({
      F: {
        Type: 'AWS::Lambda::Function',
        Properties: { Role: ref('R2'), Environment: { Variables: { A: '1', B: { Ref: 'P' } } } },
      },
    });
    expect(planStackUpdate(before, same).changes).toEqual([]);
    expect(planStackUpdate(before, other).changes).toEqual([
      { logicalId: 'F', type: 'AWS::Lambda::Function', property: 'Role', action: 'update' },
    ]);
  });

  test('GIVEN a create-only field nested under a mutable property THEN its change is a replacement', () => {
    const stream = (subnets: string[]) => ({
      Type: 'AWS::KinesisFirehose::DeliveryStream',
      Properties: {
        ElasticsearchDestinationConfiguration: {
          IndexName: 'events',
          VpcConfiguration: { SubnetIds: subnets, SecurityGroupIds: ['sg-1'], RoleARN: 'arn:aws:iam::1:role/r' },
        },
      },
    });
    const before = template({ D: stream(['subnet-1']) });
    expect(planStackUpdate(before, template({ D: stream(['subnet-2']) })).changes).toEqual([
      expect.objectContaining({ property: 'ElasticsearchDestinationConfiguration', action: 'replacement' }),
    ]);
    const renamedIndex = stream(['subnet-1']);
    renamedIndex.Properties.ElasticsearchDestinationConfiguration.IndexName = 'events-v2';
    expect(planStackUpdate(before, template({ D: renamedIndex })).changes).toEqual([
      expect.objectContaining({ property: 'ElasticsearchDestinationConfiguration', action: 'update' }),
    ]);
  });

  test('GIVEN a replaced SageMaker model THEN the endpoint config that reads it is replaced and the endpoint updated', () => {
    const stack = (modelDataUrl: string) =>
      template({
        Model: {
          Type: 'AWS::SageMaker::Model',
          Properties: {
            ExecutionRoleArn: 'arn:role',
            PrimaryContainer: { Image: 'triton', ModelDataUrl: modelDataUrl },
          },
        },
        Config: {
          Type: 'AWS::SageMaker::EndpointConfig',
          Properties: {
            ProductionVariants: [{ ModelName: { 'Fn::GetAtt': ['Model', 'ModelName'] }, VariantName: 'a' }],
          },
        },
        Endpoint: {
          Type: 'AWS::SageMaker::Endpoint',
          Properties: {
            EndpointName: 'aims-dev-model',
            EndpointConfigName: { 'Fn::GetAtt': ['Config', 'EndpointConfigName'] },
          },
        },
        Alarm: {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: { Dimensions: [{ Name: 'EndpointName', Value: 'aims-dev-model' }] },
        },
      });
    const plan = planStackUpdate(stack('s3://b/v1/model.tar.gz'), stack('s3://b/v2/model.tar.gz'));
    expect(plan.changes.map((c) => `${c.logicalId}.${c.property}:${c.action}`)).toEqual([
      'Config.ProductionVariants:replacement',
      'Endpoint.EndpointConfigName:update',
      'Model.PrimaryContainer:replacement',
    ]);
    expect(plan.replaced).toEqual(['Config', 'Model']);
    expect(plan.refused).toEqual([]);
  });

  test('GIVEN added and removed resources THEN they are listed, not planned as changes', () => {
    const before = template({ Old: { Type: 'AWS::SQS::Queue' } });
    const after = template({ New: { Type: 'AWS::SNS::Topic' } });
    expect(planStackUpdate(before, after)).toEqual({
      changes: [],
      added: ['New'],
      removed: ['Old'],
      replaced: [],
      refused: [],
    });
  });

  test('GIVEN an unknown resource type THEN planning throws instead of calling it unchanged', () => {
    const t = template({ X: { Type: 'AWS::SQS::Queeu' } });
    expect(() => planStackUpdate(t, t)).toThrow(UnknownResourceTypeError);
  });

  test('GIVEN a logical id whose type changes THEN planning throws as CloudFormation refuses', () => {
    expect(() =>
      planStackUpdate(template({ X: { Type: 'AWS::SQS::Queue' } }), template({ X: { Type: 'AWS::SNS::Topic' } })),
    ).toThrow(ResourceTypeChangeError);
  });
});
