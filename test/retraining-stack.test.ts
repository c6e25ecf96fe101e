// The retraining stack: the state machine's ASL is valid and has the lifecycle's shape (lock → dataset → train on
// GPU → evaluate → gate → register → approve → deploy by pointer + stack update → monitor → events), approval
// differs by environment, triggers are wired, and every Task is one the local stage can override by name.
import { createRequire } from 'node:module';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { environments } from '../lib/config/environments.js';
import { modelEndpointName } from '../lib/config/models.js';
import { dataQualityScheduleName } from '../lib/constructs/model-monitor.js';
import { challengerParameterName, championParameterName } from '../lib/constructs/model-registry.js';
import { RETRAINING_TASKS, SHADOW_TASKS } from '../lib/constructs/retraining-workflow.js';
import { shadowComparisonFunctionName } from '../lib/stacks/models-stack.js';
import { datasetQuery } from '../lib/stacks/retraining-stack.js';
import { cleanTestApps, templateOf, testApp } from './support/app.js';

const require = createRequire(import.meta.url);
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const { stages } = testApp();
const dev = templateOf(stages.Dev.retraining);
const prod = templateOf(stages.Prod.retraining);
const staging = templateOf(stages.Staging.retraining);
afterAll(cleanTestApps);

// biome-ignore lint/suspicious/noExplicitAny: ASL and template bodies are untyped JSON walked by path.
type Json = any;

/** The statements of the inline policies attached to the role whose logical id matches. */
function roleStatements(template: Template, role: RegExp): Json[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p: Json) => p.Properties.Roles.some((r: Json) => role.test(String(r.Ref))))
    .flatMap((p: Json) => p.Properties.PolicyDocument.Statement);
}

/** The DefinitionString with CloudFormation tokens replaced by ARN-shaped placeholders. */
function definitionOf(template: Template): string {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as Json[];
  const join = machine.Properties.DefinitionString['Fn::Join'];
  return (join[1] as unknown[])
    .map((part) => {
      if (typeof part === 'string') return part;
      const text = JSON.stringify(part);
      if (text.includes('AWS::Partition')) return 'aws';
      if (text.includes('Function')) return 'arn:aws:lambda:eu-west-1:111111111111:function:task';
      return 'token';
    })
    .join('');
}
const devAsl = JSON.parse(definitionOf(dev));
const prodAsl = JSON.parse(definitionOf(prod));
const stagingAsl = JSON.parse(definitionOf(staging));

/** The states from StartAt, taking the given branch at each Choice. */
function happyPath(asl: Json, choices: Record<string, string>): string[] {
  const path: string[] = [];
  let name: string | undefined = asl.StartAt;
  while (name && path.length < 60) {
    path.push(name);
    const state = asl.States[name];
    name = state.Type === 'Choice' ? choices[name] : state.Next;
  }
  return path;
}
const HAPPY_CHOICES = {
  'LockAcquired?': 'ReadChampion',
  'PassedGate?': 'Register',
  'DeploymentDone?': 'ReadMonitorSchedule',
  'MonitorOnNewBaseline?': 'PublishDeployed',
  'ShadowDeploymentDone?': 'BakeShadow',
  'ShadowAgrees?': 'Approve',
};
/** Prod's happy path: the shadow agrees, then the run waits on the approve API. */
const PROD_CHOICES = { ...HAPPY_CHOICES, 'ShadowAgrees?': 'AwaitApproval' };

describe('GIVEN the retraining state machine of each environment', () => {
  test('THEN asl-validator accepts the definition', () => {
    for (const asl of [devAsl, prodAsl, stagingAsl]) {
      const result = aslValidator(asl);
      expect(result.errorsText()).toBe('');
      expect(result.isValid).toBe(true);
    }
  });

  test('THEN the state machine and the model-specific tasks carry the model and role metadata', () => {
    const tagged = (type: string, role: string) =>
      Object.keys(dev.findResources(type, { Metadata: { 'aims:model': 'fraud-detector', 'aims:role': role } }));
    expect(tagged('AWS::StepFunctions::StateMachine', 'retraining')).toHaveLength(1);
    expect(tagged('AWS::Lambda::Function', 'prepare-dataset')).toHaveLength(1);
    expect(tagged('AWS::Lambda::Function', 'evaluate')).toHaveLength(1);
    // The lock task serves every model: it belongs to none.
    const untagged = Object.entries(dev.findResources('AWS::Lambda::Function')).filter(
      ([, f]) => f.Metadata?.['aims:model'] === undefined,
    );
    expect(untagged.map(([id]) => id)).toContainEqual(expect.stringMatching(/^Coordinate/));
  });

  test('THEN the happy path runs lock → champion → dataset → train → evaluate → gate → register → deploy', () => {
    const path = happyPath(devAsl, HAPPY_CHOICES);
    expect(path).toEqual([
      'AcquireLock',
      'LockAcquired?',
      'ReadChampion',
      'BuildDataset',
      'PrepareDataset',
      'NameVersion',
      'Train',
      'Evaluate',
      'PassedGate?',
      'Register',
      'Approve',
      'MovePointer',
      'UpdateModelsStack',
      'WaitForDeployment',
      'DescribeModelsStack',
      'DeploymentDone?',
      'ReadMonitorSchedule',
      'ReadMonitorBaseline',
      'MonitorOnNewBaseline?',
      'PublishDeployed',
      'ReleaseLock',
      'Deployed',
    ]);
  });

  test('THEN every Task state is a plain, named Task the local stage can override (and the list is complete)', () => {
    const tasks = (asl: Json) =>
      Object.entries(asl.States as Record<string, Json>)
        .filter(([, s]) => s.Type === 'Task')
        .map(([n]) => n);
    expect(tasks(devAsl).sort()).toEqual(RETRAINING_TASKS.filter((t) => t !== 'AwaitApproval').sort());
    expect(tasks(stagingAsl).sort()).toEqual(tasks(devAsl).sort());
    // Prod, the shadow environment (ADR 0005), adds exactly the shadow step's tasks to the manual approval.
    expect(tasks(prodAsl).sort()).toEqual([...RETRAINING_TASKS, ...SHADOW_TASKS].sort());
    for (const state of Object.values(prodAsl.States as Record<string, Json>)) {
      expect(['Task', 'Choice', 'Pass', 'Wait', 'Succeed', 'Fail']).toContain(state.Type);
    }
  });

  test('THEN training runs train.py on the manifest GPU instance in the PyTorch image, and the gate uses the manifest', () => {
    const train = devAsl.States.Train;
    expect(train.Resource).toBe('arn:aws:states:::sagemaker:createTrainingJob.sync');
    expect(train.Parameters.ResourceConfig.InstanceType).toBe('ml.g5.xlarge');
    expect(train.Parameters.AlgorithmSpecification.TrainingImage).toMatch(/pytorch-training:1\.13\.1-gpu-py39$/);
    expect(train.Parameters.HyperParameters).toMatchObject({ sagemaker_program: 'train.py', epochs: '30' });
    expect(devAsl.States.Evaluate.Parameters.gate).toEqual({
      minAucPr: 0.3,
      minRecallLiftVsRules: 1.3,
      maxRegressionVsChampion: 0.05,
    });
  });

  test('THEN dev approves at once while prod waits on a task token released by the approve API', () => {
    expect(devAsl.States.Register.Next).toBe('Approve');
    expect(devAsl.States.AwaitApproval).toBeUndefined();
    // Prod's candidate bakes in the shadow first (ADR 0005); the shadow's verdict leads to AwaitApproval.
    expect(prodAsl.States.Register.Next).toBe('ReadChallenger');
    expect(prodAsl.States.AwaitApproval).toMatchObject({
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Next: 'Approve',
      Parameters: { Payload: { action: 'await-approval', 'taskToken.$': '$$.Task.Token' } },
      // Prod sets no approvalTimeoutSeconds: the default week, and the run may take a day more.
      TimeoutSeconds: 7 * 86_400,
    });
    expect(prodAsl.TimeoutSeconds).toBe(8 * 86_400);
  });

  test('THEN the deploy moves the pointer, updates the models stack with its previous template, and resets on rollback', () => {
    const movePointer = new Capture();
    const update = new Capture();
    Template.fromJSON({
      Resources: {
        M: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: definitionOf(dev) } },
      },
    }).hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionString: Match.serializedJson(
        Match.objectLike({
          States: Match.objectLike({ MovePointer: movePointer, UpdateModelsStack: update }),
        }),
      ),
    });
    expect(movePointer.asObject()).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:ssm:putParameter',
      Parameters: { Name: championParameterName('Dev', 'fraud-detector'), 'Value.$': '$.evaluation.versionPrefix' },
    });
    const params = update.asObject().Parameters;
    expect(params).toMatchObject({ StackName: 'Dev-Models', UsePreviousTemplate: true });
    expect(params.Parameters.map((p: Json) => p.ParameterKey).sort()).toEqual(stages.Dev.models.parameterKeys);
    expect(params.Parameters.every((p: Json) => p.UsePreviousValue === true)).toBe(true);
    expect(devAsl.States.ResetPointer.Parameters['Value.$']).toBe('$.champion.pointer');
    expect(devAsl.States.DeploymentRolledBack.Next).toBe('ResetPointer');
    expect(devAsl.States.UpdateModelsStack.Catch[0].Next).toBe('ResetPointer');
  });

  test('THEN the deployed baseline is read through the schedule, which names the generated job definition', () => {
    const schedule = dataQualityScheduleName(modelEndpointName('Dev', 'fraud-detector'));
    expect(devAsl.States.ReadMonitorSchedule).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:sagemaker:describeMonitoringSchedule',
      Parameters: { MonitoringScheduleName: schedule },
      ResultSelector: { 'jobDefinitionName.$': '$.MonitoringScheduleConfig.MonitoringJobDefinitionName' },
      Next: 'ReadMonitorBaseline',
    });
    expect(devAsl.States.ReadMonitorBaseline).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:sagemaker:describeDataQualityJobDefinition',
      Parameters: { 'JobDefinitionName.$': '$.monitor.jobDefinitionName' },
    });
    const statements = Object.values(dev.findResources('AWS::IAM::Policy')).flatMap(
      (p: Json) => p.Properties.PolicyDocument.Statement as Json[],
    );
    const grant = (action: string) =>
      statements.filter((s) => s.Action === action).map((s) => JSON.stringify(s.Resource));
    // Each model's workflow reads its own schedule only (one grant per served model).
    const schedules = grant('sagemaker:describeMonitoringSchedule');
    expect(schedules).toHaveLength(Object.keys(environments.Dev.models).length);
    expect(schedules).toContainEqual(expect.stringContaining(`:monitoring-schedule/${schedule}"`));
    expect(schedules.filter((r) => r.includes('fraud-detector'))).toHaveLength(1);
    for (const resource of grant('sagemaker:describeDataQualityJobDefinition')) {
      expect(resource).toContain(':data-quality-job-definition/*"');
    }
  });

  test('THEN without a shadow the registered version goes straight to approval (no shadow state at all)', () => {
    for (const asl of [devAsl, stagingAsl]) {
      expect(Object.keys(asl.States).filter((n) => /Shadow|Challenger/.test(n))).toEqual([]);
    }
  });

  test('THEN with a shadow the candidate bakes in the shadow between Register and approval, and its verdict gates', () => {
    const path = happyPath(prodAsl, PROD_CHOICES);
    const from = path.indexOf('Register');
    expect(path.slice(from, path.indexOf('Approve') + 1)).toEqual([
      'Register',
      'ReadChallenger',
      'MoveChallenger',
      'UpdateShadowStack',
      'WaitForShadowDeployment',
      'DescribeShadowStack',
      'ShadowDeploymentDone?',
      'BakeShadow',
      'CompareShadow',
      'ShadowAgrees?',
      'AwaitApproval',
      'Approve',
    ]);
    // The rest of the run is the deploy of any environment.
    expect(path.slice(path.indexOf('Approve'))).toEqual(
      happyPath(devAsl, HAPPY_CHOICES).slice(happyPath(devAsl, HAPPY_CHOICES).indexOf('Approve')),
    );
    const name = challengerParameterName('Prod', 'fraud-detector');
    expect(prodAsl.States.MoveChallenger).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:ssm:putParameter',
      Parameters: { Name: name, 'Value.$': '$.evaluation.versionPrefix' },
    });
    expect(prodAsl.States.BakeShadow.Seconds).toBe(environments.Prod.lifecycle.shadow.bakeMinutes * 60);
    // Invoked by its derived name: the models stack depends on this one, so no CloudFormation reference.
    expect(prodAsl.States.CompareShadow.Resource).toMatch(
      new RegExp(
        `^arn:aws:lambda:eu-west-1:\\d{12}:function:${shadowComparisonFunctionName('Prod', 'fraud-detector')}$`,
      ),
    );
    expect(prodAsl.States.CompareShadow.Parameters).toEqual({
      trigger: 'pipeline',
      windowMinutes: environments.Prod.lifecycle.shadow.bakeMinutes,
    });
    expect(prodAsl.States['ShadowAgrees?'].Choices[0]).toEqual({
      Variable: '$.shadow.passed',
      BooleanEquals: true,
      Next: 'AwaitApproval',
    });
    // A disagreeing shadow fails the run as stage Shadow with the verdict's reasons; the champion is never touched.
    expect(prodAsl.States['ShadowAgrees?'].Default).toBe('ShadowRejected');
    expect(prodAsl.States.ShadowRejected).toMatchObject({
      Parameters: { Error: 'ShadowDisagrees', 'Cause.$': expect.stringContaining('$.shadow.reasons') },
      Next: 'FailedShadow',
    });
    expect(prodAsl.States.FailedShadow).toMatchObject({ Result: 'Shadow', Next: 'PublishFailed' });
    // A shadow update that rolls back (or errors) resets the challenger pointer to what it was.
    expect(prodAsl.States.ShadowDeploymentRolledBack.Next).toBe('ResetChallenger');
    expect(prodAsl.States.UpdateShadowStack.Catch[0].Next).toBe('ResetChallenger');
    expect(prodAsl.States.ResetChallenger.Parameters).toEqual({
      Name: name,
      'Value.$': '$.challenger.pointer',
      Overwrite: true,
      Type: 'String',
    });
    for (const state of ['MovePointer', 'ResetPointer']) {
      expect(prodAsl.States[state].Parameters.Name).toBe(championParameterName('Prod', 'fraud-detector'));
    }
  });

  test('THEN the shadow update and the deploy are one builder: same stack, previous template, same parameters', () => {
    const update = new Capture();
    const shadowUpdate = new Capture();
    Template.fromJSON({
      Resources: {
        M: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: definitionOf(prod) } },
      },
    }).hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionString: Match.serializedJson(
        Match.objectLike({
          States: Match.objectLike({ UpdateModelsStack: update, UpdateShadowStack: shadowUpdate }),
        }),
      ),
    });
    const { Next: _n, ...deploy } = update.asObject();
    const { Next: _s, ...shadow } = shadowUpdate.asObject();
    expect(shadow.Parameters).toEqual(deploy.Parameters);
    expect(shadow.Parameters).toMatchObject({ StackName: 'Prod-Models', UsePreviousTemplate: true });
    expect(shadow.Parameters.Parameters.map((p: Json) => p.ParameterKey).sort()).toEqual(
      stages.Prod.models.parameterKeys,
    );
    expect(prodAsl.States.DescribeShadowStack.Parameters).toEqual(prodAsl.States.DescribeModelsStack.Parameters);
  });

  test('THEN every failure publishes RetrainingFailed, releases the lock and fails (the champion keeps serving)', () => {
    for (const [name, state] of Object.entries(devAsl.States as Record<string, Json>)) {
      if (
        state.Type !== 'Task' ||
        ['AcquireLock', 'ReleaseLock', 'ReleaseLockAfterFailure', 'PublishFailed'].includes(name)
      )
        continue;
      const target = state.Catch?.[0]?.Next;
      expect([`Failed${name}`, 'ResetPointer', 'FailedApproval', 'FailedMonitorBaseline']).toContain(target);
    }
    for (const [name, state] of Object.entries(stagingAsl.States as Record<string, Json>)) {
      if (state.Type !== 'Task' || !(SHADOW_TASKS as readonly string[]).includes(name)) continue;
      expect(['FailedShadow', 'ResetChallenger']).toContain(state.Catch?.[0]?.Next);
    }
    expect(devAsl.States.PublishFailed.Parameters.Entries[0]).toMatchObject({
      DetailType: 'RetrainingFailed',
      Source: 'aims.retraining',
      Detail: { version: 1, data: { model: 'fraud-detector', 'stage.$': '$.failedStage' } },
    });
    expect(devAsl.States.PublishFailed.Next).toBe('ReleaseLockAfterFailure');
    expect(devAsl.States.ReleaseLockAfterFailure.Next).toBe('RetrainingFailed');
    expect(devAsl.States['PassedGate?'].Default).toBe('GateFailed');
  });

  test('THEN a second trigger while a run holds the lock ends at once without work', () => {
    expect(devAsl.States.AcquireLock.Parameters).toMatchObject({ action: 'acquire', 'trigger.$': '$.trigger' });
    expect(devAsl.States['LockAcquired?'].Choices[0]).toEqual({
      Variable: '$.lock.acquired',
      BooleanEquals: false,
      Next: 'AlreadyRunningOrDebounced',
    });
  });
});

describe('GIVEN the retraining triggers and resources', () => {
  test('THEN drift events for the model and a schedule start the state machine', () => {
    dev.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['ModelDriftDetected'], detail: { data: { model: ['fraud-detector'] } } },
      Targets: [Match.objectLike({ Input: JSON.stringify({ trigger: 'drift' }) })],
    });
    dev.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: environments.Dev.lifecycle.retraining.schedule,
      Targets: [Match.objectLike({ Input: JSON.stringify({ trigger: 'schedule' }) })],
    });
  });

  test('THEN the champion pointer starts as the bundled bootstrap and the package group exists', () => {
    dev.hasResourceProperties('AWS::SSM::Parameter', {
      Name: championParameterName('Dev', 'fraud-detector'),
      Value: 'bootstrap',
    });
    dev.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', {
      ModelPackageGroupName: 'aims-dev-fraud-detector',
    });
  });

  test('THEN a shadow environment has a challenger pointer beside the champion, also starting at bootstrap', () => {
    prod.hasResourceProperties('AWS::SSM::Parameter', {
      Name: challengerParameterName('Prod', 'fraud-detector'),
      Value: 'bootstrap',
    });
    const names = (t: Template) =>
      Object.values(t.findResources('AWS::SSM::Parameter')).map((p: Json) => p.Properties.Name);
    // One champion pointer per served model, and no challenger where there is no shadow.
    expect(names(dev).sort()).toEqual(Object.keys(environments.Dev.models).map((m) => championParameterName('Dev', m)));
    expect(names(staging).sort()).toEqual(
      Object.keys(environments.Staging.models).map((m) => championParameterName('Staging', m)),
    );
  });

  test('THEN Athena results are encrypted with the data key and the workgroup enforces it', () => {
    dev.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        ResultConfiguration: Match.objectLike({
          EncryptionConfiguration: Match.objectLike({ EncryptionOption: 'SSE_KMS' }),
        }),
      }),
    });
  });

  test('THEN the state machine role may run the Athena .sync query: Stop, and the data key for the lake and the results', () => {
    const statements = roleStatements(dev, /StateMachineRole/);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['athena:StartQueryExecution', 'athena:StopQueryExecution']),
        Resource: `arn:aws:athena:${environments.Dev.region}:${environments.Dev.account}:workgroup/aims-dev-retraining`,
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetStackOutput': expect.objectContaining({ OutputName: expect.stringMatching(/DataKey/) }) },
      }),
    );
    // Reads exactly the two table locations (decisions in the lake, ground truth in the monitoring bucket).
    const reads = statements.find((s: Json) => s.Action === 's3:GetObject');
    expect(JSON.stringify(reads.Resource)).toMatch(/LakeBucket.*\/decisions\/\*.*MonitoringBucket.*\/ground-truth\/\*/);
  });

  test('THEN neither the state machine role nor the training role grants on "*" what supports resource ARNs', () => {
    const star = (pattern: RegExp) =>
      roleStatements(dev, pattern)
        .filter((s: Json) => s.Resource === '*')
        .flatMap((s: Json) => [s.Action].flat());
    const scoped = /^(s3:|sagemaker:ListTags|glue:)/;
    expect(star(/StateMachineRole/).filter((a: string) => scoped.test(a))).toEqual([]);
    expect(star(/TrainingRole/).filter((a: string) => scoped.test(a))).toEqual([]);
    expect(roleStatements(dev, /StateMachineRole/)).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['sagemaker:ListTags']),
        Resource: `arn:aws:sagemaker:${environments.Dev.region}:${environments.Dev.account}:training-job/*`,
      }),
    );
  });

  test('THEN the dataset query joins decisions with the newest labels over the lookback window', () => {
    const sql = datasetQuery(['a', 'b'], 'label', 30);
    expect(sql).toContain("d.features['a'] AS a, d.features['b'] AS b");
    expect(sql).toContain('LEFT JOIN labels l ON l.transaction_id = d.transactionid');
    expect(sql).toContain("interval '30' day");
    expect(sql).toContain('champion_score');
  });

  test('WHEN the decision log holds a transaction twice (the outbox delivers at least once) THEN the dataset has it once', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      // Athena's date_format as the local stage defines it; the tables with the columns the query reads.
      await db.run('CREATE MACRO date_format(ts, fmt) AS strftime(ts, fmt)');
      await db.run(
        'CREATE TABLE decisions (transactionid VARCHAR, features MAP(VARCHAR, DOUBLE), decidedat VARCHAR, ' +
          'degraded BOOLEAN, score DOUBLE, "transaction" VARCHAR, dt VARCHAR)',
      );
      await db.run(
        'CREATE TABLE ground_truth (eventmetadata STRUCT(eventid VARCHAR), groundtruthdata STRUCT(data VARCHAR), "hour" VARCHAR)',
      );
      const day = (ago: number) => `strftime(current_date - interval '${ago}' day, '%Y-%m-%d')`;
      const row = (id: string, ago: number) =>
        `('${id}', MAP {'a': 1.5}, '2026-11-01T12:00:00Z', false, 0.7, '{}', ${day(ago)})`;
      // t-1 twice: a retried relay, its copy landing in the next day's partition; t-2 once.
      await db.run(`INSERT INTO decisions VALUES ${[row('t-1', 10), row('t-1', 9), row('t-2', 10)].join(', ')}`);
      await db.run(
        `INSERT INTO ground_truth VALUES ({'eventid': 't-1'}, {'data': '1'}, strftime(current_date - interval '5' day, '%Y/%m/%d/%H'))`,
      );
      const reader = await db.runAndReadAll(datasetQuery(['a'], 'label', 30));
      const rows = reader.getRowObjectsJson();
      expect(rows.map((r) => [r.transaction_id, r.a, r.label]).sort()).toEqual([
        ['t-1', 1.5, 1],
        ['t-2', 1.5, 0],
      ]);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});
