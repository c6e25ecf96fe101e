// The local stage's view of the synthesized dev template: one loader, one physical-name scheme everyone relies on.
//
// Physical names (deterministic: the same assembly always yields the same names, so data under AIMS_DATA_DIR
// survives a restart). "Default name" = `<StackName>-<LogicalId>`, e.g. `Dev-Data-FeaturesTable52D06210`;
// when a type's length limit is exceeded it is cut and ends in `-<8 char hash>`. A name property in the template
// (TableName, Name, FunctionName, QueueName, TopicName, …) always wins over the default.
//   DynamoDB table     Ref = name                         Arn arn:aws:dynamodb:<r>:<a>:table/<name>, StreamArn
//   Kinesis stream     Ref = name                         Arn arn:aws:kinesis:<r>:<a>:stream/<name>
//   S3 bucket          Ref = default name lower-cased, [a-z0-9-], ≤ 63   Arn arn:aws:s3:::<name>
//   EventBridge bus    Ref = its Name property            Arn arn:aws:events:<r>:<a>:event-bus/<name>
//   EventBridge rule   Ref = `<bus>|<rule>` (custom bus)  Arn arn:aws:events:<r>:<a>:rule/<bus>/<rule>
//   Lambda function    Ref = name (≤ 64)                  Arn arn:aws:lambda:<r>:<a>:function:<name>
//   SQS queue          Ref = `<endpoints.sqs>/<a>/<name>` Arn arn:aws:sqs:<r>:<a>:<name>, QueueName, QueueUrl
//   SNS topic          Ref = arn:aws:sns:<r>:<a>:<name>   TopicName
//   Firehose stream    Ref = name (≤ 64)                  Arn arn:aws:firehose:<r>:<a>:deliverystream/<name>
//   Cognito user pool  Ref = `<region>_<9 chars>`         ProviderURL = `<apiBaseUrl>/cognito/<Ref>` (the local
//                      issuer on the API server), ProviderName = the same without the scheme, Arn
//   Cognito client     Ref = 26 lower-case alphanumerics (stable hash of stage/stack/logical id)
//   KMS key            Ref = a stable UUID                Arn arn:aws:kms:<r>:<a>:key/<uuid>
//   IAM role           Ref = name (≤ 64)                  Arn arn:aws:iam::<a>:role/<name>
//   API Gateway        RestApi Ref = 10 chars, Stage Ref = StageName, ApiKey Ref = 10 chars, UsagePlan Ref = 6 chars
//   Log group          Ref = name                         Arn arn:aws:logs:<r>:<a>:log-group:<name>:*
//   others: see ./naming.ts; a type it does not model gets Ref = default name and no attributes.
// Account and region come from the stack's environment in the manifest (`aws://<account>/<region>`).
// Fn::GetAtt of an attribute that has no local value fails at load time, naming the resource and the attribute.
export {
  DEFAULT_API_BASE_URL,
  type LoadLocalTemplateOptions,
  loadLocalTemplate,
  stageAssemblyDir,
  TemplateResolutionError,
  UNSET_SQS_BASE_URL,
} from './load.js';
export { type ModelRole, modelTag, servedModels, type TemplateModel, templateModel, templateModels } from './models.js';
export { bucketName, defaultPhysicalName, stableId, stableUuid, TYPES_WITH_IDENTITY } from './naming.js';
