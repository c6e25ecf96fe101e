// What a state machine's role must allow for each Step Functions service integration, keyed by the Task's Resource.
//
// One row per integration the templates use (the gate fails on a Task whose Resource has no row, so a new integration
// comes here with its source). `.sync` rows include the polling and the stop Step Functions sends when an execution
// is stopped or times out, and the managed EventBridge rule it uses to learn that a job ended.

/** What one integration needs of the state machine's role. */
export interface IntegrationNeeds {
  /** IAM actions the role must allow (resource scoping is checked by the `*` rule, not here). */
  readonly actions: readonly string[];
  /** Where the list comes from. */
  readonly source: string;
}

const ATHENA_DOC = 'https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html';
const SAGEMAKER_DOC = 'https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html';

/**
 * What a query does with the caller's credentials, whatever integration pattern starts it: read the catalog and
 * the tables' objects, write results to the workgroup's output location (Athena:
 * https://docs.aws.amazon.com/athena/latest/ug/security-iam-athena.html and
 * https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html). KMS use is checked per key by the gate.
 */
const ATHENA_QUERY = [
  'glue:GetDatabase',
  'glue:GetTable',
  's3:GetBucketLocation',
  's3:GetObject',
  's3:ListBucket',
  's3:PutObject',
  's3:AbortMultipartUpload',
];

/** Rows keyed by the Task's Resource with the partition written `aws`. */
export const INTEGRATIONS: Readonly<Record<string, IntegrationNeeds>> = {
  'arn:aws:states:::lambda:invoke': {
    actions: ['lambda:InvokeFunction'],
    source: 'https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html',
  },
  'arn:aws:states:::lambda:invoke.waitForTaskToken': {
    actions: ['lambda:InvokeFunction'],
    source: 'https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html',
  },
  'arn:aws:states:::athena:startQueryExecution': {
    actions: ['athena:StartQueryExecution', ...ATHENA_QUERY],
    source: ATHENA_DOC,
  },
  'arn:aws:states:::athena:startQueryExecution.sync': {
    // Request-response needs Start; `.sync` polls with GetQueryExecution and calls StopQueryExecution when the
    // execution is stopped, times out or is aborted.
    actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution', ...ATHENA_QUERY],
    source: ATHENA_DOC,
  },
  'arn:aws:states:::sagemaker:createTrainingJob': {
    actions: ['sagemaker:CreateTrainingJob', 'sagemaker:AddTags', 'iam:PassRole'],
    source: SAGEMAKER_DOC,
  },
  'arn:aws:states:::sagemaker:createTrainingJob.sync': {
    // `.sync` learns of the job's end from a managed rule (StepFunctionsGetEventsForSageMakerTrainingJobsRule) and
    // stops the job when the execution is stopped.
    actions: [
      'sagemaker:CreateTrainingJob',
      'sagemaker:DescribeTrainingJob',
      'sagemaker:StopTrainingJob',
      'sagemaker:AddTags',
      'iam:PassRole',
      'events:PutTargets',
      'events:PutRule',
      'events:DescribeRule',
    ],
    source: SAGEMAKER_DOC,
  },
  'arn:aws:states:::sagemaker:createTransformJob.sync': {
    // Like training: `.sync` learns of the job's end from a managed rule (StepFunctionsGetEventsForSageMakerTransformJobsRule)
    // and stops the job when the execution is stopped; the job runs with the model's role (no role is passed).
    actions: [
      'sagemaker:CreateTransformJob',
      'sagemaker:DescribeTransformJob',
      'sagemaker:StopTransformJob',
      'sagemaker:AddTags',
      'events:PutTargets',
      'events:PutRule',
      'events:DescribeRule',
    ],
    source: SAGEMAKER_DOC,
  },

  'arn:aws:states:::events:putEvents': {
    actions: ['events:PutEvents'],
    source: 'https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-iam.html',
  },
  'arn:aws:states:::sns:publish': {
    actions: ['sns:Publish'],
    source: 'https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html',
  },
  'arn:aws:states:::sqs:sendMessage': {
    actions: ['sqs:SendMessage'],
    source: 'https://docs.aws.amazon.com/step-functions/latest/dg/sqs-iam.html',
  },
  'arn:aws:states:::states:startExecution.sync:2': {
    actions: [
      'states:StartExecution',
      'states:DescribeExecution',
      'states:StopExecution',
      'events:PutTargets',
      'events:PutRule',
      'events:DescribeRule',
    ],
    source: 'https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html',
  },
};

/**
 * SDK service names of `arn:aws:states:::aws-sdk:<service>:<action>` whose IAM prefix differs
 * (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html).
 */
const SDK_IAM_PREFIX: Readonly<Record<string, string>> = { sfn: 'states', efs: 'elasticfilesystem' };

const PARTITION = /^arn:aws[\w-]*:states:::/;

/**
 * What a Task with this Resource needs, or undefined when no row says. `aws-sdk` Tasks need the IAM action of their
 * SDK call (`aws-sdk:ssm:getParameter` → `ssm:GetParameter`); a Lambda function ARN as Resource needs InvokeFunction.
 */
export function integrationNeeds(resource: string): IntegrationNeeds | undefined {
  const normalized = resource.replace(PARTITION, 'arn:aws:states:::');
  const row = INTEGRATIONS[normalized];
  if (row) return row;
  const sdk = /^arn:aws:states:::aws-sdk:([\w-]+):(\w+)(\.waitForTaskToken)?$/.exec(normalized);
  if (sdk?.[1] && sdk[2]) {
    const action = sdk[2].charAt(0).toUpperCase() + sdk[2].slice(1);
    return {
      actions: [`${SDK_IAM_PREFIX[sdk[1]] ?? sdk[1]}:${action}`],
      source: 'https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html',
    };
  }
  if (/^arn:aws[\w-]*:lambda:/.test(resource)) return INTEGRATIONS['arn:aws:states:::lambda:invoke'];
  return undefined;
}
