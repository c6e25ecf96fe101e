// Manual approval (Prod's setting) run for real on the local stage: the dev stage is synthesized with only
// `models.approval` changed (./manual-approval-app.ts) into an assembly (cached under test/.tmp, shared with the
// console suite) and the local stage runs that assembly. A retraining run parks its task token at AwaitApproval, the models API shows the pending version, the
// operator's POST …/approve (admin scope, a real token through the local API) releases it and the run deploys; a run
// nobody approves ends at the ASL's AwaitApproval timeout. Every step is the template's ASL, the real Lambda bundles
// (coordinate, models), train.py and the local models stack.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApprovalResponse, ModelDetail, ModelList, RetrainResponse } from '../../../lambdas/shared/contracts/api.js';
import {
  type ApiResponse,
  type Caller,
  call,
  callerFor,
  credentialsOf,
  expectErrorBody,
  refOf,
  type SdkClients,
  sdkClients,
} from '../../../test/e2e/support.js';
import { type LocalStage, ROOT, startLocalStage } from '../../stage.js';
import { stageAssemblyDir } from '../../template/index.js';
import { groupNames } from '../registry.js';
import { APPROVAL_TIMEOUT_SECONDS, DRIFTED_HISTORY, manualApprovalAssembly, servedVersion } from './support.js';

const MODEL = 'fraud-detector';
const trained = existsSync(join(ROOT, 'models', MODEL, 'artifacts', 'model.onnx'));
/** The states a run passes once AwaitApproval ends without an approval (timeout or rejection). */
const FAILED_AT_APPROVAL = [
  'AwaitApproval',
  'FailedApproval',
  'PublishFailed',
  'ReleaseLockAfterFailure',
  'RetrainingFailed',
];
const LOCK_TABLE = 'Dev/Retraining/LockTable/Resource';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

interface Definition {
  readonly States: Record<string, Record<string, unknown>>;
}

/** The retraining template of a synthesized Dev assembly, and its state machine resource. */
function retrainingTemplate(assemblyDir: string) {
  const dir = stageAssemblyDir(assemblyDir, 'Dev');
  const file = readdirSync(dir).find((f) => /^DevRetraining.*\.template\.json$/.test(f));
  if (!file) throw new Error(`no Dev retraining template in ${dir}`);
  const path = join(dir, file);
  const template = JSON.parse(readFileSync(path, 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: { DefinitionString?: { 'Fn::Join': [string, unknown[]] } } }>;
  };
  const machine = Object.values(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  const parts = machine?.Properties.DefinitionString?.['Fn::Join'][1];
  if (!parts) throw new Error(`${path} has no state machine with a joined DefinitionString`);
  return { path, template, parts };
}

/** The ASL with every intrinsic (function ARNs, partition) as a placeholder string: enough to read its states. */
function definitionOf(parts: readonly unknown[]): Definition {
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('')) as Definition;
}

function ok<T>(response: ApiResponse, status: number, schema: { parse(value: unknown): T }): T {
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${response.text}`);
  return schema.parse(response.json);
}

function retrainingEvents(stage: LocalStage, detailType: string) {
  return stage.services.eventBridge
    .archive()
    .filter((a) => a.event.source === 'aims.retraining' && a.event['detail-type'] === detailType)
    .map((a) => (a.event.detail as { data: Record<string, unknown> }).data);
}

describe('GIVEN the dev stage synthesized with manual approval and a lake of labelled, drifted history', () => {
  let dir: string;
  let synthesized: Definition;
  let stage: LocalStage;
  let clients: SdkClients;
  let sfn: SFNClient;
  let operator: Required<Caller>;
  let reader: Required<Caller>;
  let bootstrapVersion: string;

  const models = async () => ok(await call(stage, 'GET', '/v1/models', { caller: operator }), 200, ModelList).models[0];
  const approve = (version: string, caller: Caller = operator) =>
    call(stage, 'POST', `/v1/models/${MODEL}/versions/${encodeURIComponent(version)}/approve`, {
      caller,
      body: { reason: 'reviewed the model card' },
    });
  const lockItem = async () =>
    (await clients.doc.send(new GetCommand({ TableName: refOf(stage, LOCK_TABLE), Key: { pk: MODEL } }))).Item;
  /** The run parked at AwaitApproval, as GET /v1/models shows it; a run that ends before that fails at once. */
  const parked = async (executionArn: string) => {
    const deadline = Date.now() + 150_000;
    for (;;) {
      const run = stage.lifecycle.stepFunctions.describe(executionArn);
      if (run.status !== 'RUNNING') {
        throw new Error(
          `the run ended ${run.status} in ${run.currentState} before approval: ${run.error} ${run.cause}`,
        );
      }
      const model = await models();
      if (model?.pendingApproval?.executionArn === executionArn) return model;
      if (Date.now() > deadline)
        throw new Error(`${executionArn} did not reach approval: it is in ${run.currentState}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aims-manual-approval-'));
    // Shared with the console suite: synthesized once for both while its inputs are unchanged.
    const assemblyDir = await manualApprovalAssembly();
    synthesized = definitionOf(retrainingTemplate(assemblyDir).parts);

    stage = await startLocalStage({
      dataDir: join(dir, 'data'),
      assemblyDir,
      port: 0,
      synth: false,
      train: !trained,
      log: () => {},
      lifecycle: { canaryBakeSeconds: 2, waitMs: 200 },
    });
    clients = sdkClients(stage);
    sfn = new SFNClient({ endpoint: stage.lifecycle.controlPlaneUrl, region: stage.template.region, credentials });
    operator = await callerFor(stage, 'operator');
    reader = await callerFor(stage, 'analyst-console');
    bootstrapVersion = await servedVersion(stage);
    await stage.lifecycle.seedLake(DRIFTED_HISTORY);
  }, 240_000);

  afterAll(async () => {
    clients?.destroy();
    sfn?.destroy();
    await stage?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the synthesized ASL parks a task token at AwaitApproval for the configured timeout, with no heartbeat, and catches its timeout', () => {
    const state = synthesized.States.AwaitApproval;
    expect(state).toMatchObject({
      Type: 'Task',
      Resource: expect.stringContaining(':states:::lambda:invoke.waitForTaskToken'),
      TimeoutSeconds: APPROVAL_TIMEOUT_SECONDS,
      Next: 'Approve',
      Parameters: { Payload: { action: 'await-approval', 'taskToken.$': '$$.Task.Token' } },
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'FailedApproval', ResultPath: '$.failure' }],
    });
    expect(state).not.toHaveProperty('HeartbeatSeconds');
    expect(synthesized.States.Register?.Next).toBe('AwaitApproval');
    // The local stage has an equivalent for every Task of this ASL, the token-waiting Lambda task included.
    const [arn] = stage.lifecycle.stepFunctions.stateMachineArns();
    expect(stage.lifecycle.stepFunctions.unhandledTasks(arn as string)).toEqual([]);
  });

  it('WHEN a run is started through the API THEN it waits at AwaitApproval with the champion serving, refuses a second run, and the operator approval deploys the version once', async () => {
    const started = ok(
      await call(stage, 'POST', `/v1/models/${MODEL}/retrain`, { caller: operator, body: { reason: 'manual test' } }),
      202,
      RetrainResponse,
    );
    const waiting = await parked(started.executionArn);

    // Registered, pending, not serving.
    const pending = waiting.pendingApproval;
    expect(waiting.approval).toBe('manual');
    expect(waiting.versions).toHaveLength(1);
    expect(waiting.versions[0]).toMatchObject({
      version: pending?.version,
      modelPackageArn: pending?.modelPackageArn,
      status: 'PendingManualApproval',
      trigger: 'api',
      champion: false,
    });
    // The bootstrap champion is named by its committed card's version, as its predictions name it.
    const bootstrapCard = JSON.parse(
      readFileSync(join(ROOT, 'models', 'fraud-detector', 'bootstrap', 'model-card.json'), 'utf8'),
    ) as { version: string };
    expect(waiting.champion).toMatchObject({ pointer: 'bootstrap', version: bootstrapCard.version });
    expect(waiting.retraining).toMatchObject({
      executionArn: started.executionArn,
      status: 'RUNNING',
      step: 'approve',
      state: 'AwaitApproval',
    });
    expect(await servedVersion(stage)).toBe(bootstrapVersion);
    expect(stage.lifecycle.modelsStack.deployments).toHaveLength(0);
    const version = pending?.version as string;

    // One run per model: the API refuses a second one, and a scheduled trigger ends at the lock.
    const conflict = expectErrorBody(
      await call(stage, 'POST', `/v1/models/${MODEL}/retrain`, { caller: operator, body: {} }),
      409,
      'conflict',
    );
    expect(conflict.error.message).toContain(started.executionId);
    const scheduled = stage.lifecycle.startRetraining('schedule');
    const refused = await stage.lifecycle.waitForExecution(scheduled.executionArn);
    expect(refused.status).toBe('SUCCEEDED');
    expect(refused.states).toEqual(['AcquireLock', 'LockAcquired?', 'AlreadyRunningOrDebounced']);
    expect(JSON.parse(refused.output as string).lock).toEqual({
      acquired: false,
      reason: 'busy',
      holder: started.executionArn,
      lastStartedAt: expect.any(String),
    });
    expect(stage.lifecycle.stepFunctions.describe(started.executionArn).status).toBe('RUNNING');

    // Who and what may approve: the admin scope, and only the version that waits.
    expectErrorBody(await approve(version, reader), 403, 'forbidden');
    const other = expectErrorBody(await approve('fraud-detector-not-this-one'), 409, 'conflict');
    expect(other.error.message).toContain(`not the one awaiting approval (${version}`);
    expect((await models())?.pendingApproval?.version).toBe(version);

    const approved = ok(await approve(version), 202, ApprovalResponse);
    expect(approved).toEqual({
      model: MODEL,
      version,
      modelPackageArn: pending?.modelPackageArn,
      executionArn: started.executionArn,
      decision: 'approved',
    });
    const done = await stage.lifecycle.waitForExecution(started.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.states).toEqual(
      expect.arrayContaining(['AwaitApproval', 'Approve', 'MovePointer', 'UpdateModelsStack', 'Deployed']),
    );
    expect(done.states.indexOf('Approve')).toBe(done.states.indexOf('AwaitApproval') + 1);
    // The approval the token carried is the run's $.approval: who approved, and why.
    expect(JSON.parse(done.output as string).approval).toEqual({
      approved: true,
      approvedAt: expect.any(String),
      approvedBy: credentialsOf(stage, 'operator').clientId,
      reason: 'reviewed the model card',
    });
    const [deployed] = retrainingEvents(stage, 'ModelDeployed');
    expect(deployed).toMatchObject({ model: MODEL, version, executionArn: started.executionArn });
    expect(await servedVersion(stage)).toBe(version);
    const detail = ok(await call(stage, 'GET', `/v1/models/${MODEL}`, { caller: operator }), 200, ModelDetail);
    expect(detail.pendingApproval).toBeNull();
    expect(detail.retraining).toBeNull();
    expect(detail.championVersion).toBe(version);
    expect(detail.versions[0]).toMatchObject({ version, status: 'Approved', champion: true });
    const [registered] = stage.lifecycle.registry.packages(groupNames(stage.template)[0] as string);
    expect(registered).toMatchObject({
      ModelPackageArn: pending?.modelPackageArn,
      ModelApprovalStatus: 'Approved',
      ApprovalDescription: 'approved through the approve API',
    });

    // A second approval of the same version is refused and changes nothing.
    const again = expectErrorBody(await approve(version), 409, 'conflict');
    expect(again.error.message).toBe(`no version of ${MODEL} is awaiting approval`);
    expect(retrainingEvents(stage, 'ModelDeployed')).toHaveLength(1);
    expect(await servedVersion(stage)).toBe(version);
  }, 240_000);

  it('WHEN nobody approves THEN AwaitApproval times out: RetrainingFailed names Approval, the version stays pending, the champion serves, the lock is free and the token is refused', async () => {
    const champion = await servedVersion(stage);
    const pointer = stage.lifecycle.status().champion;
    const run = stage.lifecycle.startRetraining('schedule');
    const waiting = await parked(run.executionArn);
    const version = waiting.pendingApproval?.version as string;
    const token = (await lockItem())?.taskToken as string;
    expect(typeof token).toBe('string');

    const done = await stage.lifecycle.waitForExecution(run.executionArn);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('RetrainingFailed');
    expect(done.states.slice(done.states.indexOf('AwaitApproval'))).toEqual(FAILED_AT_APPROVAL);
    expect(retrainingEvents(stage, 'RetrainingFailed').at(-1)).toMatchObject({
      model: MODEL,
      executionArn: run.executionArn,
      stage: 'Approval',
      error: 'States.Timeout',
    });

    // Nothing moved: the version is still pending in the registry, the champion serves.
    const after = await models();
    expect(after?.versions.find((v) => v.version === version)?.status).toBe('PendingManualApproval');
    expect(after?.pendingApproval).toBeNull();
    expect(after?.retraining).toBeNull();
    expect(stage.lifecycle.status().champion).toBe(pointer);
    expect(await servedVersion(stage)).toBe(champion);
    expect(retrainingEvents(stage, 'ModelDeployed')).toHaveLength(1);

    // The lock is released with its parked token, and a late approval is refused by the API and by Step Functions.
    const lock = await lockItem();
    expect(lock).not.toHaveProperty('holder');
    expect(lock).not.toHaveProperty('taskToken');
    const late = expectErrorBody(await approve(version), 409, 'conflict');
    expect(late.error.message).toBe(`no version of ${MODEL} is awaiting approval`);
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({
      name: 'TaskDoesNotExist',
    });
  }, 240_000);

  it('WHEN the operator rejects the waiting version THEN the run fails with ApprovalRejected, the registry says Rejected and the champion serves', async () => {
    const champion = await servedVersion(stage);
    const pointer = stage.lifecycle.status().champion;
    const started = ok(
      await call(stage, 'POST', `/v1/models/${MODEL}/retrain`, { caller: operator, body: { reason: 'reject test' } }),
      202,
      RetrainResponse,
    );
    const waiting = await parked(started.executionArn);
    const version = waiting.pendingApproval?.version as string;
    const reject = (caller: Caller) =>
      call(stage, 'POST', `/v1/models/${MODEL}/versions/${encodeURIComponent(version)}/reject`, {
        caller,
        body: { reason: 'recall too low on the new merchants' },
      });

    expectErrorBody(await reject(reader), 403, 'forbidden');
    expect(ok(await reject(operator), 202, ApprovalResponse)).toMatchObject({
      model: MODEL,
      version,
      executionArn: started.executionArn,
      decision: 'rejected',
    });
    const done = await stage.lifecycle.waitForExecution(started.executionArn);
    expect(done.status).toBe('FAILED');
    expect(done.states.slice(done.states.indexOf('AwaitApproval'))).toEqual(FAILED_AT_APPROVAL);
    expect(retrainingEvents(stage, 'RetrainingFailed').at(-1)).toMatchObject({
      executionArn: started.executionArn,
      stage: 'Approval',
      error: 'ApprovalRejected',
    });
    const rejectedBy = credentialsOf(stage, 'operator').clientId;
    const [registered] = stage.lifecycle.registry
      .packages(groupNames(stage.template)[0] as string)
      .filter((p) => p.ModelPackageArn === waiting.pendingApproval?.modelPackageArn);
    expect(registered).toMatchObject({
      ModelApprovalStatus: 'Rejected',
      ApprovalDescription: `rejected by ${rejectedBy}: recall too low on the new merchants`,
    });
    expect((await models())?.versions.find((v) => v.version === version)?.status).toBe('Rejected');
    expect(stage.lifecycle.status().champion).toBe(pointer);
    expect(await servedVersion(stage)).toBe(champion);
    expect(await lockItem()).not.toHaveProperty('holder');
  }, 240_000);
});
