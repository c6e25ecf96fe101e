// AWS SDK adapters of the models API's ports: Step Functions, the SageMaker registry, SSM pointers, the models
// stack (CloudFormation), the retraining lock table (DynamoDB) and JSON objects in S3.
import { type CloudFormationClient, DescribeStacksCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  type SageMakerClient,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  type Approvals,
  type ExecutionDetail,
  type ExecutionSummary,
  type Executions,
  type ModelsStack,
  type Objects,
  type PackageDetail,
  type PackageSummary,
  type ParkedApproval,
  type Pointers,
  type Registry,
  TaskTokenExpiredError,
} from './core.js';

/** History events read from the end of an execution to find the state it is in. */
const HISTORY_TAIL = 25;
/** The capabilities the models stack's template needs (the same the retraining deploy step passes). */
export const MODELS_STACK_CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'] as const;

const nameOf = (error: unknown) => (error as { name?: string } | undefined)?.name ?? '';

export class StepFunctionsExecutions implements Executions {
  constructor(private readonly sfn: SFNClient) {}

  async start(stateMachineArn: string, name: string, input: string) {
    const out = await this.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }));
    if (!out.executionArn) throw new Error(`StartExecution of ${stateMachineArn} returned no executionArn`);
    return { executionArn: out.executionArn, startDate: out.startDate ?? new Date() };
  }

  async list(stateMachineArn: string, options: { running: boolean; max: number }): Promise<ExecutionSummary[]> {
    const out = await this.sfn.send(
      new ListExecutionsCommand({
        stateMachineArn,
        maxResults: options.max,
        ...(options.running ? { statusFilter: 'RUNNING' as const } : {}),
      }),
    );
    return (out.executions ?? [])
      .flatMap((e) =>
        e.executionArn && e.name && e.status && e.startDate
          ? [
              {
                executionArn: e.executionArn,
                name: e.name,
                status: e.status,
                startDate: e.startDate,
                ...(e.stopDate ? { stopDate: e.stopDate } : {}),
              },
            ]
          : [],
      )
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime())
      .slice(0, options.max);
  }

  async describe(executionArn: string): Promise<ExecutionDetail> {
    const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return {
      ...(out.input ? { input: out.input } : {}),
      ...(out.error ? { error: out.error } : {}),
      ...(out.cause ? { cause: out.cause } : {}),
    };
  }

  async enteredStates(executionArn: string): Promise<string[]> {
    const out = await this.sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        reverseOrder: true,
        maxResults: HISTORY_TAIL,
        includeExecutionData: false,
      }),
    );
    return (out.events ?? []).flatMap((e) =>
      e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : [],
    );
  }

  private async sendToken(command: SendTaskSuccessCommand | SendTaskFailureCommand): Promise<void> {
    try {
      await this.sfn.send(command as SendTaskSuccessCommand);
    } catch (error) {
      if (['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'].includes(nameOf(error))) {
        throw new TaskTokenExpiredError(String((error as Error).message), { cause: error });
      }
      throw error;
    }
  }

  sendTaskSuccess(taskToken: string, output: string) {
    return this.sendToken(new SendTaskSuccessCommand({ taskToken, output }));
  }

  sendTaskFailure(taskToken: string, error: string, cause: string) {
    return this.sendToken(new SendTaskFailureCommand({ taskToken, error, cause: cause.slice(0, 32_768) }));
  }
}

const STATUSES = new Set(['Approved', 'Rejected', 'PendingManualApproval']);
function statusOf(value: string | undefined, arn: string): PackageSummary['status'] {
  if (value && STATUSES.has(value)) return value as PackageSummary['status'];
  throw new Error(`model package ${arn} has approval status '${value}', expected one of ${[...STATUSES].join(', ')}`);
}
const versionFromArn = (arn: string) => Number(/\/(\d+)$/.exec(arn)?.[1] ?? Number.NaN);

export class SageMakerRegistry implements Registry {
  constructor(private readonly sagemaker: SageMakerClient) {}

  async list(group: string, options: { approvedOnly: boolean; max: number }): Promise<PackageSummary[]> {
    const out: PackageSummary[] = [];
    let token: string | undefined;
    do {
      const page = await this.sagemaker.send(
        new ListModelPackagesCommand({
          ModelPackageGroupName: group,
          ModelPackageType: 'Versioned',
          SortBy: 'CreationTime',
          SortOrder: 'Descending',
          MaxResults: Math.min(100, options.max - out.length),
          ...(options.approvedOnly ? { ModelApprovalStatus: 'Approved' as const } : {}),
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const s of page.ModelPackageSummaryList ?? []) {
        if (!s.ModelPackageArn || !s.CreationTime) continue;
        out.push({
          modelPackageArn: s.ModelPackageArn,
          packageVersion: s.ModelPackageVersion ?? versionFromArn(s.ModelPackageArn),
          status: statusOf(s.ModelApprovalStatus, s.ModelPackageArn),
          createdAt: s.CreationTime,
        });
      }
      token = page.NextToken;
    } while (token && out.length < options.max);
    return out.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.packageVersion - a.packageVersion);
  }

  async describe(modelPackageArn: string): Promise<PackageDetail> {
    const out = await this.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: modelPackageArn }));
    const arn = out.ModelPackageArn ?? modelPackageArn;
    const metricsUri = out.ModelMetrics?.ModelQuality?.Statistics?.S3Uri;
    return {
      modelPackageArn: arn,
      packageVersion: out.ModelPackageVersion ?? versionFromArn(arn),
      status: statusOf(out.ModelApprovalStatus, arn),
      createdAt: out.CreationTime ?? new Date(0),
      metadata: { ...(out.CustomerMetadataProperties ?? {}) },
      ...(metricsUri ? { metricsUri } : {}),
    };
  }

  async setStatus(modelPackageArn: string, status: 'Approved' | 'Rejected', description: string): Promise<void> {
    await this.sagemaker.send(
      new UpdateModelPackageCommand({
        ModelPackageArn: modelPackageArn,
        ModelApprovalStatus: status,
        ApprovalDescription: description,
      }),
    );
  }
}

export class SsmPointers implements Pointers {
  constructor(private readonly ssm: SSMClient) {}

  async get(parameterName: string): Promise<string> {
    const out = await this.ssm.send(new GetParameterCommand({ Name: parameterName }));
    const value = out.Parameter?.Value;
    if (!value) throw new Error(`champion pointer ${parameterName} has no value`);
    return value;
  }

  async put(parameterName: string, value: string): Promise<void> {
    await this.ssm.send(
      new PutParameterCommand({ Name: parameterName, Value: value, Type: 'String', Overwrite: true }),
    );
  }
}

/**
 * The models stack. UpdateStack passes no RoleARN: CloudFormation then uses the service role `cdk deploy` associated
 * with the stack (the CDK bootstrap's execution role), and a caller needs no iam:PassRole to use an associated role.
 */
export class CloudFormationModelsStack implements ModelsStack {
  constructor(
    private readonly cloudformation: CloudFormationClient,
    readonly stackName: string,
  ) {}

  async describe(): Promise<{ status: string; parameterKeys: string[] }> {
    const out = await this.cloudformation.send(new DescribeStacksCommand({ StackName: this.stackName }));
    const stack = out.Stacks?.[0];
    if (!stack?.StackStatus) throw new Error(`DescribeStacks found no stack ${this.stackName}`);
    return {
      status: stack.StackStatus,
      parameterKeys: (stack.Parameters ?? []).flatMap((p) => (p.ParameterKey ? [p.ParameterKey] : [])),
    };
  }

  async updateWithPreviousTemplate(parameterKeys: readonly string[]): Promise<void> {
    await this.cloudformation.send(
      new UpdateStackCommand({
        StackName: this.stackName,
        UsePreviousTemplate: true,
        Parameters: parameterKeys.map((key) => ({ ParameterKey: key, UsePreviousValue: true })),
        Capabilities: [...MODELS_STACK_CAPABILITIES],
      }),
    );
  }
}

/** The approval token the AwaitApproval step parks on the model's lock item (lambdas/retraining/coordination.ts). */
export class LockTableApprovals implements Approvals {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async pending(model: string): Promise<ParkedApproval | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: model }, ConsistentRead: true }),
    );
    const item = Item as Record<string, unknown> | undefined;
    const text = (key: string) => (typeof item?.[key] === 'string' ? (item[key] as string) : undefined);
    const [taskToken, version, modelPackageArn, executionArn] = [
      text('taskToken'),
      text('pendingVersion'),
      text('pendingModelPackageArn'),
      text('holder'),
    ];
    return taskToken && version && modelPackageArn && executionArn
      ? { taskToken, version, modelPackageArn, executionArn }
      : undefined;
  }
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`expected an s3://bucket/key URI, got '${uri}'`);
  return { bucket: match[1] as string, key: match[2] as string };
}

export class S3Objects implements Objects {
  constructor(private readonly s3: S3Client) {}

  async readJson(uri: string): Promise<unknown | undefined> {
    const text = await this.readText(uri);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  async listKeys(bucket: string, prefix: string, max: number): Promise<string[]> {
    const out = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: max }));
    return (out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
  }

  async readText(uri: string): Promise<string | undefined> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await out.Body?.transformToString('utf8');
    } catch (error) {
      if (nameOf(error) === 'NoSuchKey' || nameOf(error) === 'NotFound') return undefined;
      throw error;
    }
  }
}
