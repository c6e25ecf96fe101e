// Local Step Functions: the template's state machines (their resolved ASL) run in aws-local-stepfunctions. Lambda
// tasks run the real bundles through the local Lambda runtime; every other Task is overridden by its local
// equivalent, chosen by the task's Resource (aws-sdk:<service>:<action>, athena, sagemaker, events), so the ASL is
// the template's own. Executions are kept in <dataDir>/sfn/executions.json.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { AwsServiceError, requireString } from '../services/http.js';
import type { FunctionInvoker, LocalTemplate } from '../types.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A local implementation of one Task resource; it receives the task's effective input (Parameters applied). */
export type TaskHandler = (
  input: Json,
  context: { executionArn: string; stateName: string; timeoutSeconds?: number },
) => Promise<Json>;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: string;
  stopDate?: string;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  /** The state the execution is in (or ended in): `retrain --wait` shows it. */
  currentState?: string;
  /** States entered, in order. */
  states: string[];
  /** When each of `states` was entered (ISO); absent in records written before it was kept. */
  enteredAt?: string[];
}

export interface LocalStepFunctionsOptions {
  readonly template: LocalTemplate;
  readonly dataDir: string;
  readonly invoker: FunctionInvoker;
  /** Local handlers per Task resource: `aws-sdk:ssm:putParameter`, `athena:startQueryExecution.sync`, … */
  readonly resources: Readonly<Record<string, TaskHandler>>;
  /** Wait states shortened locally (name → ms); a Wait not listed waits as written. */
  readonly waitTimeOverrides?: Readonly<Record<string, number>>;
  /** Retry intervals shortened locally (state name → ms). @default every retrier waits 100 ms */
  readonly retryIntervalMs?: number;
  readonly log?: (line: string) => void;
}

/** The error a Lambda task raises: Error = the function's errorType, Cause = Lambda's error JSON. */
class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

const LAMBDA_ARN = /^arn:aws:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$/;

export class LocalStepFunctions {
  private readonly machines = new Map<string, { name: string; definition: StateMachineDefinition }>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, { abort: () => void; done: Promise<void> }>();
  private readonly tokens = new Map<string, { resolve: (v: Json) => void; reject: (e: Error) => void }>();
  private readonly file: string;
  private readonly listeners = new Set<(e: ExecutionRecord) => void>();

  constructor(private readonly options: LocalStepFunctionsOptions) {
    for (const r of options.template.ofType('AWS::StepFunctions::StateMachine')) {
      const text = r.properties.DefinitionString;
      const definition = (
        typeof text === 'string' ? JSON.parse(text) : r.properties.Definition
      ) as StateMachineDefinition;
      const arn = r.attributes.Arn ?? r.ref;
      this.machines.set(arn, { name: r.attributes.Name ?? arn.split(':').pop() ?? arn, definition });
    }
    const dir = join(options.dataDir, 'sfn');
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'executions.json');
    if (existsSync(this.file)) {
      for (const e of JSON.parse(readFileSync(this.file, 'utf8')) as ExecutionRecord[]) {
        // A run cut short by a stop cannot resume locally; say so instead of showing it RUNNING forever.
        if (e.status === 'RUNNING') {
          Object.assign(e, { status: 'ABORTED', stopDate: new Date().toISOString(), cause: 'the local stage stopped' });
        }
        this.executions.set(e.executionArn, e);
      }
    }
  }

  stateMachineArns(): string[] {
    return [...this.machines.keys()];
  }

  /** Task states of a machine without a local implementation (a test expects none). */
  unhandledTasks(arn: string): string[] {
    const machine = this.machines.get(arn);
    if (!machine) return [];
    return Object.entries(machine.definition.States)
      .filter(([, s]) => s.Type === 'Task')
      .filter(([, s]) => !this.handlerFor((s as { Resource: string }).Resource))
      .map(([name]) => name);
  }

  onChange(listener: (e: ExecutionRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private save(record: ExecutionRecord): void {
    for (const l of this.listeners) l(record);
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.executions.values()], null, 1));
    renameSync(tmp, this.file);
  }

  private handlerFor(resource: string): TaskHandler | undefined {
    if (LAMBDA_ARN.test(resource)) return (input) => this.invokeLambda(resource, input);
    const service = /^arn:aws:states:::(.+)$/.exec(resource)?.[1];
    if (!service) return undefined;
    if (service === 'lambda:invoke' || service === 'lambda:invoke.waitForTaskToken') {
      return async (input, ctx) => {
        const p = (input ?? {}) as { FunctionName?: string; Payload?: Json };
        if (!p.FunctionName) throw new TaskError('States.Runtime', 'lambda:invoke needs FunctionName');
        if (service.endsWith('.waitForTaskToken')) {
          const token = this.taskToken(ctx.executionArn);
          const waiting = new Promise<Json>((resolve, reject) => this.tokens.set(token, { resolve, reject }));
          // A SendTaskFailure may arrive while the Lambda still runs; the rejection is read below.
          waiting.catch(() => {});
          // Step Functions invalidates a token when its task times out; aws-local-stepfunctions only stops waiting, so
          // the token is dropped at the same moment and a late SendTaskSuccess is refused as on AWS.
          const expiry =
            ctx.timeoutSeconds === undefined
              ? undefined
              : setTimeout(() => this.tokens.delete(token), ctx.timeoutSeconds * 1000);
          expiry?.unref();
          try {
            await this.invokeLambda(p.FunctionName, p.Payload ?? null);
            return await waiting;
          } finally {
            clearTimeout(expiry);
            this.tokens.delete(token);
          }
        }
        const payload = await this.invokeLambda(p.FunctionName, p.Payload ?? null);
        return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: payload };
      };
    }
    return this.options.resources[service];
  }

  private async invokeLambda(target: string, input: Json): Promise<Json> {
    const result = await this.options.invoker.invoke(target, input);
    if (!result.ok) {
      const cause = JSON.stringify({
        errorType: result.errorType,
        errorMessage: result.errorMessage,
        trace: result.stackTrace ?? [],
      });
      throw new TaskError(result.errorType, cause);
    }
    return (result.payload ?? null) as Json;
  }

  private taskToken(executionArn: string): string {
    return Buffer.from(`${executionArn}#task`).toString('base64url');
  }

  /** StartExecution: runs in the background; returns at once, as the API does. */
  start(stateMachineArn: string, input: string, name?: string): ExecutionRecord {
    const machine = this.machines.get(stateMachineArn);
    if (!machine)
      throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const executionName = name ?? randomUUID();
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
    if (this.executions.has(executionArn)) {
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    let parsed: Json;
    try {
      parsed = JSON.parse(input || '{}') as Json;
    } catch {
      throw new AwsServiceError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON');
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn,
      name: executionName,
      status: 'RUNNING',
      startDate: new Date().toISOString(),
      input: input || '{}',
      states: [],
      enteredAt: [],
    };
    this.executions.set(executionArn, record);
    this.save(record);
    // aws-local-stepfunctions gives a Task 60 s unless TimeoutSeconds is set; AWS has no per-task default (the
    // execution's timeout applies), so Tasks without one get the execution's.
    // A JSON copy, not structuredClone: the library checks plain objects by prototype, and a test VM has its own.
    const definition = JSON.parse(JSON.stringify(machine.definition)) as StateMachineDefinition;
    for (const state of Object.values(definition.States)) {
      const task = state as { Type: string; TimeoutSeconds?: number; TimeoutSecondsPath?: string };
      if (task.Type === 'Task' && task.TimeoutSeconds === undefined && task.TimeoutSecondsPath === undefined) {
        task.TimeoutSeconds = Math.min(definition.TimeoutSeconds ?? 99_999_999, 2_000_000);
      }
    }
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    const retries: Record<string, number> = {};
    for (const [stateName, state] of Object.entries(definition.States)) {
      if ('Retry' in state && state.Retry) retries[stateName] = this.options.retryIntervalMs ?? 100;
      if (state.Type !== 'Task') continue;
      const task = state as { Resource: string; TimeoutSeconds?: number };
      const handler = this.handlerFor(task.Resource);
      const timeoutSeconds = task.TimeoutSeconds;
      if (handler) {
        handlers[stateName] = (i) =>
          handler(i, { executionArn, stateName, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) });
      }
    }
    const sm = new StateMachine(definition, { validationOptions: { checkArn: false, checkPaths: false } });
    const run = sm.run(parsed, {
      overrides: {
        taskResourceLocalHandlers: handlers,
        waitTimeOverrides: { ...this.options.waitTimeOverrides },
        retryIntervalOverrides: retries,
      },
      context: {
        Execution: { Id: executionArn, Name: executionName, RoleArn: 'arn:aws:iam::000000000000:role/local' },
        StateMachine: { Id: stateMachineArn, Name: machine.name },
        Task: { Token: this.taskToken(executionArn) },
      },
    });
    const events = (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered') {
          record.currentState = event.state.name;
          record.states.push(event.state.name);
          record.enteredAt?.push(new Date().toISOString());
          this.save(record);
        }
      }
    })().catch(() => {});
    const done = run.result
      .then(
        (output) => {
          Object.assign(record, { status: 'SUCCEEDED', output: JSON.stringify(output) });
        },
        (error: unknown) => {
          const cause = (error as { cause?: { name?: string; message?: string } }).cause;
          Object.assign(record, {
            status: /timeout/i.test(String((error as Error).name)) ? 'TIMED_OUT' : 'FAILED',
            error: cause?.name ?? (error as Error).name,
            cause: cause?.message ?? (error as Error).message,
          });
        },
      )
      .then(async () => {
        await events;
        record.stopDate = new Date().toISOString();
        this.running.delete(executionArn);
        // A token of an ended run (aborted, failed elsewhere) is no longer valid.
        this.tokens.delete(this.taskToken(executionArn));
        this.save(record);
        this.options.log?.(
          `  ${machine.name} ${record.name}: ${record.status}${record.error ? ` (${record.error})` : ''}`,
        );
      });
    this.running.set(executionArn, { abort: run.abort, done });
    return record;
  }

  describe(executionArn: string): ExecutionRecord {
    const e = this.executions.get(executionArn);
    if (!e) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return e;
  }

  list(stateMachineArn?: string): ExecutionRecord[] {
    return [...this.executions.values()]
      .filter((e) => stateMachineArn === undefined || e.stateMachineArn === stateMachineArn)
      .sort((a, b) => (a.startDate < b.startDate ? 1 : -1));
  }

  /** Resolves when the execution has ended; returns its record. */
  async wait(executionArn: string): Promise<ExecutionRecord> {
    await this.running.get(executionArn)?.done;
    return this.describe(executionArn);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** The AWSStepFunctions JSON 1.0 operations. */
  operations() {
    const epoch = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso) / 1000);
    // What DescribeExecution and ListExecutions both say of an execution.
    const executionSummary = (e: ExecutionRecord) => ({
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: epoch(e.startDate),
      ...(e.stopDate ? { stopDate: epoch(e.stopDate) } : {}),
    });
    return {
      StartExecution: (input: Record<string, unknown>) => {
        const e = this.start(
          requireString(input, 'stateMachineArn'),
          typeof input.input === 'string' ? input.input : '{}',
          typeof input.name === 'string' ? input.name : undefined,
        );
        return { executionArn: e.executionArn, startDate: epoch(e.startDate) };
      },
      DescribeExecution: (input: Record<string, unknown>) => {
        const e = this.describe(requireString(input, 'executionArn'));
        return {
          ...executionSummary(e),
          input: e.input,
          ...(e.output !== undefined ? { output: e.output } : {}),
          ...(e.error !== undefined ? { error: e.error } : {}),
          ...(e.cause !== undefined ? { cause: e.cause } : {}),
        };
      },
      ListExecutions: (input: Record<string, unknown>) => {
        let list = this.list(typeof input.stateMachineArn === 'string' ? input.stateMachineArn : undefined);
        if (typeof input.statusFilter === 'string') list = list.filter((e) => e.status === input.statusFilter);
        const start = typeof input.nextToken === 'string' ? Number(input.nextToken) : 0;
        const max = typeof input.maxResults === 'number' && input.maxResults > 0 ? input.maxResults : 100;
        return {
          executions: list.slice(start, start + max).map(executionSummary),
          ...(start + max < list.length ? { nextToken: String(start + max) } : {}),
        };
      },
      /** The StateEntered events (all the models API reads), oldest first unless `reverseOrder`; ids count from 1. */
      GetExecutionHistory: (input: Record<string, unknown>) => {
        const e = this.describe(requireString(input, 'executionArn'));
        const types = Object.fromEntries(
          Object.entries(this.machines.get(e.stateMachineArn)?.definition.States ?? {}).map(([name, s]) => [
            name,
            s.Type,
          ]),
        );
        let events = e.states.map((name, i) => ({
          id: i + 1,
          previousEventId: i,
          timestamp: epoch(e.enteredAt?.[i] ?? e.startDate),
          type: `${types[name] ?? 'Task'}StateEntered`,
          stateEnteredEventDetails: { name },
        }));
        if (input.reverseOrder === true) events = events.reverse();
        const start = typeof input.nextToken === 'string' ? Number(input.nextToken) : 0;
        const max = typeof input.maxResults === 'number' && input.maxResults > 0 ? input.maxResults : 100;
        return {
          events: events.slice(start, start + max),
          ...(start + max < events.length ? { nextToken: String(start + max) } : {}),
        };
      },
      SendTaskSuccess: (input: Record<string, unknown>) => {
        const waiter = this.tokens.get(requireString(input, 'taskToken'));
        if (!waiter) throw new AwsServiceError('TaskDoesNotExist', 'Task Does Not Exist');
        this.tokens.delete(requireString(input, 'taskToken'));
        waiter.resolve(JSON.parse(typeof input.output === 'string' ? input.output : 'null') as Json);
        return {};
      },
      SendTaskFailure: (input: Record<string, unknown>) => {
        const waiter = this.tokens.get(requireString(input, 'taskToken'));
        if (!waiter) throw new AwsServiceError('TaskDoesNotExist', 'Task Does Not Exist');
        this.tokens.delete(requireString(input, 'taskToken'));
        waiter.reject(
          new TaskError(
            typeof input.error === 'string' ? input.error : 'States.TaskFailed',
            typeof input.cause === 'string' ? input.cause : '',
          ),
        );
        return {};
      },
    };
  }

  async close(): Promise<void> {
    for (const r of this.running.values()) r.abort();
    // A task waiting for its token holds the library's timeout timer (days for an approval) until it settles.
    for (const waiter of this.tokens.values())
      waiter.reject(new TaskError('States.Runtime', 'the local stage stopped'));
    this.tokens.clear();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }
}
