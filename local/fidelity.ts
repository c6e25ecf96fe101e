// How each resource type of the dev template runs on this machine, or why it only exists in the cloud.
import type { LocalTemplate } from './types.js';

export type ResourceSupport = { readonly local: string } | { readonly cloudOnly: string };

export const RESOURCE_SUPPORT: Readonly<Record<string, ResourceSupport>> = {
  'AWS::DynamoDB::Table': {
    local: 'dynalite under <dataDir>/dynamodb; KeySchema, attributes and GSIs from the template',
  },
  'AWS::Kinesis::Stream': {
    local: 'kinesalite under <dataDir>/kinesis; ShardCount (1 for ON_DEMAND) from the template',
  },
  'AWS::S3::Bucket': { local: 's3rver under <dataDir>/s3; one bucket per template bucket' },
  'AWS::SQS::Queue': { local: 'local SQS store and AmazonSQS JSON server under <dataDir>/sqs (the DLQs)' },
  'AWS::SNS::Topic': { local: 'local SNS Publish server; messages kept per topic under <dataDir>/sns' },
  'AWS::Events::EventBus': { local: 'local EventBridge PutEvents server on the bus name' },
  'AWS::Events::Rule': {
    local:
      'local EventBridge applies the EventPattern (or fires the rate schedule) and delivers to targets with retry and DLQ',
  },
  'AWS::Events::Archive': { local: 'every accepted event appended to <dataDir>/events/archive.jsonl' },
  'AWS::KinesisFirehose::DeliveryStream': {
    local: 'local Firehose server buffering to the destination bucket and prefix (GZIP honoured) via local S3',
  },
  'AWS::Lambda::Function': { local: 'each function runs its bundled asset in a worker thread (local/lambda)' },
  'AWS::Lambda::EventSourceMapping': {
    local: 'the Kinesis poller of local/lambda with batching, retries and on-failure',
  },
  'AWS::Lambda::Permission': {
    cloudOnly: 'resource policy: locally every caller (API, bus, poller) may invoke every function of the template',
  },
  'AWS::ApiGateway::RestApi': { local: 'the API emulator of local/api serves the OpenAPI Body' },
  'AWS::ApiGateway::Deployment': { local: 'the local API serves the RestApi Body directly; a deployment is implied' },
  'AWS::ApiGateway::Stage': {
    local: 'the local API serves one stage; its throttling is not modelled beyond usage plans',
  },
  'AWS::ApiGateway::ApiKey': { local: 'the local API generates and persists a key value per ApiKey (<dataDir>/api)' },
  'AWS::ApiGateway::UsagePlan': { local: 'the local API enforces Throttle and Quota per key' },
  'AWS::ApiGateway::UsagePlanKey': { local: 'links a local API key to its usage plan' },
  'AWS::Cognito::UserPool': { local: 'the local issuer at <apiBaseUrl>/cognito/<poolId> (token and JWKS endpoints)' },
  'AWS::Cognito::UserPoolClient': { local: 'a local client id and persisted secret with the AllowedOAuthScopes' },
  'AWS::Cognito::UserPoolResourceServer': {
    local: 'its scopes are the `<identifier>/<scope>` the local issuer grants',
  },
  'AWS::Cognito::UserPoolDomain': { cloudOnly: 'hosted domain; the local issuer is served by the local API instead' },
  'AWS::KMS::Key': { cloudOnly: 'encryption at rest by a customer key; local stores are plain files on this machine' },
  'AWS::KMS::Alias': { cloudOnly: 'names a KMS key, which is cloud-only' },
  'AWS::IAM::Role': { cloudOnly: 'identity for AWS authorization; local services accept fake credentials' },
  'AWS::IAM::Policy': { cloudOnly: 'IAM authorization is not enforced by the local emulators' },
  'AWS::IAM::ManagedPolicy': { cloudOnly: 'IAM authorization is not enforced by the local emulators' },
  'AWS::S3::BucketPolicy': { cloudOnly: 'TLS-only and access policies; local S3 is loopback HTTP without IAM' },
  'AWS::SQS::QueuePolicy': { cloudOnly: 'TLS-only and access policies; local SQS is loopback HTTP without IAM' },
  'AWS::SNS::TopicPolicy': { cloudOnly: 'TLS-only and access policies; local SNS is loopback HTTP without IAM' },
  'AWS::Logs::LogGroup': { cloudOnly: 'CloudWatch Logs; local function logs go to <dataDir>/logs/<function>.log' },
  'AWS::Logs::LogStream': { cloudOnly: 'CloudWatch Logs stream for Firehose delivery errors' },
  'AWS::WAFv2::WebACL': { cloudOnly: 'AWS managed rule groups and IP reputation lists exist only in AWS WAF' },
  'AWS::WAFv2::WebACLAssociation': { cloudOnly: 'attaches the cloud-only web ACL to the API stage' },
  'AWS::EventSchemas::Registry': { cloudOnly: 'schema discovery/registry; the same schemas are checked by unit tests' },
  'AWS::EventSchemas::Schema': { cloudOnly: 'registry entry; the event contracts it holds live in lambdas/shared' },
  'AWS::CloudWatch::Alarm': { cloudOnly: 'CloudWatch metrics and alarms are not emulated' },
  'AWS::CloudWatch::CompositeAlarm': { cloudOnly: 'CloudWatch metrics and alarms are not emulated' },
  'AWS::CloudWatch::Dashboard': { cloudOnly: 'CloudWatch dashboards are not emulated' },
  'AWS::XRay::Group': { cloudOnly: 'X-Ray tracing; local functions run with tracing disabled' },
  'AWS::XRay::SamplingRule': { cloudOnly: 'X-Ray tracing; local functions run with tracing disabled' },
  'AWS::CDK::Metadata': { cloudOnly: 'CDK usage metadata for CloudFormation' },
  'AWS::SageMaker::Model': {
    local: 'the model server process serves the same ONNX artifact (local/model-endpoint.ts)',
  },
  'AWS::SageMaker::EndpointConfig': {
    local: 'the model server applies the manifest serving settings (batching, timeout); instance types are cloud-only',
  },
  'AWS::SageMaker::Endpoint': {
    local: 'the model server answers InvokeEndpoint at AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME with the v2 protocol',
  },
  'AWS::ApplicationAutoScaling::ScalableTarget': {
    cloudOnly: 'endpoint instance autoscaling; the local model server is one process',
  },
  'AWS::ApplicationAutoScaling::ScalingPolicy': {
    cloudOnly: 'endpoint instance autoscaling; the local model server is one process',
  },
  'AWS::SageMaker::ModelPackageGroup': {
    cloudOnly: 'the SageMaker model registry; the local stage serves the trained artifact directly',
  },
  'AWS::SageMaker::DataQualityJobDefinition': {
    cloudOnly: 'Model Monitor processing job on SageMaker; locally the drift function runs against the capture',
  },
  'AWS::SageMaker::ModelQualityJobDefinition': {
    cloudOnly: 'Model Monitor processing job on SageMaker (needs ground truth joined by inference id in S3)',
  },
  'AWS::SageMaker::MonitoringSchedule': { cloudOnly: 'schedules the cloud-only Model Monitor jobs' },
  'AWS::SSM::Parameter': { cloudOnly: 'the champion pointer in Parameter Store; not yet emulated locally' },
  'AWS::StepFunctions::StateMachine': { cloudOnly: 'the retraining workflow; not yet executed locally' },
  'AWS::Glue::Database': { cloudOnly: 'the lake catalog Athena queries; not yet emulated locally' },
  'AWS::Glue::Table': { cloudOnly: 'a lake table Athena queries; not yet emulated locally' },
  'AWS::Athena::WorkGroup': { cloudOnly: 'Athena runs the dataset SQL; not yet emulated locally' },
  'AWS::Scheduler::Schedule': { cloudOnly: 'EventBridge Scheduler; schedules are not emulated locally' },
};

/** Resource types of the template that RESOURCE_SUPPORT does not account for (a fidelity test expects none). */
export function unsupportedTypes(template: LocalTemplate): string[] {
  const types = new Set(template.resources.map((r) => r.type));
  return [...types].filter((type) => !(type in RESOURCE_SUPPORT)).sort();
}
