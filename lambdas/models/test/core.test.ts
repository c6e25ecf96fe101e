// The models API's use cases on in-memory ports: listing, describing, retrain, approve/reject, rollback, drift.
import {
  type DriftAssessment,
  driftHistoryKey,
  ModelDetail,
  ModelList,
  RetrainResponse,
  RollbackResponse,
} from '../../shared/contracts/api.js';
import { versionOfPointer } from '../../shared/contracts/champion.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import {
  approveVersion,
  getDrift,
  getModel,
  listModels,
  rejectVersion,
  retrain,
  rollback,
  STATE_STEPS,
  stepOf,
} from '../core.js';
import { FRAUD, prefixOf, world } from './memory.js';

const metrics = { model: { aucPr: 0.72, recallAt1pct: 0.75 }, rules: { aucPr: 0.12 } };

describe('GIVEN a model with three versions, v2 the champion', () => {
  const setup = () => {
    const w = world();
    w.registry.register(FRAUD.name, 1, 'Approved');
    w.registry.register(FRAUD.name, 2, 'Approved');
    w.registry.register(FRAUD.name, 3, 'Rejected');
    w.pointers.values.set(FRAUD.championParameter, prefixOf(FRAUD.name, 'v2'));
    w.objects.objects.set(`${prefixOf(FRAUD.name, 'v2')}metrics.json`, metrics);
    return w;
  };

  test('WHEN listed THEN each model has its champion, versions newest first with status, metrics and createdAt', async () => {
    const list = ModelList.parse(await listModels(setup()));
    expect(list.models).toHaveLength(1);
    const [m] = list.models;
    expect(m?.championVersion).toBe('v2');
    expect(m?.champion).toEqual({ pointer: prefixOf(FRAUD.name, 'v2'), version: 'v2', packageVersion: 2 });
    expect(m?.versions.map((v) => [v.version, v.status, v.champion])).toEqual([
      ['v3', 'Rejected', false],
      ['v2', 'Approved', true],
      ['v1', 'Approved', false],
    ]);
    expect(m?.versions[1]?.metrics).toEqual({ aucPr: 0.72, recallAt1pct: 0.75 });
    expect(m?.versions[0]?.metrics).toBeNull();
    expect(m?.versions[2]?.createdAt).toBe('2026-11-01T01:00:00.000Z');
    expect(m?.retraining).toBeNull();
    expect(m?.pendingApproval).toBeNull();
  });

  test('WHEN a run is in progress THEN the list shows it with its step, and the model its recent runs', async () => {
    const w = setup();
    w.executions.add({
      name: 'old',
      status: 'FAILED',
      startDate: new Date('2026-11-10T00:00:00Z'),
      stopDate: new Date('2026-11-10T01:00:00Z'),
      input: '{"trigger":"drift"}',
      error: 'RetrainingFailed',
      cause: 'train failed',
      states: [
        'AcquireLock',
        'ReadChampion',
        'BuildDataset',
        'Train',
        'FailedTrain',
        'PublishFailed',
        'ReleaseLockAfterFailure',
        'RetrainingFailed',
      ],
    });
    w.executions.add({
      name: 'now',
      status: 'RUNNING',
      startDate: new Date('2026-11-20T00:00:00Z'),
      input: '{"trigger":"api","reason":"weekly"}',
      states: [
        'AcquireLock',
        'LockAcquired?',
        'ReadChampion',
        'BuildDataset',
        'PrepareDataset',
        'NameVersion',
        'Train',
      ],
    });
    const list = await listModels(w);
    expect(list.models[0]?.retraining).toMatchObject({
      executionId: 'now',
      status: 'RUNNING',
      step: 'train',
      trigger: 'api',
      reason: 'weekly',
    });
    const detail = ModelDetail.parse(await getModel(w, FRAUD.name));
    expect(detail.executions.map((e) => [e.executionId, e.status, e.step, e.state])).toEqual([
      ['now', 'RUNNING', 'train', 'Train'],
      ['old', 'FAILED', 'train', 'RetrainingFailed'],
    ]);
    expect(detail.executions[1]).toMatchObject({
      error: 'RetrainingFailed',
      cause: 'train failed',
      stoppedAt: '2026-11-10T01:00:00.000Z',
    });
    expect(detail.deployment).toEqual({ stackName: 'Dev-Models', status: 'UPDATE_COMPLETE' });
  });

  test('WHEN an unknown model is asked for THEN every route answers 404 naming the known models', async () => {
    const w = setup();
    for (const call of [
      () => getModel(w, 'nope'),
      () => retrain(w, 'nope', {}),
      () => approveVersion(w, 'nope', 'v1', {}, undefined),
      () => rejectVersion(w, 'nope', 'v1', {}, undefined),
      () => rollback(w, 'nope', {}),
      () => getDrift(w, 'nope', { limit: 5 }),
    ]) {
      await expect(call()).rejects.toThrow(NotFoundError);
      await expect(call()).rejects.toThrow("no model 'nope' (models here: fraud-detector)");
    }
  });
});

describe('GIVEN retraining requests', () => {
  test('WHEN none runs THEN an execution starts with trigger api and the reason, answered with its id and ARN', async () => {
    const w = world();
    const started = RetrainResponse.parse(await retrain(w, FRAUD.name, { reason: 'new fraud ring' }));
    expect(started).toEqual({
      model: FRAUD.name,
      executionId: 'api-20261120T100000Z-abc123',
      executionArn: 'arn:aws:states:eu-west-1:111111111111:execution:fraud:api-20261120T100000Z-abc123',
      status: 'RUNNING',
      startedAt: '2026-11-20T10:00:00.000Z',
      trigger: 'api',
    });
    expect(JSON.parse(w.executions.items[0]?.input ?? '')).toEqual({ trigger: 'api', reason: 'new fraud ring' });
    // THEN GET /v1/models/{name} reports the run under the same id (what `retrain --wait` polls).
    const detail = await getModel(w, FRAUD.name);
    expect(detail.retraining).toMatchObject({
      executionId: started.executionId,
      status: 'RUNNING',
      step: 'coordinate',
    });
  });

  test('WHEN a run is already in progress THEN 409 naming it, and nothing starts', async () => {
    const w = world();
    w.executions.add({ name: 'busy', status: 'RUNNING', startDate: new Date() });
    await expect(retrain(w, FRAUD.name, undefined)).rejects.toThrow(ConflictError);
    await expect(retrain(w, FRAUD.name, undefined)).rejects.toThrow(/already in progress \(execution busy\)/);
    expect(w.executions.items).toHaveLength(1);
  });
});

describe('GIVEN approval', () => {
  const parked = (w: ReturnType<typeof world>) => {
    const pkg = w.registry.register(FRAUD.name, 4, 'PendingManualApproval', 'fraud-detector-4a1b');
    w.approvals.parked = {
      taskToken: 'token-1',
      version: 'fraud-detector-4a1b',
      modelPackageArn: pkg.modelPackageArn,
      executionArn: 'arn:exec:1',
    };
  };

  test.each([['fraud-detector-4a1b'], ['4']])(
    'WHEN the parked version is approved (as %s) THEN the task token is released with SendTaskSuccess',
    async (version) => {
      const w = world('manual');
      parked(w);
      const out = await approveVersion(w, FRAUD.name, version, { reason: 'reviewed' }, 'operator');
      expect(out).toMatchObject({ version: 'fraud-detector-4a1b', decision: 'approved', executionArn: 'arn:exec:1' });
      expect(w.executions.tokens).toHaveLength(1);
      expect(w.executions.tokens[0]).toMatchObject({ token: 'token-1', outcome: 'success' });
      expect(JSON.parse(w.executions.tokens[0]?.payload ?? '')).toEqual({
        approved: true,
        approvedAt: '2026-11-20T10:00:00.123Z',
        approvedBy: 'operator',
        reason: 'reviewed',
      });
    },
  );

  test('WHEN the parked version is rejected THEN the token is failed with ApprovalRejected and the registry says Rejected', async () => {
    const w = world('manual');
    parked(w);
    const out = await rejectVersion(w, FRAUD.name, '4', { reason: 'too slow' }, 'operator');
    expect(out.decision).toBe('rejected');
    expect(w.executions.tokens).toEqual([
      { token: 'token-1', outcome: 'failure', payload: 'ApprovalRejected: rejected by operator: too slow' },
    ]);
    expect(w.registry.updates).toEqual([
      { arn: out.modelPackageArn, status: 'Rejected', description: 'rejected by operator: too slow' },
    ]);
  });

  test.each([
    ['approval is automatic here', 'auto' as const, true, 'v9', /approval of fraud-detector is automatic/],
    ['nothing is pending', 'manual' as const, false, 'v9', /no version of fraud-detector is awaiting approval/],
    [
      'another version is pending',
      'manual' as const,
      true,
      'v9',
      /version v9 of fraud-detector is not the one awaiting approval \(fraud-detector-4a1b, package version 4\)/,
    ],
  ])(
    'WHEN %s THEN approve answers 409 with a clear message and releases nothing',
    async (_c, mode, isParked, version, message) => {
      const w = world(mode);
      if (isParked) parked(w);
      await expect(approveVersion(w, FRAUD.name, version, {}, undefined)).rejects.toThrow(ConflictError);
      await expect(approveVersion(w, FRAUD.name, version, {}, undefined)).rejects.toThrow(message);
      expect(w.executions.tokens).toEqual([]);
    },
  );

  test('WHEN the parked token is no longer open THEN 409 says the run stopped waiting and where to look', async () => {
    const w = world('manual');
    parked(w);
    w.executions.expiredTokens.add('token-1');
    await expect(approveVersion(w, FRAUD.name, '4', {}, undefined)).rejects.toThrow(
      /approval request for fraud-detector 4 is no longer open: its retraining run stopped waiting/,
    );
  });
});

describe('GIVEN rollback', () => {
  const setup = (champion: string) => {
    const w = world();
    w.registry.register(FRAUD.name, 1, 'Approved');
    w.registry.register(FRAUD.name, 2, 'Rejected');
    w.registry.register(FRAUD.name, 3, 'Approved');
    w.registry.register(FRAUD.name, 4, 'PendingManualApproval');
    w.pointers.values.set(FRAUD.championParameter, champion);
    return w;
  };

  test('WHEN the champion has an earlier approved version THEN the pointer moves to it, the stack updates with every previous parameter and the version left is rejected', async () => {
    const w = setup(prefixOf(FRAUD.name, 'v3'));
    const out = RollbackResponse.parse(await rollback(w, FRAUD.name, { reason: 'latency' }));
    expect(out).toEqual({
      model: FRAUD.name,
      from: { pointer: prefixOf(FRAUD.name, 'v3'), version: 'v3', packageVersion: 3 },
      to: { pointer: prefixOf(FRAUD.name, 'v1'), version: 'v1', packageVersion: 1 },
      stackName: 'Dev-Models',
      status: 'UPDATE_IN_PROGRESS',
    });
    expect(w.pointers.values.get(FRAUD.championParameter)).toBe(prefixOf(FRAUD.name, 'v1'));
    expect(w.stack.updates).toEqual([['BootstrapVersion', 'SsmParameterValueaimsdev']]);
    expect(w.registry.updates).toEqual([
      {
        arn: w.registry.packages[2]?.modelPackageArn,
        status: 'Rejected',
        description: 'rolled back to v1 through the models API: latency',
      },
    ]);
    // THEN a second rollback finds nothing before v1.
    w.stack.status = 'UPDATE_COMPLETE';
    await expect(rollback(w, FRAUD.name, {})).rejects.toThrow('fraud-detector has no approved version before v1');
  });

  test.each([
    ['the bootstrap model serves', 'bootstrap', /serves the bootstrap model/],
    ['the champion is the first approved version', prefixOf('fraud-detector', 'v1'), /no approved version before v1/],
    [
      'the champion is not in the registry',
      prefixOf('fraud-detector', 'v77'),
      /is not an approved version in its registry/,
    ],
  ])('WHEN %s THEN 409 and nothing changes', async (_c, pointer, message) => {
    const w = setup(pointer);
    await expect(rollback(w, FRAUD.name, {})).rejects.toThrow(ConflictError);
    await expect(rollback(w, FRAUD.name, {})).rejects.toThrow(message);
    expect(w.pointers.writes).toEqual([]);
    expect(w.stack.updates).toEqual([]);
  });

  test('WHEN a retraining run is in progress or the stack is updating THEN 409 and nothing changes', async () => {
    const running = setup(prefixOf(FRAUD.name, 'v3'));
    running.executions.add({ name: 'r1', status: 'RUNNING', startDate: new Date() });
    await expect(rollback(running, FRAUD.name, {})).rejects.toThrow(/race its deploy step/);
    const updating = setup(prefixOf(FRAUD.name, 'v3'));
    updating.stack.status = 'UPDATE_ROLLBACK_IN_PROGRESS';
    await expect(rollback(updating, FRAUD.name, {})).rejects.toThrow(/is UPDATE_ROLLBACK_IN_PROGRESS: retry/);
    for (const w of [running, updating]) expect(w.pointers.writes).toEqual([]);
  });

  test('WHEN the stack update is refused THEN the pointer is put back and the error surfaces', async () => {
    const w = setup(prefixOf(FRAUD.name, 'v3'));
    w.stack.failUpdate = Object.assign(new Error('Stack is in UPDATE_ROLLBACK_FAILED state'), {
      name: 'ValidationError',
    });
    await expect(rollback(w, FRAUD.name, {})).rejects.toThrow('UPDATE_ROLLBACK_FAILED');
    expect(w.pointers.writes).toEqual([prefixOf(FRAUD.name, 'v1'), prefixOf(FRAUD.name, 'v3')]);
    expect(w.registry.updates).toEqual([]);
  });
});

describe('GIVEN drift assessments', () => {
  const assessment: DriftAssessment = {
    model: FRAUD.name,
    assessedAt: '2026-11-20T10:00:00.000Z',
    windowStart: '2026-11-20T09:00:00.000Z',
    windowEnd: '2026-11-20T10:00:00.000Z',
    samples: 800,
    minSamples: 500,
    judged: true,
    drifted: true,
    threshold: 0.2,
    scorePsi: 0.05,
    maxFeaturePsi: 0.4,
    baseline: 's3://artifacts/bootstrap/psi-bins.json',
    features: [
      { name: 'amount_log', psi: 0.4, threshold: 0.2, drifted: true },
      { name: 'hour', psi: 0.01, threshold: 0.2, drifted: false },
    ],
  };

  /** The run of `hour` (UTC, 2026-11-20), written where the drift check writes it. */
  const runAt = (hour: number): DriftAssessment => {
    const end = new Date(Date.UTC(2026, 10, 20, hour)).toISOString();
    return {
      ...assessment,
      windowEnd: end,
      assessedAt: end,
      windowStart: new Date(Date.UTC(2026, 10, 20, hour - 1)).toISOString(),
    };
  };
  const store = (w: ReturnType<typeof world>, a: DriftAssessment) =>
    w.objects.objects.set(`s3://monitoring/${driftHistoryKey(FRAUD.name, a)}`, a);

  test('WHEN the drift check ran several times THEN the last `limit` come back newest window first', async () => {
    const w = world();
    // Written out of order, as overlapping runs may.
    for (const hour of [3, 1, 5, 2, 4]) store(w, runAt(hour));
    w.objects.objects.set('s3://monitoring/drift-status/fraud-detector/latest.json', runAt(5));
    const history = await getDrift(w, FRAUD.name, { limit: 3 });
    expect(history.model).toBe(FRAUD.name);
    expect(history.assessments.map((a) => a.windowEnd)).toEqual([runAt(5), runAt(4), runAt(3)].map((a) => a.windowEnd));
    expect(history.assessments[0]?.features).toEqual(assessment.features);
  });

  test('WHEN only the latest assessment exists (written before the history was kept) THEN it is the one returned', async () => {
    const w = world();
    w.objects.objects.set('s3://monitoring/drift-status/fraud-detector/latest.json', assessment);
    expect(await getDrift(w, FRAUD.name, { limit: 10 })).toEqual({ model: FRAUD.name, assessments: [assessment] });
  });

  test('WHEN none was written yet THEN 404 says when one comes', async () => {
    await expect(getDrift(world(), FRAUD.name, { limit: 10 })).rejects.toThrow(
      /no drift assessment of fraud-detector yet/,
    );
  });

  test('WHEN an object is not an assessment THEN the read fails loudly (500), naming the object', async () => {
    const w = world();
    w.objects.objects.set('s3://monitoring/drift-status/fraud-detector/latest.json', { model: 1 });
    await expect(getDrift(w, FRAUD.name, { limit: 10 })).rejects.toThrow(/latest\.json is not a drift assessment/);
    const bad = { ...runAt(2), model: 1 } as unknown as DriftAssessment;
    store(w, bad);
    await expect(getDrift(w, FRAUD.name, { limit: 10 })).rejects.toThrow(/history\/\d{13}-\d{13}\.json is not a drift/);
  });
});

describe('GIVEN the state machine states', () => {
  test('WHEN a run stops in the failure path THEN its step is the state before it', () => {
    expect(
      stepOf(['RetrainingFailed', 'ReleaseLockAfterFailure', 'PublishFailed', 'FailedGate', 'GateFailed']),
    ).toEqual({
      step: 'gate',
      state: 'RetrainingFailed',
    });
    expect(stepOf([])).toEqual({});
  });

  test("WHEN a pointer is read THEN its version is the last folder, or for bootstrap the bootstrap card's version", () => {
    expect(versionOfPointer('s3://b/models/m/versions/m-1/', 'boot-1')).toBe('m-1');
    expect(versionOfPointer('bootstrap', 'boot-1')).toBe('boot-1');
  });

  test("WHEN the champion is still the bootstrap model THEN the models list names it by its card's version, as its predictions do", async () => {
    const w = world();
    w.pointers.values.set(FRAUD.championParameter, 'bootstrap');
    const [m] = ModelList.parse(await listModels(w)).models;
    expect(m?.championVersion).toBe(FRAUD.bootstrapVersion);
    expect(m?.champion).toMatchObject({ pointer: 'bootstrap', version: FRAUD.bootstrapVersion });
  });

  test('THEN every step name is one the CLI knows', async () => {
    const { RETRAINING_STEPS } = await import('../../../bin/cli/commands/models.js');
    const steps = new Set<string>(RETRAINING_STEPS);
    for (const step of Object.values(STATE_STEPS)) if (step) expect(steps.has(step)).toBe(true);
  });

  test('THEN every Task state of the retraining workflow is mapped', async () => {
    const { RETRAINING_TASKS } = await import('../../../lib/constructs/retraining-workflow.js');
    expect(RETRAINING_TASKS.filter((t) => !(t in STATE_STEPS))).toEqual([]);
  });
});
