// The registry facts the update rules stand on: create-only properties and the physical-name rule, on real types.
import {
  createOnlyProperties,
  isKnownResourceType,
  nestedCreateOnlyPaths,
  physicalNameProperty,
  replacementFact,
  UnknownResourceTypeError,
} from '../spec.js';

describe('createOnlyProperties', () => {
  test('GIVEN an SQS queue THEN FifoQueue and QueueName replace it and VisibilityTimeout does not', () => {
    const createOnly = createOnlyProperties('AWS::SQS::Queue');
    expect(createOnly).toEqual(expect.arrayContaining(['FifoQueue', 'QueueName']));
    expect(createOnly).not.toContain('VisibilityTimeout');
    expect(replacementFact('AWS::SQS::Queue', 'VisibilityTimeout')).toBe('no');
  });

  test('GIVEN a SageMaker data-quality job definition THEN every property is create-only', () => {
    expect(createOnlyProperties('AWS::SageMaker::DataQualityJobDefinition')).toEqual(
      expect.arrayContaining([
        'DataQualityBaselineConfig',
        'DataQualityAppSpecification',
        'JobDefinitionName',
        'RoleArn',
      ]),
    );
  });

  test("GIVEN a registry 'maybe' (EC2 InstanceType) THEN it counts as create-only", () => {
    expect(replacementFact('AWS::EC2::Instance', 'InstanceType')).toBe('maybe');
    expect(createOnlyProperties('AWS::EC2::Instance')).toContain('InstanceType');
  });

  test('GIVEN a Custom:: type THEN it is a custom resource whose ServiceToken alone is create-only', () => {
    expect(createOnlyProperties('Custom::CDKBucketDeployment')).toEqual(['ServiceToken']);
  });

  test('GIVEN an unknown type THEN every lookup throws UnknownResourceTypeError', () => {
    expect(isKnownResourceType('AWS::SQS::Queeu')).toBe(false);
    expect(() => createOnlyProperties('AWS::SQS::Queeu')).toThrow(UnknownResourceTypeError);
    expect(() => physicalNameProperty('AWS::SQS::Queeu')).toThrow(/unknown resource type AWS::SQS::Queeu/);
  });
});

describe('nestedCreateOnlyPaths', () => {
  test('GIVEN a Firehose delivery stream THEN a destination VpcConfiguration is create-only below a mutable property', () => {
    const paths = nestedCreateOnlyPaths('AWS::KinesisFirehose::DeliveryStream').map((p) => p.join('.'));
    expect(paths).toContain('ElasticsearchDestinationConfiguration.VpcConfiguration');
    expect(replacementFact('AWS::KinesisFirehose::DeliveryStream', 'ElasticsearchDestinationConfiguration')).toBe('no');
  });

  test('GIVEN a DynamoDB global table THEN a GSI key schema under the array is create-only (maybe)', () => {
    const paths = nestedCreateOnlyPaths('AWS::DynamoDB::GlobalTable').map((p) => p.join('.'));
    expect(paths).toContain('GlobalSecondaryIndexes.*.KeySchema.*.AttributeName');
  });
});

describe('physicalNameProperty', () => {
  test.each([
    ['AWS::SQS::Queue', 'QueueName', false],
    ['AWS::DynamoDB::Table', 'TableName', false],
    ['AWS::Batch::JobDefinition', 'JobDefinitionName', false],
    ['AWS::SageMaker::Endpoint', 'EndpointName', false],
    ['AWS::SageMaker::DataQualityJobDefinition', 'JobDefinitionName', false],
    ['AWS::SageMaker::ModelQualityJobDefinition', 'JobDefinitionName', false],
    ['AWS::Lambda::Function', 'FunctionName', false],
    ['AWS::SSM::Parameter', 'Name', false],
    ['AWS::Events::Rule', 'Name', false],
    ['AWS::Logs::MetricFilter', 'FilterName', false],
    ['AWS::KinesisFirehose::DeliveryStream', 'DeliveryStreamName', false],
    ['AWS::SageMaker::MonitoringSchedule', 'MonitoringScheduleName', true],
    ['AWS::ApplicationAutoScaling::ScalingPolicy', 'PolicyName', true],
    ['AWS::KMS::Alias', 'AliasName', true],
    ['AWS::Events::EventBus', 'Name', true],
  ])('GIVEN %s THEN its name is %s (required: %s)', (type, property, required) => {
    expect(physicalNameProperty(type)).toEqual({ property, required });
  });

  test.each([
    ['AWS::KMS::Key', 'no name property at all'],
    ['AWS::ApiGateway::RestApi', 'Name is mutable: a rename is an update'],
    ['AWS::Cognito::UserPool', 'UserPoolName is mutable'],
  ])('GIVEN %s THEN it has no physical-name property (%s)', (type) => {
    expect(physicalNameProperty(type)).toBeUndefined();
  });

  test("GIVEN create-only references to other resources' names THEN they are not taken for the name", () => {
    // EndpointName of a job definition, EventBusName of a rule, LogGroupName of a metric filter: create-only strings
    // ending in Name that name something else.
    expect(createOnlyProperties('AWS::SageMaker::DataQualityJobDefinition')).toContain('EndpointName');
    expect(createOnlyProperties('AWS::Events::Rule')).toContain('EventBusName');
    expect(physicalNameProperty('AWS::Events::Rule')?.property).toBe('Name');
  });
});
