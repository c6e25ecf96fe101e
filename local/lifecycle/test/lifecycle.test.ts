// The model lifecycle on a real local stage: drift → retraining → new version serves, a second trigger during a run,
// a crashing training job, a canary that breaks (auto-rollback) and an operator rollback; a second stage whose lake
// teaches nothing shows the gate. Every step runs the template's ASL, the real Lambda bundles, train.py and DuckDB.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RETRAINING_TASKS } from '../../../lib/constructs/retraining-workflow.js';
import { eventually } from '../../../test/support/eventually.js';
import { type LocalStage, ROOT } from '../../stage.js';
import { templateModel } from '../../template/index.js';
import { PYTHON } from '../training.js';
import { servedVersion, startLifecycleStage } from './support.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
// A lake the champion has not seen: half the fraud uses a new pattern, amounts doubled, new merchants.
const DRIFTED_HISTORY = {
  customers: 600,
  days: 18,
  drift: { fromDay: 0, newPatternShare: 0.5, amountShift: 2, newMerchantShare: 0.3 },
};

function retrainingEvents(stage: LocalStage, detailType: string) {
  return stage.services.eventBridge
    .archive()
    .filter((a) => a.event.source === 'aims.retraining' && a.event['detail-type'] === detailType)
    .map((a) => (a.event.detail as { data: Record<string, unknown> }).data);
}

describe('GIVEN a local stage whose lake holds drifted, labelled history', () => {
  let stage: LocalStage;
  let dir: string;
  let ssm: SSMClient;
  let cfn: CloudFormationClient;
  let bootstrapVersion: string;
  let pointerName: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aims-lifecycle-'));
    stage = await startLifecycleStage(dir);
    const config = { endpoint: stage.lifecycle.controlPlaneUrl, region: stage.template.region, credentials };
    ssm = new SSMClient(config);
    cfn = new CloudFormationClient(config);
    bootstrapVersion = stage.lifecycle.status().serving.version;
    pointerName = stage.template.ofType('AWS::SSM::Parameter')[0]?.ref as string;
    await stage.lifecycle.seedLake(DRIFTED_HISTORY);
  }, 120_000);

  afterAll(async () => {
    ssm?.destroy();
    cfn?.destroy();
    await stage?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every Task state of the template ASL locally (RETRAINING_TASKS included)', () => {
    // The retraining machine by its model tag (the template has batch and other models' machines too).
    const machine = templateModel(stage.template, ROOT, stage.servedModel.name).one('retraining');
    const arn = stage.lifecycle.stepFunctions.stateMachineArns().find((a) => stage.template.byArn(a) === machine);
    expect(arn).toBeDefined();
    for (const a of stage.lifecycle.stepFunctions.stateMachineArns()) {
      expect(stage.lifecycle.stepFunctions.unhandledTasks(a)).toEqual([]);
    }
    const definition = String(machine?.properties.DefinitionString);
    const present = RETRAINING_TASKS.filter((t) => definition.includes(`"${t}"`));
    expect(present.length).toBeGreaterThanOrEqual(RETRAINING_TASKS.length - 1); // AwaitApproval is prod-only
  });

  it('WHEN drifted traffic is captured and the drift check runs THEN drift starts retraining, a second trigger starts nothing, and the new version serves', async () => {
    const injected = await stage.lifecycle.injectDrift({ count: 600 });
    expect(injected.failed).toBe(0);
    const report = await stage.lifecycle.runDriftCheck();
    expect(report.ok).toBe(true);
    expect((report as { payload: { drifted: unknown[]; samples: number } }).payload.drifted.length).toBeGreaterThan(0);
    // ModelDriftDetected → the bus rule → the state machine (trigger drift)
    const execution = await eventually(
      'the drift-triggered execution',
      () => stage.lifecycle.stepFunctions.list().find((e) => e.input.includes('"drift"')),
      15_000,
      200,
    );
    await eventually(
      'the lock to be held',
      () => (execution.states.includes('BuildDataset') ? true : undefined),
      30_000,
      200,
    );
    const second = stage.lifecycle.startRetraining('api');
    const refused = await stage.lifecycle.waitForExecution(second.executionArn);
    expect(refused.status).toBe('SUCCEEDED');
    expect(refused.states).toContain('AlreadyRunningOrDebounced');
    expect(refused.states).not.toContain('BuildDataset');

    const done = await stage.lifecycle.waitForExecution(execution.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    const status = stage.lifecycle.status();
    expect(status.versions).toHaveLength(1);
    expect(status.versions[0]?.approval).toBe('Approved');
    expect(status.champion).toMatch(/^s3:\/\/.+\/models\/fraud-detector\/versions\/fraud-detector-.+\/$/);
    expect(status.stack.status).toBe('UPDATE_COMPLETE');
    const deployed = retrainingEvents(stage, 'ModelDeployed');
    expect(deployed).toHaveLength(1);
    expect(await servedVersion(stage)).toBe(deployed[0]?.version);
    expect(deployed[0]?.version).not.toBe(bootstrapVersion);
  }, 240_000);

  it('WHEN training crashes THEN RetrainingFailed names Train, nothing is registered and the champion keeps serving', async () => {
    const before = stage.lifecycle.status();
    const serving = await servedVersion(stage);
    stage.lifecycle.faults.trainingCommand = [PYTHON, '-c', 'import sys; sys.exit("injected: training crashed")'];
    try {
      const run = stage.lifecycle.startRetraining('api');
      const done = await stage.lifecycle.waitForExecution(run.executionArn);
      expect(done.status).toBe('FAILED');
      expect(done.states).toContain('FailedTrain');
    } finally {
      delete stage.lifecycle.faults.trainingCommand;
    }
    const failed = retrainingEvents(stage, 'RetrainingFailed');
    expect(failed.at(-1)?.stage).toBe('Train');
    expect(String(failed.at(-1)?.cause)).toMatch(/injected: training crashed/);
    expect(stage.lifecycle.status().versions).toHaveLength(before.versions.length);
    expect(stage.lifecycle.status().champion).toBe(before.champion);
    expect(await servedVersion(stage)).toBe(serving);
  }, 120_000);

  it('WHEN a deployment canary answers 5xx THEN the endpoint rolls back (UPDATE_ROLLBACK_COMPLETE) and keeps serving', async () => {
    const serving = await servedVersion(stage);
    const current = (await ssm.send(new GetParameterCommand({ Name: pointerName }))).Parameter?.Value;
    await ssm.send(new PutParameterCommand({ Name: pointerName, Value: 'bootstrap', Overwrite: true, Type: 'String' }));
    stage.lifecycle.faults.canaryStatus = 500;
    try {
      await cfn.send(
        new UpdateStackCommand({ StackName: stage.lifecycle.modelsStack.stackName, UsePreviousTemplate: true }),
      );
      // Traffic while the update runs: half of it reaches the broken canary during the bake, past the alarm's 5 errors.
      const deadline = Date.now() + 30_000;
      while (stage.lifecycle.modelsStack.status === 'UPDATE_IN_PROGRESS' && Date.now() < deadline) {
        await servedVersion(stage).catch(() => undefined);
      }
      await stage.lifecycle.modelsStack.idle();
    } finally {
      stage.lifecycle.faults.canaryStatus = undefined;
    }
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stage.lifecycle.modelsStack.stackName }));
    expect(Stacks?.[0]?.StackStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(Stacks?.[0]?.StackStatusReason).toMatch(/Invocation5xx/);
    expect(await servedVersion(stage)).toBe(serving);
    // As the state machine's ResetPointer does after a rollback.
    await ssm.send(
      new PutParameterCommand({ Name: pointerName, Value: current as string, Overwrite: true, Type: 'String' }),
    );
  }, 60_000);

  it('WHEN the operator rolls the pointer back and updates the models stack THEN the previous version serves again', async () => {
    await ssm.send(new PutParameterCommand({ Name: pointerName, Value: 'bootstrap', Overwrite: true, Type: 'String' }));
    await cfn.send(
      new UpdateStackCommand({ StackName: stage.lifecycle.modelsStack.stackName, UsePreviousTemplate: true }),
    );
    await stage.lifecycle.modelsStack.idle();
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stage.lifecycle.modelsStack.stackName }));
    expect(Stacks?.[0]?.StackStatus).toBe('UPDATE_COMPLETE');
    expect(await servedVersion(stage)).toBe(bootstrapVersion);
    // A second update with nothing changed is refused, as CloudFormation refuses it.
    await expect(
      cfn.send(new UpdateStackCommand({ StackName: stage.lifecycle.modelsStack.stackName, UsePreviousTemplate: true })),
    ).rejects.toThrow(/No updates are to be performed/);
  }, 60_000);
});

describe('GIVEN a local stage whose lake labels are noise', () => {
  let stage: LocalStage;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aims-lifecycle-gate-'));
    stage = await startLifecycleStage(dir);
    await stage.lifecycle.seedLake({ ...DRIFTED_HISTORY, shuffleLabels: true });
  }, 120_000);

  afterAll(async () => {
    await stage?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('WHEN retraining runs THEN the gate fails, nothing is registered, the pointer stays and RetrainingFailed names Gate', async () => {
    const run = stage.lifecycle.startRetraining('api');
    const done = await stage.lifecycle.waitForExecution(run.executionArn);
    expect(done.status).toBe('FAILED');
    expect(done.states).toContain('GateFailed');
    expect(done.states).not.toContain('Register');
    const status = stage.lifecycle.status();
    expect(status.versions).toEqual([]);
    expect(status.champion).toBe('bootstrap');
    expect(retrainingEvents(stage, 'RetrainingFailed').at(-1)?.stage).toBe('Gate');
  }, 180_000);
});
