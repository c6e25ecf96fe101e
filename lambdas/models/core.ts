// The models API's use cases (admin routes): list and describe models, start a retraining run, approve or reject the
// version parked at manual approval, roll the champion back, read the last drift assessments. Pure: every AWS call
// goes through a port, so the tests drive these with in-memory ports.
import {
  type ApprovalResponse,
  BatchPrediction,
  DriftAssessment,
  type DriftHistory,
  type DriftHistoryQuery,
  driftHistoryPrefix,
  driftStatusKey,
  type ModelActionRequest,
  type ModelDetail,
  type ModelList,
  type ModelSummary,
  type ModelVersionInfo,
  type PredictionsPage,
  type PredictionsQuery,
  PredictionsSummary,
  predictionKeys,
  type RetrainingRun,
  type RetrainResponse,
  type RollbackResponse,
} from '../shared/contracts/api.js';
import { BOOTSTRAP_POINTER, versionOfPointer } from '../shared/contracts/champion.js';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors.js';

/** Retraining runs GET /v1/models/{name} reports. */
export const RECENT_EXECUTIONS = 5;
/** Registered versions reported per model (newest first). */
export const MAX_VERSIONS = 50;

/** One model as this function is configured with it (the MODELS environment variable). */
export interface ModelConfig {
  readonly name: string;
  /** The version the bootstrap card records: the champion's version while the pointer is `bootstrap`. */
  readonly bootstrapVersion: string;
  readonly stateMachineArn: string;
  /** The SSM parameter holding the champion pointer. */
  readonly championParameter: string;
  /** The SageMaker model package group of its versions. */
  readonly packageGroup: string;
}

export interface ExecutionSummary {
  readonly executionArn: string;
  readonly name: string;
  readonly status: string;
  readonly startDate: Date;
  readonly stopDate?: Date;
}

export interface ExecutionDetail {
  /** The execution's input JSON. */
  readonly input?: string;
  readonly error?: string;
  readonly cause?: string;
}

/** Port: Step Functions. */
export interface Executions {
  start(stateMachineArn: string, name: string, input: string): Promise<{ executionArn: string; startDate: Date }>;
  /** Newest first; `running` filters on RUNNING. */
  list(stateMachineArn: string, options: { running: boolean; max: number }): Promise<ExecutionSummary[]>;
  describe(executionArn: string): Promise<ExecutionDetail>;
  /** Names of the states the execution entered, most recent first (a bounded tail of its history). */
  enteredStates(executionArn: string): Promise<string[]>;
  /** Throws TaskTokenExpiredError when the token is no longer valid (the run timed out or was stopped). */
  sendTaskSuccess(taskToken: string, output: string): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
}

export interface PackageSummary {
  readonly modelPackageArn: string;
  readonly packageVersion: number;
  readonly status: ModelVersionInfo['status'];
  readonly createdAt: Date;
}

export interface PackageDetail extends PackageSummary {
  /** CustomerMetadataProperties the Register step records (version, artifactPrefix, trigger, …). */
  readonly metadata: Readonly<Record<string, string>>;
  /** `s3://…/metrics.json` (ModelMetrics.ModelQuality.Statistics). */
  readonly metricsUri?: string;
}

/** Port: the SageMaker model registry. */
export interface Registry {
  /** Versions of the group, newest first, at most `max`; `approvedOnly` filters on Approved. */
  list(group: string, options: { approvedOnly: boolean; max: number }): Promise<PackageSummary[]>;
  describe(modelPackageArn: string): Promise<PackageDetail>;
  setStatus(modelPackageArn: string, status: 'Approved' | 'Rejected', description: string): Promise<void>;
}

/** Port: the champion pointers (SSM). */
export interface Pointers {
  get(parameterName: string): Promise<string>;
  put(parameterName: string, value: string): Promise<void>;
}

/** Port: the models stack (CloudFormation). */
export interface ModelsStack {
  readonly stackName: string;
  describe(): Promise<{ status: string; parameterKeys: string[] }>;
  /** UpdateStack with the previous template and every parameter's previous value (re-resolves the pointers). */
  updateWithPreviousTemplate(parameterKeys: readonly string[]): Promise<void>;
}

/** The lock item's approval fields (written by the AwaitApproval step). */
export interface ParkedApproval {
  readonly taskToken: string;
  readonly version: string;
  readonly modelPackageArn: string;
  readonly executionArn: string;
}

/** Port: the retraining lock table. */
export interface Approvals {
  pending(model: string): Promise<ParkedApproval | undefined>;
}

/** Port: objects in S3 by `s3://bucket/key`; undefined when there is no such object. */
export interface Objects {
  readJson(uri: string): Promise<unknown | undefined>;
  readText(uri: string): Promise<string | undefined>;
  /** The first `max` keys under `prefix`, in S3's ascending key order. */
  listKeys(bucket: string, prefix: string, max: number): Promise<string[]>;
}

export interface ModelsPorts {
  readonly models: readonly ModelConfig[];
  readonly approval: 'auto' | 'manual';
  /** Bucket the drift check writes its latest and dated assessments to. */
  readonly driftBucket: string;
  readonly executions: Executions;
  readonly registry: Registry;
  readonly pointers: Pointers;
  readonly stack: ModelsStack;
  readonly approvals: Approvals;
  readonly objects: Objects;
  /** Where batch models' predictions are, and which models run in batch. @default - none runs in batch */
  readonly predictions?: { readonly bucket: string; readonly models: readonly string[] };
  readonly now?: () => Date;
  /** Random suffix of execution names. */
  readonly randomId?: () => string;
}

/** The task token is no longer valid: the run it belonged to timed out, failed or was stopped. */
export class TaskTokenExpiredError extends Error {
  override readonly name = 'TaskTokenExpiredError';
}

// ---- steps: state machine states → the workflow step the CLI shows (bin/cli/commands/models.ts RETRAINING_STEPS)
/** Every state of the retraining state machine and its step; cleanup states map to undefined (not a step). */
export const STATE_STEPS: Readonly<Record<string, string | undefined>> = {
  AcquireLock: 'coordinate',
  'LockAcquired?': 'coordinate',
  AlreadyRunningOrDebounced: 'coordinate',
  ReadChampion: 'coordinate',
  BuildDataset: 'dataset',
  PrepareDataset: 'dataset',
  NameVersion: 'train',
  Train: 'train',
  Evaluate: 'evaluate',
  'PassedGate?': 'gate',
  GateFailed: 'gate',
  Register: 'register',
  AwaitApproval: 'approve',
  Approve: 'approve',
  MovePointer: 'deploy',
  UpdateModelsStack: 'deploy',
  WaitForDeployment: 'deploy',
  DescribeModelsStack: 'deploy',
  'DeploymentDone?': 'deploy',
  DeploymentRolledBack: 'deploy',
  ResetPointer: 'deploy',
  ReadMonitorSchedule: 'rebaseline',
  ReadMonitorBaseline: 'rebaseline',
  'MonitorOnNewBaseline?': 'rebaseline',
  MonitorBaselineStale: 'rebaseline',
  PublishDeployed: 'rebaseline',
  ReleaseLock: 'rebaseline',
  Deployed: 'rebaseline',
  PublishFailed: undefined,
  ReleaseLockAfterFailure: undefined,
  RetrainingFailed: undefined,
};

/** The step of a run from its entered states (newest first): the latest state that is a step, not cleanup. */
export function stepOf(entered: readonly string[]): { step?: string; state?: string } {
  const state = entered[0];
  // Failure-path states (Failed<Stage>, PublishFailed, …) are skipped: the state before them is where it stopped.
  for (const s of entered) {
    const step = STATE_STEPS[s];
    if (step) return { step, ...(state ? { state } : {}) };
  }
  return state ? { state } : {};
}

// ---- helpers
const iso = (d: Date) => d.toISOString();

function modelOf(ports: ModelsPorts, name: string): ModelConfig {
  const model = ports.models.find((m) => m.name === name);
  if (!model) {
    const known = ports.models.map((m) => m.name).join(', ') || 'none';
    throw new NotFoundError(`no model '${name}' (models here: ${known})`);
  }
  return model;
}

const prefixOf = (p: PackageDetail) =>
  p.metadata.artifactPrefix && !p.metadata.artifactPrefix.endsWith('/')
    ? `${p.metadata.artifactPrefix}/`
    : p.metadata.artifactPrefix;
const versionNameOf = (p: PackageDetail) => p.metadata.version ?? String(p.packageVersion);
const normalizedPointer = (pointer: string) =>
  pointer === BOOTSTRAP_POINTER || pointer.endsWith('/') ? pointer : `${pointer}/`;

async function mapLimited<T, R>(items: readonly T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const NUMBERS = (value: unknown): Record<string, number> | null => {
  const block = (value as { model?: unknown } | undefined)?.model;
  if (typeof block !== 'object' || block === null) return null;
  const entries = Object.entries(block).filter((e): e is [string, number] => typeof e[1] === 'number');
  return Object.fromEntries(entries);
};

async function versionsOf(
  ports: ModelsPorts,
  model: ModelConfig,
  pointer: string,
): Promise<{ versions: ModelVersionInfo[]; details: PackageDetail[] }> {
  const summaries = await ports.registry.list(model.packageGroup, { approvedOnly: false, max: MAX_VERSIONS });
  const details = await mapLimited(summaries, 5, (s) => ports.registry.describe(s.modelPackageArn));
  const champion = normalizedPointer(pointer);
  const versions = await mapLimited(details, 5, async (d): Promise<ModelVersionInfo> => {
    // A missing or unreadable metrics.json hides one version's numbers, not the listing.
    const metrics = d.metricsUri ? NUMBERS(await ports.objects.readJson(d.metricsUri).catch(() => undefined)) : null;
    const prefix = prefixOf(d);
    return {
      version: versionNameOf(d),
      packageVersion: d.packageVersion,
      modelPackageArn: d.modelPackageArn,
      status: d.status,
      createdAt: iso(d.createdAt),
      ...(prefix ? { artifactPrefix: prefix } : {}),
      ...(d.metadata.trigger ? { trigger: d.metadata.trigger } : {}),
      metrics,
      champion: prefix !== undefined && prefix === champion,
    };
  });
  return { versions, details };
}

async function runOf(ports: ModelsPorts, e: ExecutionSummary): Promise<RetrainingRun> {
  const [detail, entered] = await Promise.all([
    ports.executions.describe(e.executionArn),
    ports.executions.enteredStates(e.executionArn),
  ]);
  let input: { trigger?: unknown; reason?: unknown } = {};
  try {
    input = detail.input ? (JSON.parse(detail.input) as typeof input) : {};
  } catch {
    // An input that is not JSON names no trigger; the run is still reported.
  }
  return {
    executionId: e.name,
    executionArn: e.executionArn,
    status: e.status,
    startedAt: iso(e.startDate),
    ...(e.stopDate ? { stoppedAt: iso(e.stopDate) } : {}),
    ...stepOf(entered),
    ...(typeof input.trigger === 'string' ? { trigger: input.trigger } : {}),
    ...(typeof input.reason === 'string' ? { reason: input.reason } : {}),
    ...(detail.error ? { error: detail.error } : {}),
    ...(detail.cause ? { cause: detail.cause } : {}),
  };
}

async function summaryOf(ports: ModelsPorts, model: ModelConfig): Promise<ModelSummary> {
  const pointer = await ports.pointers.get(model.championParameter);
  const [{ versions }, running, parked] = await Promise.all([
    versionsOf(ports, model, pointer),
    ports.executions.list(model.stateMachineArn, { running: true, max: 1 }),
    ports.approvals.pending(model.name),
  ]);
  const championVersion = versions.find((v) => v.champion);
  const version = championVersion?.version ?? versionOfPointer(pointer, model.bootstrapVersion);
  const run = running[0];
  return {
    name: model.name,
    championVersion: version,
    champion: {
      pointer,
      version,
      ...(championVersion ? { packageVersion: championVersion.packageVersion } : {}),
    },
    approval: ports.approval,
    versions,
    retraining: run ? await runOf(ports, run) : null,
    pendingApproval: parked
      ? { version: parked.version, modelPackageArn: parked.modelPackageArn, executionArn: parked.executionArn }
      : null,
  };
}

// ---- use cases
export async function listModels(ports: ModelsPorts): Promise<ModelList> {
  return { models: await Promise.all(ports.models.map((m) => summaryOf(ports, m))) };
}

export async function getModel(ports: ModelsPorts, name: string): Promise<ModelDetail> {
  const model = modelOf(ports, name);
  const [summary, recent, stack] = await Promise.all([
    summaryOf(ports, model),
    ports.executions.list(model.stateMachineArn, { running: false, max: RECENT_EXECUTIONS }),
    ports.stack.describe(),
  ]);
  const executions = await Promise.all(recent.map((e) => runOf(ports, e)));
  return { ...summary, executions, deployment: { stackName: ports.stack.stackName, status: stack.status } };
}

export async function retrain(
  ports: ModelsPorts,
  name: string,
  request: ModelActionRequest | undefined,
): Promise<RetrainResponse> {
  const model = modelOf(ports, name);
  const [running] = await ports.executions.list(model.stateMachineArn, { running: true, max: 1 });
  if (running) {
    throw new ConflictError(`a retraining run of ${name} is already in progress (execution ${running.name})`, {
      executionId: running.name,
      executionArn: running.executionArn,
    });
  }
  const now = (ports.now ?? (() => new Date()))();
  const suffix = (ports.randomId ?? (() => Math.random().toString(36).slice(2, 10)))();
  // Execution names are unique per state machine for 90 days: time plus a random suffix.
  const executionName = `api-${iso(now)
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${suffix}`;
  const input = JSON.stringify({ trigger: 'api', ...(request?.reason ? { reason: request.reason } : {}) });
  const started = await ports.executions.start(model.stateMachineArn, executionName, input);
  return {
    model: name,
    executionId: executionName,
    executionArn: started.executionArn,
    status: 'RUNNING',
    startedAt: iso(started.startDate),
    trigger: 'api',
  };
}

async function parkedFor(ports: ModelsPorts, model: ModelConfig, version: string): Promise<ParkedApproval> {
  if (ports.approval === 'auto') {
    throw new ConflictError(
      `approval of ${model.name} is automatic in this environment: versions that pass the quality gate are approved by the retraining run`,
    );
  }
  const parked = await ports.approvals.pending(model.name);
  if (!parked) throw new ConflictError(`no version of ${model.name} is awaiting approval`);
  const number = /\/(\d+)$/.exec(parked.modelPackageArn)?.[1];
  if (parked.version !== version && number !== version) {
    throw new ConflictError(
      `version ${version} of ${model.name} is not the one awaiting approval (${parked.version}${number ? `, package version ${number}` : ''})`,
      { pendingVersion: parked.version },
    );
  }
  return parked;
}

async function release<T>(name: string, version: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof TaskTokenExpiredError) {
      throw new ConflictError(
        `the approval request for ${name} ${version} is no longer open: its retraining run stopped waiting ` +
          '(it was already approved or rejected, it timed out, or the run ended); GET /v1/models shows where it is',
        undefined,
        { cause: error },
      );
    }
    throw error;
  }
}

export async function approveVersion(
  ports: ModelsPorts,
  name: string,
  version: string,
  request: ModelActionRequest | undefined,
  approver: string | undefined,
): Promise<ApprovalResponse> {
  const model = modelOf(ports, name);
  const parked = await parkedFor(ports, model, version);
  const output = JSON.stringify({
    approved: true,
    approvedAt: iso((ports.now ?? (() => new Date()))()),
    ...(approver ? { approvedBy: approver } : {}),
    ...(request?.reason ? { reason: request.reason } : {}),
  });
  await release(name, version, () => ports.executions.sendTaskSuccess(parked.taskToken, output));
  return decided(name, parked, 'approved');
}

export async function rejectVersion(
  ports: ModelsPorts,
  name: string,
  version: string,
  request: ModelActionRequest | undefined,
  approver: string | undefined,
): Promise<ApprovalResponse> {
  const model = modelOf(ports, name);
  const parked = await parkedFor(ports, model, version);
  const cause = `rejected${approver ? ` by ${approver}` : ''}${request?.reason ? `: ${request.reason}` : ''}`;
  await release(name, version, () => ports.executions.sendTaskFailure(parked.taskToken, 'ApprovalRejected', cause));
  // The run now fails and the champion keeps serving; the registry says why this version never will.
  await ports.registry.setStatus(parked.modelPackageArn, 'Rejected', cause.slice(0, 1000));
  return decided(name, parked, 'rejected');
}

/** The answer to an approve or reject: which version of which run was released, and how. */
function decided(model: string, parked: ParkedApproval, decision: ApprovalResponse['decision']): ApprovalResponse {
  const { version, modelPackageArn, executionArn } = parked;
  return { model, version, modelPackageArn, executionArn, decision };
}

/** CloudFormation statuses during which an UpdateStack is refused. */
const BUSY_STACK = /_IN_PROGRESS$/;

export async function rollback(
  ports: ModelsPorts,
  name: string,
  request: ModelActionRequest | undefined,
): Promise<RollbackResponse> {
  const model = modelOf(ports, name);
  const [running] = await ports.executions.list(model.stateMachineArn, { running: true, max: 1 });
  if (running) {
    throw new ConflictError(
      `a retraining run of ${name} is in progress (execution ${running.name}): a rollback would race its deploy step`,
      { executionId: running.name },
    );
  }
  const pointer = await ports.pointers.get(model.championParameter);
  if (pointer === BOOTSTRAP_POINTER) {
    throw new ConflictError(`${name} serves the bootstrap model: there is no earlier approved version to roll back to`);
  }
  const approved = await ports.registry.list(model.packageGroup, { approvedOnly: true, max: Number.MAX_SAFE_INTEGER });
  const details = await mapLimited(approved, 5, (s) => ports.registry.describe(s.modelPackageArn));
  const current = normalizedPointer(pointer);
  const index = details.findIndex((d) => prefixOf(d) === current);
  if (index < 0) {
    throw new ConflictError(
      `the champion of ${name} (${pointer}) is not an approved version in its registry: nothing to roll back from`,
    );
  }
  const previous = details.slice(index + 1).find((d) => prefixOf(d) !== undefined);
  if (!previous)
    throw new ConflictError(
      `${name} has no approved version before ${versionOfPointer(pointer, model.bootstrapVersion)}`,
    );
  const stack = await ports.stack.describe();
  if (BUSY_STACK.test(stack.status)) {
    throw new ConflictError(`the models stack ${ports.stack.stackName} is ${stack.status}: retry when it has settled`, {
      stackStatus: stack.status,
    });
  }
  const target = prefixOf(previous) as string;
  await ports.pointers.put(model.championParameter, target);
  try {
    await ports.stack.updateWithPreviousTemplate(stack.parameterKeys);
  } catch (error) {
    // The pointer must keep matching what serves: put the champion back before reporting the failure.
    await ports.pointers.put(model.championParameter, pointer);
    throw error;
  }
  const left = details[index] as PackageDetail;
  await ports.registry.setStatus(
    left.modelPackageArn,
    'Rejected',
    `rolled back to ${versionNameOf(previous)} through the models API${request?.reason ? `: ${request.reason}` : ''}`.slice(
      0,
      1000,
    ),
  );
  return {
    model: name,
    from: { pointer, version: versionNameOf(left), packageVersion: left.packageVersion },
    to: { pointer: target, version: versionNameOf(previous), packageVersion: previous.packageVersion },
    stackName: ports.stack.stackName,
    status: 'UPDATE_IN_PROGRESS',
  };
}

function driftAssessmentOf(uri: string, json: unknown): DriftAssessment {
  const parsed = DriftAssessment.safeParse(json);
  if (!parsed.success) throw new Error(`${uri} is not a drift assessment: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * A model's last `limit` drift assessments, newest window first, from their dated history; before any history was
 * kept (a check that ran before it existed) the latest assessment alone. 404 when the check has never run.
 */
export async function getDrift(ports: ModelsPorts, name: string, query: DriftHistoryQuery): Promise<DriftHistory> {
  modelOf(ports, name);
  const keys = await ports.objects.listKeys(ports.driftBucket, driftHistoryPrefix(name), query.limit);
  const read = await Promise.all(
    keys.map(async (key) => {
      const uri = `s3://${ports.driftBucket}/${key}`;
      const json = await ports.objects.readJson(uri);
      // Expired by the lifecycle rule between the listing and the read: the others still answer.
      return json === undefined ? [] : [driftAssessmentOf(uri, json)];
    }),
  );
  const assessments: DriftAssessment[] = read.flat();
  if (assessments.length === 0) {
    const uri = `s3://${ports.driftBucket}/${driftStatusKey(name)}`;
    const json = await ports.objects.readJson(uri);
    if (json === undefined) {
      throw new NotFoundError(`no drift assessment of ${name} yet: the stream drift check writes one on each run`);
    }
    assessments.push(driftAssessmentOf(uri, json));
  }
  return { model: name, assessments };
}

/** A page position as an opaque token (base64url of the next row's index). */
const encodeToken = (offset: number): string => Buffer.from(`o${offset}`).toString('base64url');
function decodeToken(token: string): number {
  const match = /^o(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!match) throw new ValidationError('nextToken is not a token this route returned');
  return Number(match[1]);
}

/** One day's predictions of a batch model with the run's summary, paged; 404 until that night's run completed. */
export async function getPredictions(
  ports: ModelsPorts,
  name: string,
  query: PredictionsQuery,
): Promise<PredictionsPage> {
  modelOf(ports, name);
  const predictions = ports.predictions;
  if (!predictions?.models.includes(name)) {
    throw new NotFoundError(`${name} is not served in batch here: it has no nightly predictions`);
  }
  const keys = predictionKeys(name, query.date);
  const summaryJson = await ports.objects.readJson(`s3://${predictions.bucket}/${keys.summary}`);
  if (summaryJson === undefined) {
    throw new NotFoundError(
      `no predictions of ${name} for ${query.date}: that day's batch run has not completed (it runs after the day ends, UTC)`,
    );
  }
  const summary = PredictionsSummary.parse(summaryJson);
  const text = (await ports.objects.readText(`s3://${predictions.bucket}/${keys.rows}`)) ?? '';
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const offset = query.nextToken ? decodeToken(query.nextToken) : 0;
  const page = lines.slice(offset, offset + query.limit).map((l) => BatchPrediction.parse(JSON.parse(l)));
  const next = offset + page.length;
  return { summary, predictions: page, ...(next < lines.length ? { nextToken: encodeToken(next) } : {}) };
}
