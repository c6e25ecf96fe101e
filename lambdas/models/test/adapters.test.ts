// The SDK adapters against small loopback servers speaking each service's wire protocol (JSON 1.0/1.1, query XML,
// REST XML), and the lock-table adapter on dynalite: the requests they send and how they read the answers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient, s3Client } from '../../shared/aws.js';
import {
  createTable,
  type JsonRequest,
  type LocalServer,
  localClientOptions,
  startDynalite,
  startJsonServer,
  TABLES,
} from '../../shared/test/local.js';
import {
  CloudFormationModelsStack,
  LockTableApprovals,
  S3Objects,
  SageMakerRegistry,
  SsmPointers,
  StepFunctionsExecutions,
} from '../adapters.js';
import { TaskTokenExpiredError } from '../core.js';

const servers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

const target = (r: JsonRequest) => String(r.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
const bodyOf = (r: JsonRequest) => JSON.parse(r.body || '{}') as Record<string, unknown>;

/** A loopback server answering raw text bodies (query/REST XML services). */
async function startRawServer(
  respond: (method: string, url: string, body: string) => { status: number; type: string; body: string },
): Promise<LocalServer & { requests: { method: string; url: string; body: string }[] }> {
  const requests: { method: string; url: string; body: string }[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const r = { method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') };
    requests.push(r);
    const out = respond(r.method, r.url, r.body);
    res.writeHead(out.status, { 'content-type': out.type });
    res.end(out.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const local = {
    endpoint,
    requests,
    clientOptions: localClientOptions(endpoint),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(local);
  return local;
}

describe('GIVEN Step Functions', () => {
  test('WHEN runs are started, listed, described and their states read THEN the calls carry the right fields', async () => {
    const sfn = await startJsonServer((r) => {
      const b = bodyOf(r);
      switch (target(r)) {
        case 'StartExecution':
          return { status: 200, body: { executionArn: `arn:e:${b.name}`, startDate: 1_763_632_800 } };
        case 'ListExecutions':
          return {
            status: 200,
            body: {
              executions: [
                {
                  executionArn: 'arn:e:1',
                  stateMachineArn: 'arn:sm',
                  name: 'one',
                  status: 'RUNNING',
                  startDate: 1_763_632_800,
                },
                {
                  executionArn: 'arn:e:2',
                  stateMachineArn: 'arn:sm',
                  name: 'two',
                  status: 'SUCCEEDED',
                  startDate: 1_763_600_000,
                  stopDate: 1_763_610_000,
                },
              ],
            },
          };
        case 'DescribeExecution':
          return {
            status: 200,
            body: {
              executionArn: b.executionArn,
              stateMachineArn: 'arn:sm',
              status: 'FAILED',
              startDate: 1,
              input: '{"trigger":"api"}',
              error: 'E',
              cause: 'C',
            },
          };
        case 'GetExecutionHistory':
          return {
            status: 200,
            body: {
              events: [
                { id: 9, timestamp: 1, type: 'TaskStateExited', stateExitedEventDetails: { name: 'Train' } },
                { id: 8, timestamp: 1, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Train' } },
                { id: 7, timestamp: 1, type: 'PassStateEntered', stateEnteredEventDetails: { name: 'NameVersion' } },
              ],
            },
          };
        case 'SendTaskSuccess':
          return b.taskToken === 'expired'
            ? {
                status: 400,
                body: { __type: 'com.amazonaws.swf.service.v2.model#TaskTimedOut', message: 'Task Timed Out' },
              }
            : { status: 200, body: {} };
        default:
          return { status: 400, body: { __type: 'UnknownOperationException' } };
      }
    });
    servers.push(sfn);
    const executions = new StepFunctionsExecutions(new SFNClient({ ...sfn.clientOptions, maxAttempts: 1 }));

    const started = await executions.start('arn:sm', 'api-1', '{"trigger":"api"}');
    expect(started).toEqual({ executionArn: 'arn:e:api-1', startDate: new Date(1_763_632_800_000) });
    const running = await executions.list('arn:sm', { running: true, max: 1 });
    expect(running.map((e) => e.name)).toEqual(['one']);
    const all = await executions.list('arn:sm', { running: false, max: 5 });
    expect(all[1]).toMatchObject({ name: 'two', stopDate: new Date(1_763_610_000_000) });
    expect(await executions.describe('arn:e:2')).toEqual({ input: '{"trigger":"api"}', error: 'E', cause: 'C' });
    expect(await executions.enteredStates('arn:e:1')).toEqual(['Train', 'NameVersion']);
    await executions.sendTaskSuccess('fine', '{"approved":true}');
    await expect(executions.sendTaskSuccess('expired', '{}')).rejects.toThrow(TaskTokenExpiredError);

    const sent = sfn.requests.map((r) => [target(r), bodyOf(r)] as const);
    expect(sent[0]).toEqual([
      'StartExecution',
      { stateMachineArn: 'arn:sm', name: 'api-1', input: '{"trigger":"api"}' },
    ]);
    expect(sent[1]).toEqual(['ListExecutions', { stateMachineArn: 'arn:sm', maxResults: 1, statusFilter: 'RUNNING' }]);
    expect(sent[4]).toEqual([
      'GetExecutionHistory',
      { executionArn: 'arn:e:1', reverseOrder: true, maxResults: 25, includeExecutionData: false },
    ]);
    expect(sent[5]).toEqual(['SendTaskSuccess', { taskToken: 'fine', output: '{"approved":true}' }]);
  });
});

describe('GIVEN the SageMaker registry', () => {
  test('WHEN versions are listed over two pages, described and rejected THEN the fields map and the requests filter', async () => {
    const arn = (n: number) => `arn:aws:sagemaker:eu-west-1:1:model-package/g/${n}`;
    const sm = await startJsonServer((r) => {
      const b = bodyOf(r);
      switch (target(r)) {
        case 'ListModelPackages':
          return b.NextToken
            ? {
                status: 200,
                body: {
                  ModelPackageSummaryList: [
                    {
                      ModelPackageArn: arn(1),
                      ModelPackageVersion: 1,
                      ModelApprovalStatus: 'Approved',
                      CreationTime: 100,
                      ModelPackageStatus: 'Completed',
                    },
                  ],
                },
              }
            : {
                status: 200,
                body: {
                  ModelPackageSummaryList: [
                    {
                      ModelPackageArn: arn(2),
                      ModelPackageVersion: 2,
                      ModelApprovalStatus: 'PendingManualApproval',
                      CreationTime: 200,
                      ModelPackageStatus: 'Completed',
                    },
                  ],
                  NextToken: 'p2',
                },
              };
        case 'DescribeModelPackage':
          return {
            status: 200,
            body: {
              ModelPackageArn: arn(2),
              ModelPackageName: 'g',
              ModelPackageVersion: 2,
              ModelApprovalStatus: 'Approved',
              CreationTime: 200,
              ModelPackageStatus: 'Completed',
              CustomerMetadataProperties: { version: 'g-2', artifactPrefix: 's3://a/models/g/versions/g-2/' },
              ModelMetrics: {
                ModelQuality: {
                  Statistics: { ContentType: 'application/json', S3Uri: 's3://a/models/g/versions/g-2/metrics.json' },
                },
              },
            },
          };
        case 'UpdateModelPackage':
          return { status: 200, body: { ModelPackageArn: b.ModelPackageArn } };
        default:
          return { status: 400, body: { __type: 'UnknownOperationException' } };
      }
    });
    servers.push(sm);
    const registry = new SageMakerRegistry(new SageMakerClient({ ...sm.clientOptions, maxAttempts: 1 }));

    const list = await registry.list('g', { approvedOnly: false, max: 50 });
    expect(list.map((p) => [p.packageVersion, p.status, p.createdAt.toISOString()])).toEqual([
      [2, 'PendingManualApproval', '1970-01-01T00:03:20.000Z'],
      [1, 'Approved', '1970-01-01T00:01:40.000Z'],
    ]);
    expect(await registry.describe(arn(2))).toEqual({
      modelPackageArn: arn(2),
      packageVersion: 2,
      status: 'Approved',
      createdAt: new Date(200_000),
      metadata: { version: 'g-2', artifactPrefix: 's3://a/models/g/versions/g-2/' },
      metricsUri: 's3://a/models/g/versions/g-2/metrics.json',
    });
    await registry.list('g', { approvedOnly: true, max: 1 });
    await registry.setStatus(arn(2), 'Rejected', 'rolled back');

    const sent = sm.requests.map((r) => [target(r), bodyOf(r)] as const);
    expect(sent[0]).toEqual([
      'ListModelPackages',
      {
        ModelPackageGroupName: 'g',
        ModelPackageType: 'Versioned',
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: 50,
      },
    ]);
    expect(sent[1]?.[1]).toMatchObject({ NextToken: 'p2', MaxResults: 49 });
    expect(sent[3]?.[1]).toMatchObject({ ModelApprovalStatus: 'Approved', MaxResults: 1 });
    expect(sent.at(-1)).toEqual([
      'UpdateModelPackage',
      { ModelPackageArn: arn(2), ModelApprovalStatus: 'Rejected', ApprovalDescription: 'rolled back' },
    ]);
  });
});

describe('GIVEN SSM pointers', () => {
  test('WHEN a pointer is read and written THEN GetParameter and PutParameter (String, Overwrite) are sent', async () => {
    const ssm = await startJsonServer((r) =>
      target(r) === 'GetParameter'
        ? { status: 200, body: { Parameter: { Name: bodyOf(r).Name, Type: 'String', Value: 'bootstrap', Version: 1 } } }
        : { status: 200, body: { Version: 2, Tier: 'Standard' } },
    );
    servers.push(ssm);
    const pointers = new SsmPointers(new SSMClient({ ...ssm.clientOptions, maxAttempts: 1 }));
    expect(await pointers.get('/aims/dev/models/m/champion')).toBe('bootstrap');
    await pointers.put('/aims/dev/models/m/champion', 's3://a/models/m/versions/m-1/');
    expect(bodyOf(ssm.requests[1] as JsonRequest)).toEqual({
      Name: '/aims/dev/models/m/champion',
      Value: 's3://a/models/m/versions/m-1/',
      Type: 'String',
      Overwrite: true,
    });
  });
});

describe('GIVEN the models stack', () => {
  test('WHEN described and updated THEN UpdateStack reuses the template and every parameter, with no role passed', async () => {
    const cfn = await startRawServer((_m, _u, body) => {
      const action = new URLSearchParams(body).get('Action');
      const xml =
        action === 'DescribeStacks'
          ? '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>Dev-Models</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime><Parameters><member><ParameterKey>BootstrapVersion</ParameterKey><ParameterValue>/cdk-bootstrap/hnb659fds/version</ParameterValue></member><member><ParameterKey>SsmParameterValue</ParameterKey><ParameterValue>/aims/dev/models/m/champion</ParameterValue></member></Parameters></member></Stacks></DescribeStacksResult></DescribeStacksResponse>'
          : '<UpdateStackResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><UpdateStackResult><StackId>arn:stack</StackId></UpdateStackResult></UpdateStackResponse>';
      return { status: 200, type: 'text/xml', body: xml };
    });
    const stack = new CloudFormationModelsStack(
      new CloudFormationClient({ ...cfn.clientOptions, maxAttempts: 1 }),
      'Dev-Models',
    );
    const described = await stack.describe();
    expect(described).toEqual({ status: 'UPDATE_COMPLETE', parameterKeys: ['BootstrapVersion', 'SsmParameterValue'] });
    await stack.updateWithPreviousTemplate(described.parameterKeys);
    const update = Object.fromEntries(new URLSearchParams(cfn.requests[1]?.body ?? ''));
    expect(update).toMatchObject({
      Action: 'UpdateStack',
      StackName: 'Dev-Models',
      UsePreviousTemplate: 'true',
      'Parameters.member.1.ParameterKey': 'BootstrapVersion',
      'Parameters.member.1.UsePreviousValue': 'true',
      'Parameters.member.2.ParameterKey': 'SsmParameterValue',
      'Parameters.member.2.UsePreviousValue': 'true',
      'Capabilities.member.1': 'CAPABILITY_IAM',
      'Capabilities.member.3': 'CAPABILITY_AUTO_EXPAND',
    });
    expect(update.RoleARN).toBeUndefined();
  });
});

describe('GIVEN S3 objects', () => {
  test('WHEN an object exists THEN its JSON is read; WHEN it does not THEN undefined', async () => {
    const s3 = await startRawServer((_m, url) =>
      url.startsWith('/monitoring/drift-status/m/latest.json')
        ? { status: 200, type: 'application/json', body: '{"model":"m"}' }
        : {
            status: 404,
            type: 'application/xml',
            body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>',
          },
    );
    const objects = new S3Objects(s3Client({ ...s3.clientOptions, maxAttempts: 1 }));
    expect(await objects.readJson('s3://monitoring/drift-status/m/latest.json')).toEqual({ model: 'm' });
    expect(await objects.readJson('s3://monitoring/drift-status/other/latest.json')).toBeUndefined();
    await expect(objects.readJson('not-a-uri')).rejects.toThrow("expected an s3://bucket/key URI, got 'not-a-uri'");
  });
});

describe('GIVEN the retraining lock table on dynalite', () => {
  let dynamo: LocalServer;
  beforeAll(async () => {
    dynamo = await startDynalite();
    servers.push(dynamo);
    const client = new DynamoDBClient(dynamo.clientOptions);
    await createTable(client, TABLES.features('locks'));
    client.destroy();
  });

  test('WHEN a token is parked THEN it is the pending approval; WHEN only the lock is held THEN nothing is pending', async () => {
    const doc = dynamoDocumentClient(dynamo.clientOptions);
    await doc.send(
      new PutCommand({
        TableName: 'locks',
        Item: { pk: 'm', holder: 'arn:e:1', taskToken: 't', pendingVersion: 'm-1', pendingModelPackageArn: 'arn:p/1' },
      }),
    );
    await doc.send(new PutCommand({ TableName: 'locks', Item: { pk: 'n', holder: 'arn:e:2' } }));
    const approvals = new LockTableApprovals(doc, 'locks');
    expect(await approvals.pending('m')).toEqual({
      taskToken: 't',
      version: 'm-1',
      modelPackageArn: 'arn:p/1',
      executionArn: 'arn:e:1',
    });
    expect(await approvals.pending('n')).toBeUndefined();
    expect(await approvals.pending('absent')).toBeUndefined();
  });
});
