// How each resource type of the dev template runs on this machine, or why it only exists in the cloud.
import type { LocalTemplate } from './types.js';

export type ResourceSupport = { readonly local: string } | { readonly cloudOnly: string };

export const RESOURCE_SUPPORT: Readonly<Record<string, ResourceSupport>> = {
  'AWS::DynamoDB::Table': {
    local:
      "dynalite under <dataDir>/dynamodb; KeySchema, attributes and GSIs from the template; a StreamSpecification gives the table a local stream (change records of its StreamViewType, fsync'd to <dataDir>/dynamodb-streams/ before the write is answered, in order per key, 24 h retention) at the StreamArn the template resolves",
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
      "local EventBridge applies the EventPattern (or fires the rate schedule) and delivers to targets with retry and DLQ; a Lambda target is invoked asynchronously, so its function errors follow the function's EventInvokeConfig, not the rule's RetryPolicy",
  },
  'AWS::Lambda::EventInvokeConfig': {
    local:
      "a Lambda rule target's function errors are retried MaximumRetryAttempts times (within MaximumEventAgeInSeconds), then Lambda's invocation record goes to the OnFailure SQS queue; without a config, 2 retries and the event is discarded (with a line on stderr), as Lambda does",
  },
  'AWS::Events::Archive': { local: 'every accepted event appended to <dataDir>/events/archive.jsonl' },
  'AWS::KinesisFirehose::DeliveryStream': {
    local: 'local Firehose server buffering to the destination bucket and prefix (GZIP honoured) via local S3',
  },
  'AWS::Lambda::Function': { local: 'each function runs its bundled asset in a worker thread (local/lambda)' },
  'AWS::Lambda::Version': {
    local:
      'a version runs the code of its function: the local stage keeps one worker pool per function (local/lambda), so `…:function:<name>:<n>` reaches it',
  },
  'AWS::Lambda::Alias': {
    local:
      "an alias ARN (`…:function:<name>:<alias>`, e.g. the score integration URI) routes to its function's worker pool; a qualifier the template does not declare is refused as Lambda refuses it. ProvisionedConcurrencyConfig is cloud-only: local workers start on demand (or are warmed by the stage)",
  },
  'AWS::Lambda::EventSourceMapping': {
    local:
      'the stream pollers of local/lambda over a Kinesis stream or a table stream (its StreamArn): FilterCriteria, batching window, partial batch responses, bisection, retries, record age and the on-failure destination (KinesisBatchInfo / DDBStreamBatchInfo), checkpointed under <dataDir>/esm',
  },
  'AWS::Lambda::Permission': {
    cloudOnly: 'resource policy: locally every caller (API, bus, poller) may invoke every function of the template',
  },
  'AWS::ApiGateway::Account': {
    cloudOnly: 'the account-level CloudWatch role API Gateway writes execution logs with; the local API logs to stdout',
  },
  'AWS::ApiGateway::RestApi': { local: 'the API emulator of local/api serves the OpenAPI Body' },
  'AWS::ApiGateway::Deployment': { local: 'the local API serves the RestApi Body directly; a deployment is implied' },
  'AWS::ApiGateway::Stage': {
    local: 'the local API serves one stage; its throttling is not modelled beyond usage plans',
  },
  'AWS::ApiGateway::ApiKey': {
    local:
      'the local API generates and persists a key value per ApiKey (<dataDir>/api) and answers GetApiKeys by CustomerId for the authorizer',
  },
  'AWS::ApiGateway::UsagePlan': { local: 'the local API enforces Throttle and Quota per key' },
  'AWS::ApiGateway::UsagePlanKey': { local: 'links a local API key to its usage plan' },
  'AWS::Cognito::UserPool': {
    local:
      'the local issuer at <apiBaseUrl>/cognito/<poolId>: token, JWKS, discovery and the hosted login (code + PKCE) with seeded users',
  },
  'AWS::Cognito::UserPoolClient': {
    local:
      'a local client id, a persisted secret when GenerateSecret, the AllowedOAuthScopes and flows, callback URLs (CloudFront → <apiBaseUrl>/console/)',
  },
  'AWS::Cognito::UserPoolGroup': {
    local: "the seeded users' groups (analysts, operators): their tokens' cognito:groups and the scopes they grant",
  },
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
    local:
      'a model server process serves its ModelDataUrl (the champion pointer resolved from local SSM; bootstrap = the trained artifact) — local/lifecycle/models-stack.ts',
  },
  'AWS::SageMaker::EndpointConfig': {
    local:
      'DataCaptureConfig honoured (JSON lines under DestinationS3Uri/<endpoint>/<variant>/yyyy/mm/dd/hh/ at InitialSamplingPercentage, flushed every second); instance types and KMS are cloud-only',
  },
  'AWS::SageMaker::Endpoint': {
    local:
      'a proxy in front of the model servers answers InvokeEndpoint; a models-stack update runs the CANARY (CanarySize %, bake = WaitIntervalInSeconds or the local override) and rolls back on the AutoRollbackConfiguration alarms evaluated over the canary window',
  },
  'AWS::SageMaker::InferenceComponent': {
    local:
      'names the model the endpoint serves (Specification.ModelName) and its rolling update (MaximumBatchSize %, WaitIntervalInSeconds, AutoRollbackConfiguration alarms), run like the endpoint canary; its scale-to-zero alarm stops the idle model server (local/lifecycle/idle.ts); copies and CPU/memory requirements are cloud-only',
  },
  'AWS::ApplicationAutoScaling::ScalableTarget': {
    cloudOnly:
      'endpoint instance autoscaling (the local model server is one process) and Lambda provisioned concurrency (not in dev, and local workers are not billed by the environment)',
  },
  'AWS::ApplicationAutoScaling::ScalingPolicy': {
    cloudOnly:
      'target tracking on CloudWatch metrics (endpoint invocations, Lambda provisioned-concurrency utilization), which are not emulated',
  },
  'AWS::SageMaker::ModelPackageGroup': {
    local:
      'local model registry under <dataDir>/registry (Create/Describe/List/UpdateModelPackage, approval status, metrics, lineage)',
  },
  'AWS::SageMaker::DataQualityJobDefinition': {
    local:
      'DescribeDataQualityJobDefinition answers the baseline of the last completed models-stack update; the analysis job itself is cloud-only (the drift check function runs locally against the capture)',
  },
  'AWS::SageMaker::ModelQualityJobDefinition': {
    cloudOnly: 'Model Monitor processing job on SageMaker (needs ground truth joined by inference id in S3)',
  },
  'AWS::SageMaker::MonitoringSchedule': {
    local:
      'DescribeMonitoringSchedule of the data-quality schedule names the job definition of the last completed models-stack update; the scheduled runs are cloud-only',
  },
  'AWS::SSM::Parameter': {
    local: 'local Parameter Store under <dataDir>/ssm (created once with its Value; GetParameter/PutParameter)',
  },
  'AWS::StepFunctions::StateMachine': {
    local:
      'the DefinitionString runs in aws-local-stepfunctions: Lambda tasks on the local runtime, other tasks by local equivalents (local/lifecycle); Start/Describe/ListExecutions, SendTask* at AWS_ENDPOINT_URL_SFN',
  },
  'AWS::Glue::Database': { local: 'names the tables the local Athena (DuckDB) loads for a query' },
  'AWS::Glue::Table': {
    local:
      'DuckDB table built per query from the objects under Location with the declared columns and partition keys (storage.location.template)',
  },
  'AWS::Athena::WorkGroup': {
    local:
      'the dataset SQL runs in DuckDB (date_format macro); the CSV goes to the workgroup OutputLocation in local S3',
  },
  'AWS::Scheduler::Schedule': {
    cloudOnly:
      "EventBridge Scheduler; schedules do not fire locally: a batch model's nightly run is started with its target's input by `npm run demo -- --batch` or lifecycle.startBatchRun",
  },
  'AWS::CloudFront::Distribution': {
    local:
      "the local API serves what the distribution does: the console at <apiUrl>/console/ (console/dist, config.json from the template) and /v1/* itself; the app client's CloudFront URLs map to <apiUrl>/console/ (local/api/console.ts). Edge caching, TLS and its security headers policy are cloud-only (the local console sends the same headers)",
  },
  'AWS::CloudFront::OriginAccessControl': {
    cloudOnly: 'CloudFront signs its requests to the private site bucket; locally the API reads console/dist itself',
  },
  'AWS::CloudFront::ResponseHeadersPolicy': {
    cloudOnly: 'CloudFront adds the security headers; the local console server sends the same set',
  },
  'Custom::CDKBucketDeployment': {
    local:
      'the deployment copies console/dist and config.json into the site bucket on AWS; locally the API serves console/dist and generates config.json from the template, so its function is not run',
  },
  'AWS::Lambda::LayerVersion': {
    cloudOnly: "the aws-cli layer of CDK's BucketDeployment function, which only runs in CloudFormation deployments",
  },
};

/** Resource types of the template that RESOURCE_SUPPORT does not account for (a fidelity test expects none). */
export function unsupportedTypes(template: LocalTemplate): string[] {
  const types = new Set(template.resources.map((r) => r.type));
  return [...types].filter((type) => !(type in RESOURCE_SUPPORT)).sort();
}
