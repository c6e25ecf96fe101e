// The model lifecycle in the local stage: control-plane endpoints (Step Functions, SageMaker registry, SSM,
// CloudFormation), the retraining state machine with local task equivalents, the local models stack (canary +
// rollback + data capture) of every model endpoint and the drift jobs — all driven by the dev template.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { loadManifest } from '../../models/shared/manifest.js';
import type { LocalEventBridge } from '../services/eventbridge.js';
import type { RunningServer } from '../services/http.js';
import { AwsServiceError } from '../services/http.js';
import { templateModel } from '../template/index.js';
import type { FunctionInvoker, InvokeResult, LocalTemplate } from '../types.js';
import { publishFileAssets } from './assets.js';
import { type AthenaQueryInput, runAthenaQuery } from './athena.js';
import { startControlPlane } from './control-plane.js';
import type { Clock } from './idle.js';
import {
  assertSimulatorFeeds,
  type DriftTrafficOptions,
  type SeedLakeOptions,
  type SeedLakeResult,
  seedLake,
  sendDriftedTraffic,
} from './lake.js';
import { LocalModelEndpoints, type ServedModelSource } from './model-endpoints.js';
import type { DeploymentRecord, LocalModelsStack, StackStatus } from './models-stack.js';
import { groupNames, LocalModelRegistry } from './registry.js';
import { LocalS3 } from './s3.js';
import { LocalParameterStore } from './ssm.js';
import { type ExecutionRecord, LocalStepFunctions, type TaskHandler } from './state-machine.js';
import { runTrainingJob, type TrainingJobInput } from './training.js';
import { runTransformJob, type TransformJobInput } from './transform.js';

export type { ServedModelSource } from './model-endpoints.js';
export type { DeploymentRecord, StackStatus } from './models-stack.js';
export type { ExecutionRecord } from './state-machine.js';

export interface LocalLifecycleOptions {
  readonly template: LocalTemplate;
  readonly dataDir: string;
  /** Local S3 endpoint (s3rver). */
  readonly s3Endpoint: string;
  readonly eventBridge: LocalEventBridge;
  /** The Lambda runtime (set once it runs: the lifecycle starts before it, so workers get its URLs). */
  readonly invoker: FunctionInvoker;
  readonly root: string;
  /** Every model with an endpoint in the template (its resources are found by their `aims:model` metadata); the
   *  first is the default of the single-model helpers (seedLake, injectDrift, status, faults). */
  readonly models: readonly ServedModelSource[];
  /** Canary bake, s. @default the endpoint's WaitIntervalInSeconds */
  readonly canaryBakeSeconds?: number;
  /** The state machine's Wait states (deployment polling), ms. @default 1000 */
  readonly waitMs?: number;
  /** The clock of the endpoints' idle timers (tests move it). @default the wall clock */
  readonly clock?: Clock;
  /** How often an idle timer looks by itself; 0: only when asked (`endpoints.get(m).idleScaler.check()`).
   *  @default a quarter of the idle time, at most a minute */
  readonly idleCheckEveryMs?: number;
  readonly log?: (line: string) => void;
}

/** Where a model's lifecycle stands: the pointer, what serves, the registry and the latest run. */
export interface LifecycleStatus {
  readonly model: string;
  readonly champion: string;
  readonly serving: { readonly version: string; readonly modelDataUrl: string };
  readonly stack: { readonly status: StackStatus; readonly lastDeployment?: DeploymentRecord };
  readonly versions: readonly { version: number; name?: string; approval: string; arn: string }[];
  readonly latestExecution?: ExecutionRecord;
}

export interface LocalLifecycle {
  /** Base URL of the local SFN / SageMaker / SSM / CloudFormation endpoints. */
  readonly controlPlaneUrl: string;
  /** `AWS_ENDPOINT_URL_*` for Lambda workers. */
  readonly environment: Readonly<Record<string, string>>;
  /** The local SageMaker runtime: answers InvokeEndpoint for every endpoint name from that endpoint's servers. */
  readonly endpointUrl: string;
  /** Every model endpoint (one models-stack part each: model servers, capture, canary, rollback, shadow). */
  readonly endpoints: LocalModelEndpoints;
  readonly ssm: LocalParameterStore;
  readonly registry: LocalModelRegistry;
  readonly stepFunctions: LocalStepFunctions;
  /** The default model's endpoint (the first of `models`). */
  readonly modelsStack: LocalModelsStack;
  /** Faults for tests and demos: a failing training job, a broken or slow canary. */
  readonly faults: {
    /** The next training jobs run this command instead of train.py (e.g. a crash). */
    trainingCommand?: readonly string[];
    canaryStatus?: number;
    canaryDelayMs?: number;
  };
  /**
   * Starts a batch model's nightly run as its Scheduler schedule would (`scheduledTime`), or for a chosen day
   * (`date`): schedules do not fire locally.
   */
  startBatchRun(model: string, run: { readonly date?: string; readonly scheduledTime?: string }): ExecutionRecord;
  /** Starts the model's retraining state machine as the API or a trigger would. */
  startRetraining(trigger?: 'drift' | 'schedule' | 'api', model?: string): ExecutionRecord;
  /** Routes an EventBridge target or StartExecution to a state machine by ARN (the bus's state-machine targets). */
  startExecution(stateMachineArn: string, input: unknown): ExecutionRecord;
  waitForExecution(executionArn: string): Promise<ExecutionRecord>;
  /** Labelled decision history in the lake, as the services would have written it. */
  seedLake(options?: SeedLakeOptions): Promise<SeedLakeResult>;
  /** Drifted live traffic through the endpoint (captured like any request); capture is flushed after. */
  injectDrift(options?: DriftTrafficOptions): Promise<{ sent: number; failed: number }>;
  /** Runs a model's drift check function now (it also runs on its bus schedule). @default model: the default */
  runDriftCheck(model?: string): Promise<InvokeResult>;
  flushCapture(): Promise<void>;
  status(model?: string): LifecycleStatus;
  /** Resolves when no execution and no deployment is running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const SERVICE_ERROR_PREFIX: Record<string, string> = {
  ssm: 'Ssm',
  sagemaker: 'SageMaker',
  cloudformation: 'CloudFormation',
};

/** aws-sdk integrations fail with `<Service>.<ErrorCode>`, as Step Functions names them. */
function sdkTask(service: string, run: (input: Record<string, unknown>) => unknown): TaskHandler {
  return async (input) => {
    try {
      return (await run((input ?? {}) as Record<string, unknown>)) as never;
    } catch (error) {
      if (error instanceof AwsServiceError) {
        const e = new Error(error.message);
        e.name = `${SERVICE_ERROR_PREFIX[service] ?? service}.${error.code}`;
        throw e;
      }
      throw error;
    }
  };
}

export async function startLocalLifecycle(options: LocalLifecycleOptions): Promise<LocalLifecycle> {
  const { template, dataDir } = options;
  const log = options.log ?? (() => {});
  const first = options.models[0];
  if (!first) throw new Error('the template has no model endpoint: nothing to serve');
  for (const m of options.models) {
    if (!templateModel(template, options.root, m.name).endpoint)
      throw new Error(`model ${m.name} has no resource tagged as its endpoint: nothing to serve`);
  }
  const defaultModel = first.name;
  const manifestDir = first.manifestDir;
  const manifest = loadManifest(manifestDir);
  const s3 = new LocalS3(options.s3Endpoint, template.region);
  await publishFileAssets(template.assemblyDir, s3, template.region);
  const ssm = new LocalParameterStore(dataDir, template);
  const registry = new LocalModelRegistry(dataDir, template);
  const faults: LocalLifecycle['faults'] = {};
  let control: RunningServer | undefined;
  const endpoints = await LocalModelEndpoints.start({
    template,
    dataDir,
    ssm,
    s3,
    root: options.root,
    models: options.models,
    ...(options.canaryBakeSeconds !== undefined ? { canaryBakeSeconds: options.canaryBakeSeconds } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.idleCheckEveryMs !== undefined ? { idleCheckEveryMs: options.idleCheckEveryMs } : {}),
    log,
  });
  const modelsStack = endpoints.get(defaultModel);
  // The proxy reads the faults object on every request.
  Object.defineProperties(faults, {
    canaryStatus: {
      get: () => modelsStack.proxy.faults.canaryStatus,
      set: (v: number | undefined) => {
        if (v === undefined) delete modelsStack.proxy.faults.canaryStatus;
        else modelsStack.proxy.faults.canaryStatus = v;
      },
      enumerable: true,
    },
    canaryDelayMs: {
      get: () => modelsStack.proxy.faults.canaryDelayMs,
      set: (v: number | undefined) => {
        if (v === undefined) delete modelsStack.proxy.faults.canaryDelayMs;
        else modelsStack.proxy.faults.canaryDelayMs = v;
      },
      enumerable: true,
    },
  });
  const ssmOps = ssm.operations();
  const registryOps = registry.operations();
  const sagemakerOps = {
    ...registryOps,
    DescribeMonitoringSchedule: (input: Record<string, unknown>) =>
      endpoints.describeMonitoringSchedule(String(input.MonitoringScheduleName ?? '')),
    DescribeDataQualityJobDefinition: (input: Record<string, unknown>) =>
      endpoints.describeDataQualityJobDefinition(String(input.JobDefinitionName ?? '')),
  };
  const cfnOps = {
    UpdateStack: (input: Record<string, unknown>) => endpoints.updateStack(input),
    DescribeStacks: (input: Record<string, unknown>) => ({
      Stacks: endpoints.describeStacks(typeof input.StackName === 'string' ? input.StackName : undefined),
    }),
  };
  // A training job runs the train.py of the model its hyperparameters name (the workflow passes model_name).
  const scripts = new Map(options.models.map((m) => [m.name, join(m.manifestDir, 'train.py')]));
  const scriptFor = (input: TrainingJobInput) =>
    scripts.get(String(input.HyperParameters?.model_name ?? defaultModel)) ?? join(manifestDir, 'train.py');
  const stepFunctions = new LocalStepFunctions({
    template,
    dataDir,
    invoker: options.invoker,
    log,
    waitTimeOverrides: Object.fromEntries(
      template
        .ofType('AWS::StepFunctions::StateMachine')
        .flatMap((m) =>
          Object.entries(
            (JSON.parse(String(m.properties.DefinitionString)) as { States: Record<string, { Type: string }> }).States,
          ),
        )
        .filter(([, s]) => s.Type === 'Wait')
        .map(([name]) => [name, options.waitMs ?? 1000]),
    ),
    resources: {
      'aws-sdk:ssm:getParameter': sdkTask('ssm', ssmOps.GetParameter),
      'aws-sdk:ssm:putParameter': sdkTask('ssm', ssmOps.PutParameter),
      'aws-sdk:sagemaker:createModelPackage': sdkTask('sagemaker', registryOps.CreateModelPackage),
      'aws-sdk:sagemaker:updateModelPackage': sdkTask('sagemaker', registryOps.UpdateModelPackage),
      'aws-sdk:sagemaker:describeModelPackage': sdkTask('sagemaker', registryOps.DescribeModelPackage),
      'aws-sdk:sagemaker:describeMonitoringSchedule': sdkTask('sagemaker', sagemakerOps.DescribeMonitoringSchedule),
      'aws-sdk:sagemaker:describeDataQualityJobDefinition': sdkTask(
        'sagemaker',
        sagemakerOps.DescribeDataQualityJobDefinition,
      ),
      'aws-sdk:cloudformation:updateStack': sdkTask('cloudformation', cfnOps.UpdateStack),
      'aws-sdk:cloudformation:describeStacks': sdkTask('cloudformation', cfnOps.DescribeStacks),
      'athena:startQueryExecution.sync': async (input) =>
        (await runAthenaQuery({ template, s3, dataDir }, input as unknown as AthenaQueryInput)) as never,
      'sagemaker:createTrainingJob.sync': async (input) =>
        (await runTrainingJob(
          {
            template,
            s3,
            dataDir,
            script: scriptFor(input as unknown as TrainingJobInput),
            commandOverride: () => faults.trainingCommand,
          },
          input as unknown as TrainingJobInput,
        )) as never,
      'sagemaker:createTransformJob.sync': async (input) =>
        (await runTransformJob(
          { template, s3, ssm, root: options.root, dataDir, log },
          input as unknown as TransformJobInput,
        )) as never,
      'events:putEvents': async (input) => {
        const entries = ((input as { Entries?: Record<string, unknown>[] }).Entries ?? []).map((e) => ({
          ...e,
          // The optimized integration takes Detail as an object and sends it as a JSON string.
          Detail: typeof e.Detail === 'string' ? e.Detail : JSON.stringify(e.Detail),
        }));
        const out = options.eventBridge.putEvents({ Entries: entries });
        // This path skips the bus's HTTP handler, which syncs before it answers: sync here for the same promise.
        await options.eventBridge.sync();
        if (out.FailedEntryCount > 0) {
          const e = new Error(JSON.stringify(out));
          e.name = 'EventBridge.FailedEntry';
          throw e;
        }
        return out as never;
      },
    },
  });
  control = await startControlPlane({
    sfn: stepFunctions.operations(),
    sagemaker: sagemakerOps,
    ssm: ssmOps,
    cloudformation: {
      UpdateStack: (p) => cfnOps.UpdateStack({ StackName: p.StackName, UsePreviousTemplate: p.UsePreviousTemplate }),
      DescribeStacks: (p) => cfnOps.DescribeStacks({ StackName: p.StackName }),
    },
  });
  const controlUrl = control.url;

  const machineFor = (model: string) => {
    const machine = templateModel(template, options.root, model).one('retraining');
    const arn = stepFunctions.stateMachineArns().find((a) => template.byArn(a) === machine);
    if (!machine || !arn) throw new Error(`no retraining state machine for model ${model} in the template`);
    return arn;
  };
  const endpointName = modelsStack.endpointName;
  const group = (model: string) => groupNames(template).find((g) => g.endsWith(model)) ?? model;
  const pointerName = (model: string) =>
    template.ofType('AWS::SSM::Parameter').find((p) => p.ref.endsWith(`/models/${model}/champion`))?.ref ?? '';

  return {
    controlPlaneUrl: controlUrl,
    environment: {
      AWS_ENDPOINT_URL_SFN: controlUrl,
      AWS_ENDPOINT_URL_SAGEMAKER: controlUrl,
      AWS_ENDPOINT_URL_SSM: controlUrl,
      AWS_ENDPOINT_URL_CLOUDFORMATION: controlUrl,
    },
    get endpointUrl() {
      return endpoints.url;
    },
    endpoints,
    ssm,
    registry,
    stepFunctions,
    modelsStack,
    faults,
    startBatchRun: (model, run) => {
      const machine = templateModel(template, options.root, model).one('batch-inference');
      const arn = stepFunctions.stateMachineArns().find((a) => template.byArn(a) === machine);
      if (!machine || !arn) throw new Error(`model ${model} has no batch state machine in the template`);
      return stepFunctions.start(arn, JSON.stringify({ run }));
    },
    startRetraining: (trigger = 'api', model = defaultModel) =>
      stepFunctions.start(machineFor(model), JSON.stringify({ trigger })),
    startExecution: (arn, input) =>
      stepFunctions.start(arn, typeof input === 'string' ? input : JSON.stringify(input ?? {})),
    waitForExecution: (arn) => stepFunctions.wait(arn),
    seedLake: async (seedOptions) => {
      assertSimulatorFeeds(manifest);
      await modelsStack.idleScaler?.wake();
      return seedLake(
        {
          template,
          s3,
          championUrl: modelsStack.serving.url,
          modelName: defaultModel,
          modelVersion: modelsStack.deployed.version,
        },
        seedOptions,
      );
    },
    injectDrift: async (driftOptions) => {
      assertSimulatorFeeds(manifest);
      await modelsStack.idleScaler?.wake();
      const out = await sendDriftedTraffic({ endpointUrl: modelsStack.proxy.url, endpointName }, driftOptions);
      await modelsStack.proxy.flushCapture();
      return out;
    },
    runDriftCheck: async (model = defaultModel) => {
      const driftFunction = templateModel(template, options.root, model).one('drift-check');
      if (!driftFunction) throw new Error(`model ${model} has no function tagged as its drift check`);
      await endpoints.get(model).proxy.flushCapture();
      return options.invoker.invoke(driftFunction.attributes.Arn ?? driftFunction.ref, {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: template.account,
        time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: template.region,
        resources: [],
        detail: {},
      });
    },
    flushCapture: async () => {
      for (const stack of endpoints.all()) {
        await stack.proxy.shadowIdle();
        await stack.proxy.flushCapture();
      }
    },
    status: (model = defaultModel) => {
      const latest = stepFunctions.list().find((e) => e.stateMachineArn === machineFor(model));
      const stack = endpoints.get(model);
      const last = stack.deployments[stack.deployments.length - 1];
      return {
        model,
        champion: ssm.get(pointerName(model))?.value ?? '(no pointer)',
        serving: { version: stack.deployed.version, modelDataUrl: stack.deployed.modelDataUrl },
        stack: { status: stack.status, ...(last ? { lastDeployment: last } : {}) },
        versions: registry.packages(group(model)).map((p) => ({
          version: p.ModelPackageVersion,
          ...(p.CustomerMetadataProperties?.version ? { name: p.CustomerMetadataProperties.version } : {}),
          approval: p.ModelApprovalStatus,
          arn: p.ModelPackageArn,
        })),
        ...(latest ? { latestExecution: latest } : {}),
      };
    },
    idle: async () => {
      await stepFunctions.idle();
      await endpoints.idle();
    },
    close: async () => {
      await stepFunctions.close();
      await control?.close();
      await endpoints.close();
      s3.close();
    },
  };
}
