// The local Lambda runtime: each template function runs its cdk.out bundle in a small pool of worker threads.
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  type Closable,
  type FunctionInvoker,
  type InvokeResult,
  type LocalEndpoints,
  type LocalTemplate,
  sdkEnvironment,
} from '../types.js';
import { functionDefinitions, functionNameOf, type LocalFunctionDefinition } from './functions.js';

const WORKER_ENTRY = new URL('./worker.mjs', import.meta.url);
/** Node flags for the workers: ours minus module loaders (`--import tsx` & co.). Bundles are plain ESM, and a loader
 *  inherited into each worker runs its hooks on every import of a ≈ 2.7 MB bundle (slow inits, more memory). */
export const WORKER_EXEC_ARGV: readonly string[] = withoutLoaders(process.execArgv);

export function withoutLoaders(execArgv: readonly string[]): string[] {
  const loaderFlags = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (loaderFlags.has(arg)) i++;
    else if (![...loaderFlags].some((flag) => arg.startsWith(`${flag}=`))) out.push(arg);
  }
  return out;
}
/** Lambda's own init limit is 10 s; locally 15 bundles of ≈ 2.7 MB import on 2 shared cores, so a healthy start on a
 *  loaded machine can take longer. The local limit only catches a hung init. */
export const DEFAULT_LOCAL_INIT_TIMEOUT_MS = 60_000;
/** Bundles imported at once by `warm()`: more only makes each init slower on a 2-core machine. */
export const DEFAULT_WARM_CONCURRENCY = 2;
/** Lambda's synchronous response payload limit. */
const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

export interface LambdaRuntimeOptions {
  readonly template: LocalTemplate;
  readonly endpoints: LocalEndpoints;
  /** The local stage's data directory; logs go to `<dataDir>/logs/<functionName>.log`. */
  readonly dataDir: string;
  /** Extra environment variables: for every function, or per function (computed from its definition). They win
   *  over the template's and the runtime's variables. */
  readonly environmentOverrides?:
    | Readonly<Record<string, string>>
    | ((fn: LocalFunctionDefinition) => Readonly<Record<string, string>> | undefined);
  /** Most execution environments (workers) per function; `ReservedConcurrentExecutions` lowers it. @default 4 */
  readonly maxConcurrencyPerFunction?: number;
  /** Invocations that may wait for a busy function before it answers TooManyRequestsException. @default 1000 */
  readonly maxQueuedPerFunction?: number;
  /** Start one worker per function before resolving (cold starts paid up front). @default false */
  readonly eager?: boolean;
  /** Limit of a worker's init phase (bundle import), in ms. Lambda's is 10 s; locally only a hung init should fail.
   *  @default AIMS_LAMBDA_INIT_TIMEOUT_MS or 60000 */
  readonly initTimeoutMs?: number;
  /** Functions `warm()` initialises at the same time. @default 2 */
  readonly warmConcurrency?: number;
  /** Where workers keep V8's compiled code of the bundles (Node's module compile cache, keyed by content): a later
   *  init of an unchanged bundle skips parsing and compiling it. `false`: none. @default <dataDir>/cache/compile */
  readonly compileCacheDir?: string | false;
}

/** The init limit: the option, else `AIMS_LAMBDA_INIT_TIMEOUT_MS`, else 60 s; refuses a value that is no duration. */
export function localInitTimeoutMs(option?: number): number {
  const raw = option ?? process.env.AIMS_LAMBDA_INIT_TIMEOUT_MS;
  if (raw === undefined || raw === '') return DEFAULT_LOCAL_INIT_TIMEOUT_MS;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new Error(`the local Lambda init timeout must be a positive number of ms, got ${JSON.stringify(raw)}`);
  }
  return ms;
}

export interface FunctionStats {
  readonly name: string;
  readonly arn: string;
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
  readonly invocations: number;
  readonly coldStarts: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Init (module import) time of the most recent cold start, in ms. */
  readonly lastInitMs?: number;
}

export interface LambdaRuntime extends FunctionInvoker, Closable {
  readonly functions: readonly LocalFunctionDefinition[];
  /** The function a target (name, ARN, qualified ARN, integration URI) denotes, or undefined. */
  resolve(target: string): LocalFunctionDefinition | undefined;
  /** Starts workers for each given function (default: all) until it has `environments` (default 1, at most its
   *  concurrency limit) initialised; rejects on init errors. */
  warm(targets?: readonly string[], environments?: number): Promise<void>;
  stats(): FunctionStats[];
  /** Where a function's log lines go. */
  logFile(target: string): string;
}

/** Thrown by `invoke` for a target that is no function of the template (Lambda's ResourceNotFoundException). */
export class FunctionNotFoundError extends Error {
  override readonly name = 'ResourceNotFoundException';
}

type WorkerReply =
  | { type: 'ready'; initMs: number }
  | { type: 'initError'; initMs: number; error: ErrorPayload }
  | { type: 'result'; requestId: string; ok: true; payloadJson: string; durationMs: number }
  | { type: 'result'; requestId: string; ok: false; error: ErrorPayload; durationMs: number }
  | { type: 'crash'; requestId?: string; error: ErrorPayload };

interface ErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stackTrace?: string[];
}

type InitOutcome = { ok: true; initMs: number } | { ok: false; result: InvokeResult };

function failure(errorType: string, errorMessage: string, durationMs: number, stackTrace?: string[]): InvokeResult {
  return { ok: false, errorType, errorMessage, ...(stackTrace ? { stackTrace } : {}), durationMs };
}

function logStreamName(version: string): string {
  const d = new Date();
  const day = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`;
  return `${day}/[${version}]${randomBytes(16).toString('hex')}`;
}

/** One execution environment: a worker thread that has imported the bundle and serves one invocation at a time. */
class ExecutionEnvironment {
  readonly ready: Promise<InitOutcome>;
  private dead = false;
  private exitReason: ErrorPayload | undefined;
  private pending: { requestId: string; settle: (result: InvokeResult) => void; started: number } | undefined;
  private readonly worker: Worker;

  constructor(
    private readonly fn: LocalFunctionDefinition,
    env: Record<string, string>,
    log: WriteStream,
    logFile: string,
    private readonly onDeath: (environment: ExecutionEnvironment) => void,
    initTimeoutMs: number,
    compileCacheDir: string | undefined,
  ) {
    const version = '$LATEST';
    const started = performance.now();
    const streamName = logStreamName(version);
    this.worker = new Worker(WORKER_ENTRY, {
      env: { ...env, AWS_LAMBDA_LOG_STREAM_NAME: streamName },
      workerData: {
        modulePath: fn.modulePath,
        exportName: fn.exportName,
        handler: fn.handler,
        functionName: fn.name,
        functionArn: fn.arn,
        memorySize: fn.memorySize,
        version,
        logGroupName: fn.logGroupName,
        logStreamName: streamName,
        logFile,
        compileCacheDir,
      },
      execArgv: [...WORKER_EXEC_ARGV],
      stdout: true,
      stderr: true,
      // The function's memory setting bounds its heap: an over-allocating handler dies as on Lambda.
      resourceLimits: { maxOldGenerationSizeMb: Math.max(fn.memorySize, 128) },
    });
    // The worker writes its log lines to the file itself; only what Node prints on its own (a crash) comes here.
    // A listener, not pipe(): a pipe per worker would pile listeners onto the one log stream.
    this.worker.stdout.on('data', (chunk: Buffer) => log.write(chunk));
    this.worker.stderr.on('data', (chunk: Buffer) => log.write(chunk));
    this.ready = new Promise<InitOutcome>((resolveReady) => {
      const initTimer = setTimeout(() => {
        const message = `Init phase exceeded ${initTimeoutMs / 1000} seconds (the local limit)`;
        // Written synchronously: whoever handles the failure reads the log at once.
        appendFileSync(
          logFile,
          `${new Date().toISOString()}\tundefined\tERROR\t${message}; the worker is terminated\n`,
        );
        resolveReady({ ok: false, result: failure('Runtime.InitTimeout', message, initTimeoutMs) });
        void this.kill();
      }, initTimeoutMs);
      const settleInit = (outcome: InitOutcome) => {
        clearTimeout(initTimer);
        resolveReady(outcome);
      };
      this.worker.on('message', (message: WorkerReply) => {
        switch (message.type) {
          case 'ready':
            settleInit({ ok: true, initMs: message.initMs });
            return;
          case 'initError': {
            const e = message.error;
            settleInit({ ok: false, result: failure(e.errorType, e.errorMessage, message.initMs, e.stackTrace) });
            void this.kill();
            return;
          }
          case 'result':
            this.settle(
              message.ok
                ? this.okResult(message.payloadJson)
                : failure(message.error.errorType, message.error.errorMessage, 0, message.error.stackTrace),
            );
            return;
          case 'crash':
            this.exitReason = message.error;
            return;
        }
      });
      this.worker.on('error', (error: Error & { code?: string }) => {
        this.exitReason =
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? { errorType: 'Runtime.OutOfMemory', errorMessage: 'Runtime exited with error: signal: killed' }
            : { errorType: error.name || 'Error', errorMessage: error.message };
      });
      this.worker.on('exit', (code) => {
        const reason = this.exitReason ?? {
          errorType: 'Runtime.ExitError',
          errorMessage: `Runtime exited with error: exit status ${code}`,
        };
        settleInit({ ok: false, result: failure(reason.errorType, reason.errorMessage, performance.now() - started) });
        this.settle(
          failure(reason.errorType, `RequestId: ${this.pending?.requestId} Error: ${reason.errorMessage}`, 0),
        );
        this.dead = true;
        this.onDeath(this);
      });
    });
  }

  get alive(): boolean {
    return !this.dead;
  }

  private okResult(payloadJson: string): InvokeResult {
    if (Buffer.byteLength(payloadJson) > MAX_RESPONSE_BYTES) {
      return failure(
        'Function.ResponseSizeTooLarge',
        `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
        0,
      );
    }
    return { ok: true, payload: JSON.parse(payloadJson) as unknown, durationMs: 0 };
  }

  private settle(result: InvokeResult): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    pending.settle({ ...result, durationMs: performance.now() - pending.started });
  }

  /** Runs one invocation; on timeout the worker is terminated (the environment is gone, as on Lambda). */
  invoke(eventJson: string, log: WriteStream): Promise<InvokeResult> {
    if (this.dead || this.pending) throw new Error('internal: invoke on a dead or busy execution environment');
    const requestId = randomUUID();
    const timeoutMs = this.fn.timeoutSeconds * 1000;
    return new Promise<InvokeResult>((resolveInvoke) => {
      const timer = setTimeout(() => {
        const message = `Task timed out after ${this.fn.timeoutSeconds.toFixed(2)} seconds`;
        log.write(
          `${new Date().toISOString()} ${requestId} ${message}\nEND RequestId: ${requestId}\nREPORT RequestId: ${requestId}\tDuration: ${timeoutMs.toFixed(2)} ms\tStatus: timeout\n`,
        );
        this.settle(failure('Sandbox.Timedout', `RequestId: ${requestId} Error: ${message}`, timeoutMs));
        void this.kill();
      }, timeoutMs);
      this.pending = {
        requestId,
        started: performance.now(),
        settle: (result) => {
          clearTimeout(timer);
          resolveInvoke(result);
        },
      };
      this.worker.postMessage({ type: 'invoke', requestId, eventJson, deadline: Date.now() + timeoutMs });
    });
  }

  async kill(): Promise<void> {
    this.dead = true;
    await this.worker.terminate();
  }
}

/** What a waiting invocation is handed: an environment, a freed slot to spawn into, or a failed init to report. */
type Slot = ExecutionEnvironment | 'spawn' | { readonly initFailed: InvokeResult };

/**
 * The pool of execution environments of one function, with a bounded wait queue. An invocation that finds no idle
 * environment starts a new one in the background and takes whichever is free first, that one or a busy one finishing:
 * on two shared cores an init costs 0.3–0.8 s, a score 10 ms, so waiting for the init would turn every rise in
 * concurrency into a latency spike that Lambda's provisioned concurrency does not have (docs/local-stage.md).
 */
class FunctionPool {
  private readonly idle: ExecutionEnvironment[] = [];
  private readonly all = new Set<ExecutionEnvironment>();
  /** Environments started in the background whose init has not settled: their outcome goes to a waiter. */
  private readonly starting = new Set<ExecutionEnvironment>();
  private readonly waiters: Array<(slot: Slot) => void> = [];
  private readonly log: WriteStream;
  private closed = false;
  private counters = { invocations: 0, coldStarts: 0, errors: 0, timeouts: 0, busy: 0 };
  private lastInitMs: number | undefined;

  constructor(
    readonly fn: LocalFunctionDefinition,
    private readonly env: Record<string, string>,
    readonly logPath: string,
    private readonly maxConcurrency: number,
    private readonly maxQueued: number,
    private readonly initTimeoutMs: number,
    private readonly compileCacheDir: string | undefined,
  ) {
    this.log = createWriteStream(logPath, { flags: 'a' });
  }

  private spawn(): ExecutionEnvironment {
    const environment = new ExecutionEnvironment(
      this.fn,
      this.env,
      this.log,
      this.logPath,
      (dead) => this.forget(dead),
      this.initTimeoutMs,
      this.compileCacheDir,
    );
    this.all.add(environment);
    this.counters.coldStarts++;
    return environment;
  }

  private forget(environment: ExecutionEnvironment): void {
    if (!this.all.delete(environment)) return;
    const at = this.idle.indexOf(environment);
    if (at >= 0) this.idle.splice(at, 1);
    // A freed slot starts a fresh environment for the waiters that have none on its way (a failed init is reported
    // to a waiter by spawnInBackground instead).
    if (!this.closed && !this.starting.has(environment) && this.waiters.length > this.starting.size) {
      this.spawnInBackground();
    }
  }

  private release(environment: ExecutionEnvironment): void {
    if (!environment.alive) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter(environment);
    else this.idle.push(environment);
  }

  /** Starts an environment whose init, when done, serves the first waiter (or goes idle). */
  private spawnInBackground(): void {
    const environment = this.spawn();
    this.starting.add(environment);
    void environment.ready.then((outcome) => {
      this.starting.delete(environment);
      if (outcome.ok) {
        this.lastInitMs = outcome.initMs;
        this.release(environment);
      } else {
        // The failed init is reported to one waiter, as Lambda reports it to the invocation that met it.
        this.waiters.shift()?.({ initFailed: outcome.result });
      }
    });
  }

  private async acquire(): Promise<ExecutionEnvironment | { readonly initFailed: InvokeResult } | 'throttled'> {
    const idle = this.idle.pop();
    if (idle) return idle;
    const canSpawn = this.all.size < this.maxConcurrency;
    if (!canSpawn && this.waiters.length >= this.maxQueued) return 'throttled';
    const slot = new Promise<Slot>((resolveSlot) => this.waiters.push(resolveSlot));
    // One init on its way per waiter at most: each init costs a core for the better part of a second.
    if (canSpawn && this.starting.size < this.waiters.length) this.spawnInBackground();
    const got = await slot;
    return got === 'spawn' ? this.spawn() : got;
  }

  /** Initialises environments, one after another, until `count` (capped by the concurrency limit) are alive. */
  async warm(count = 1): Promise<InitOutcome> {
    const wanted = Math.min(Math.max(1, count), this.maxConcurrency);
    let outcome: InitOutcome = { ok: true, initMs: this.lastInitMs ?? 0 };
    while ([...this.all].filter((environment) => environment.alive).length < wanted) {
      const environment = this.spawn();
      outcome = await environment.ready;
      if (!outcome.ok) return outcome;
      this.lastInitMs = outcome.initMs;
      this.release(environment);
    }
    return outcome;
  }

  async invoke(event: unknown): Promise<InvokeResult> {
    if (this.closed) throw new Error(`local Lambda runtime is closed (function ${this.fn.name})`);
    const started = performance.now();
    const eventJson = JSON.stringify(event ?? null);
    this.counters.invocations++;
    const slot = await this.acquire();
    if (slot === 'throttled') {
      this.counters.errors++;
      return failure('TooManyRequestsException', `Rate Exceeded. (${this.fn.name}: all environments busy)`, 0);
    }
    if ('initFailed' in slot) {
      this.counters.errors++;
      return { ...slot.initFailed, durationMs: performance.now() - started };
    }
    this.counters.busy++;
    try {
      const init = await slot.ready;
      if (!init.ok) {
        this.counters.errors++;
        return { ...init.result, durationMs: performance.now() - started };
      }
      this.lastInitMs = init.initMs;
      const result = await slot.invoke(eventJson, this.log);
      if (!result.ok) {
        this.counters.errors++;
        if (result.errorType === 'Sandbox.Timedout') this.counters.timeouts++;
      }
      return { ...result, durationMs: performance.now() - started };
    } finally {
      this.counters.busy--;
      this.release(slot);
    }
  }

  stats(): FunctionStats {
    const { invocations, coldStarts, errors, timeouts, busy } = this.counters;
    return {
      name: this.fn.name,
      arn: this.fn.arn,
      workers: this.all.size,
      busy,
      queued: this.waiters.length,
      invocations,
      coldStarts,
      errors,
      timeouts,
      ...(this.lastInitMs === undefined ? {} : { lastInitMs: this.lastInitMs }),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter('spawn');
    await Promise.all([...this.all].map((environment) => environment.kill()));
    await new Promise<void>((resolveEnd) => this.log.end(resolveEnd));
  }
}

/** The environment Lambda gives a function, pointed at the local servers (no X-Ray daemon, no credentials chain). */
export function functionEnvironment(
  fn: LocalFunctionDefinition,
  template: LocalTemplate,
  endpoints: LocalEndpoints,
  overrides?: Readonly<Record<string, string>>,
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    ...fn.environment,
    ...sdkEnvironment(endpoints, template.region),
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroupName,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    _HANDLER: fn.handler,
    // Tracing has no daemon locally: Powertools Tracer becomes a no-op and the X-Ray SDK stays quiet.
    POWERTOOLS_TRACE_ENABLED: 'false',
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    // Manual mode: the X-Ray SDK then creates no cls-hooked namespace at import, whose async hook (with destroy
    // tracking) otherwise taxes every promise of every invocation for traces nobody collects here.
    AWS_XRAY_MANUAL_MODE: 'true',
    ...overrides,
  };
}

/** Runs `task` over `items` with at most `limit` in flight; results keep the items' order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) results[i] = await task(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Starts the runtime for every function of the template (workers lazily, or one each when `eager`). */
export async function startLambdaRuntime(options: LambdaRuntimeOptions): Promise<LambdaRuntime> {
  const { template, endpoints, dataDir } = options;
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const definitions = functionDefinitions(template);
  const initTimeoutMs = localInitTimeoutMs(options.initTimeoutMs);
  const warmConcurrency = Math.max(1, Math.floor(options.warmConcurrency ?? DEFAULT_WARM_CONCURRENCY));
  const compileCacheDir =
    options.compileCacheDir === false ? undefined : (options.compileCacheDir ?? join(dataDir, 'cache', 'compile'));
  const pools = new Map<string, FunctionPool>();
  const byKey = new Map<string, FunctionPool>();
  for (const fn of definitions) {
    const overrides =
      typeof options.environmentOverrides === 'function'
        ? options.environmentOverrides(fn)
        : options.environmentOverrides;
    const max = Math.max(
      1,
      Math.min(options.maxConcurrencyPerFunction ?? 4, fn.reservedConcurrency ?? Number.POSITIVE_INFINITY),
    );
    const pool = new FunctionPool(
      fn,
      functionEnvironment(fn, template, endpoints, overrides),
      join(logDir, `${fn.name.replaceAll(/[^A-Za-z0-9._-]/g, '_')}.log`),
      max,
      options.maxQueuedPerFunction ?? 1000,
      initTimeoutMs,
      compileCacheDir,
    );
    pools.set(fn.name, pool);
    for (const key of [fn.name, fn.arn, fn.logicalId]) byKey.set(key, pool);
  }

  const poolOf = (target: string): FunctionPool | undefined =>
    byKey.get(target) ?? byKey.get(functionNameOf(target)) ?? pools.get(template.byArn(target)?.ref ?? '');

  const mustPool = (target: string): FunctionPool => {
    const pool = poolOf(target);
    if (!pool) {
      throw new FunctionNotFoundError(
        `Function not found: ${target} (the template has ${[...pools.keys()].join(', ') || 'no functions'})`,
      );
    }
    return pool;
  };

  const runtime: LambdaRuntime = {
    functions: definitions,
    resolve: (target) => poolOf(target)?.fn,
    invoke: async (target, event) => mustPool(target).invoke(event),
    timeoutSeconds: (target) => poolOf(target)?.fn.timeoutSeconds,
    warm: async (targets, environments) => {
      const chosen = [...new Set(targets ? targets.map(mustPool) : pools.values())];
      const outcomes = await mapLimited(chosen, warmConcurrency, async (pool) => ({
        pool,
        outcome: await pool.warm(environments),
      }));
      const failed = outcomes.filter((o) => !o.outcome.ok);
      if (failed.length > 0) {
        const lines = failed.map(({ pool, outcome }) => {
          const r = outcome.ok ? undefined : outcome.result;
          return `${pool.fn.name}: ${r && !r.ok ? `${r.errorType}: ${r.errorMessage}` : 'unknown'} (log: ${pool.logPath})`;
        });
        const timedOut = failed.some(
          ({ outcome }) =>
            !outcome.ok && outcome.result.ok === false && outcome.result.errorType === 'Runtime.InitTimeout',
        );
        const hint = timedOut
          ? `\n  (load average ${loadavg()
              .map((l) => l.toFixed(1))
              .join(' ')} on this machine; a busy machine needs ` +
            `a longer limit: initTimeoutMs or AIMS_LAMBDA_INIT_TIMEOUT_MS, now ${initTimeoutMs} ms)`
          : '';
        throw new Error(
          `${failed.length} of ${chosen.length} functions failed to initialise:\n  ${lines.join('\n  ')}${hint}`,
        );
      }
    },
    stats: () => [...pools.values()].map((pool) => pool.stats()),
    logFile: (target) => mustPool(target).logPath,
    close: async () => {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
    },
  };
  if (options.eager) {
    try {
      await runtime.warm();
    } catch (error) {
      await runtime.close();
      throw error;
    }
  }
  return runtime;
}
