// In-memory ports of the models API for tests: a registry, executions, pointers, a models stack, a lock item, objects.
import type {
  Approvals,
  ExecutionDetail,
  ExecutionSummary,
  Executions,
  ModelConfig,
  ModelsPorts,
  ModelsStack,
  Objects,
  PackageDetail,
  PackageSummary,
  ParkedApproval,
  Pointers,
  Registry,
} from '../core.js';
import { TaskTokenExpiredError } from '../core.js';

export const ARTIFACTS = 's3://artifacts';
export const prefixOf = (model: string, version: string) => `${ARTIFACTS}/models/${model}/versions/${version}/`;

export const FRAUD: ModelConfig = {
  name: 'fraud-detector',
  bootstrapVersion: 'fraud-detector-boot-1',
  stateMachineArn: 'arn:aws:states:eu-west-1:111111111111:stateMachine:fraud',
  championParameter: '/aims/dev/models/fraud-detector/champion',
  packageGroup: 'aims-dev-fraud-detector',
};

interface StoredExecution extends ExecutionSummary, ExecutionDetail {
  states: string[];
}

export class MemoryExecutions implements Executions {
  readonly items: StoredExecution[] = [];
  readonly tokens: { token: string; outcome: 'success' | 'failure'; payload: string }[] = [];
  expiredTokens = new Set<string>();

  add(e: Partial<StoredExecution> & { name: string; status: string; startDate: Date }): void {
    this.items.push({
      executionArn: `${FRAUD.stateMachineArn.replace('stateMachine', 'execution')}:${e.name}`,
      states: [],
      ...e,
    });
  }

  async start(stateMachineArn: string, name: string, input: string) {
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const startDate = new Date('2026-11-20T10:00:00Z');
    this.items.push({ executionArn, name, status: 'RUNNING', startDate, input, states: ['AcquireLock'] });
    return { executionArn, startDate };
  }
  async list(_arn: string, options: { running: boolean; max: number }) {
    return this.items
      .filter((e) => !options.running || e.status === 'RUNNING')
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime())
      .slice(0, options.max);
  }
  async describe(executionArn: string) {
    const e = this.items.find((x) => x.executionArn === executionArn);
    if (!e) throw new Error(`no execution ${executionArn}`);
    return {
      ...(e.input ? { input: e.input } : {}),
      ...(e.error ? { error: e.error } : {}),
      ...(e.cause ? { cause: e.cause } : {}),
    };
  }
  async enteredStates(executionArn: string) {
    return [...(this.items.find((x) => x.executionArn === executionArn)?.states ?? [])].reverse();
  }
  async sendTaskSuccess(token: string, output: string) {
    if (this.expiredTokens.has(token)) throw new TaskTokenExpiredError('Task Timed Out');
    this.tokens.push({ token, outcome: 'success', payload: output });
  }
  async sendTaskFailure(token: string, error: string, cause: string) {
    if (this.expiredTokens.has(token)) throw new TaskTokenExpiredError('Task Timed Out');
    this.tokens.push({ token, outcome: 'failure', payload: `${error}: ${cause}` });
  }
}

export class MemoryRegistry implements Registry {
  readonly packages: PackageDetail[] = [];
  readonly updates: { arn: string; status: string; description: string }[] = [];

  /** Registers version `n` of the model (created n hours after a fixed time). */
  register(model: string, n: number, status: PackageSummary['status'], version = `v${n}`): PackageDetail {
    const detail: PackageDetail = {
      modelPackageArn: `arn:aws:sagemaker:eu-west-1:111111111111:model-package/aims-dev-${model}/${n}`,
      packageVersion: n,
      status,
      createdAt: new Date(Date.UTC(2026, 10, 1, n)),
      metadata: { version, artifactPrefix: prefixOf(model, version), trigger: 'drift' },
      metricsUri: `${prefixOf(model, version)}metrics.json`,
    };
    this.packages.push(detail);
    return detail;
  }
  async list(_group: string, options: { approvedOnly: boolean; max: number }) {
    return this.packages
      .filter((p) => !options.approvedOnly || p.status === 'Approved')
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, options.max)
      .map(({ modelPackageArn, packageVersion, status, createdAt }) => ({
        modelPackageArn,
        packageVersion,
        status,
        createdAt,
      }));
  }
  async describe(arn: string) {
    const p = this.packages.find((x) => x.modelPackageArn === arn);
    if (!p) throw new Error(`no package ${arn}`);
    return p;
  }
  async setStatus(arn: string, status: 'Approved' | 'Rejected', description: string) {
    const p = this.packages.find((x) => x.modelPackageArn === arn);
    if (!p) throw new Error(`no package ${arn}`);
    Object.assign(p, { status });
    this.updates.push({ arn, status, description });
  }
}

export class MemoryPointers implements Pointers {
  readonly values = new Map<string, string>();
  readonly writes: string[] = [];
  async get(name: string) {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`no parameter ${name}`);
    return v;
  }
  async put(name: string, value: string) {
    this.values.set(name, value);
    this.writes.push(value);
  }
}

export class MemoryStack implements ModelsStack {
  readonly stackName = 'Dev-Models';
  status = 'UPDATE_COMPLETE';
  failUpdate?: Error;
  readonly updates: (readonly string[])[] = [];
  async describe() {
    return { status: this.status, parameterKeys: ['BootstrapVersion', 'SsmParameterValueaimsdev'] };
  }
  async updateWithPreviousTemplate(keys: readonly string[]) {
    if (this.failUpdate) throw this.failUpdate;
    this.updates.push(keys);
    this.status = 'UPDATE_IN_PROGRESS';
  }
}

export class MemoryApprovals implements Approvals {
  parked?: ParkedApproval;
  async pending() {
    return this.parked;
  }
}

export class MemoryObjects implements Objects {
  readonly objects = new Map<string, unknown>();
  async readJson(uri: string) {
    return this.objects.get(uri);
  }
  async readText(uri: string) {
    const value = this.objects.get(uri);
    return typeof value === 'string' ? value : value === undefined ? undefined : JSON.stringify(value);
  }
  async listKeys(bucket: string, prefix: string, max: number) {
    const base = `s3://${bucket}/`;
    return [...this.objects.keys()]
      .filter((uri) => uri.startsWith(`${base}${prefix}`))
      .map((uri) => uri.slice(base.length))
      .sort()
      .slice(0, max);
  }
}

export interface World extends ModelsPorts {
  readonly executions: MemoryExecutions;
  readonly registry: MemoryRegistry;
  readonly pointers: MemoryPointers;
  readonly stack: MemoryStack;
  readonly approvals: MemoryApprovals;
  readonly objects: MemoryObjects;
}

export function world(approval: 'auto' | 'manual' = 'manual'): World {
  const pointers = new MemoryPointers();
  pointers.values.set(FRAUD.championParameter, 'bootstrap');
  return {
    models: [FRAUD],
    approval,
    driftBucket: 'monitoring',
    executions: new MemoryExecutions(),
    registry: new MemoryRegistry(),
    pointers,
    stack: new MemoryStack(),
    approvals: new MemoryApprovals(),
    objects: new MemoryObjects(),
    now: () => new Date('2026-11-20T10:00:00.123Z'),
    randomId: () => 'abc123',
  };
}
