// The invoker the local services get before the Lambda runtime exists. The bus starts first (the runtime's functions
// call it) and resumes the deliveries a previous run journaled at once: they wait here for the runtime instead of
// failing, so a restart never spends a target's retries — or dead-letters an event — on its own start order.
import type { LocalLifecycle } from './lifecycle/index.js';
import type { FunctionInvoker, InvokeResult } from './types.js';

/** Step Functions executions are started by the lifecycle; the rest are Lambda functions the runtime runs. */
type Lifecycle = Pick<LocalLifecycle, 'startExecution'>;

/** A promise settled from outside (ES2023 has no Promise.withResolvers); its rejection is for waiters only. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (reason: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // nobody may be waiting when the stage stops
  return { promise, resolve, reject };
}

/** `promise`, or a rejection as soon as `signal` aborts (the caller gave up waiting). */
function until<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new Error('stopped waiting for the local runtime'));
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(new Error('stopped waiting for the local runtime'));
    signal.addEventListener('abort', stop, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

export class DeferredInvoker implements FunctionInvoker {
  private runtime: FunctionInvoker | undefined;
  private lifecycle: Lifecycle | undefined;
  private readonly runtimeReady = deferred<FunctionInvoker>();
  private readonly lifecycleReady = deferred<Lifecycle>();

  /** The Lambda runtime has started: invocations waiting for it go ahead. */
  setRuntime(runtime: FunctionInvoker): void {
    this.runtime = runtime;
    this.runtimeReady.resolve(runtime);
  }

  /** The local Step Functions have started: executions waiting for them start. */
  setLifecycle(lifecycle: Lifecycle): void {
    this.lifecycle = lifecycle;
    this.lifecycleReady.resolve(lifecycle);
  }

  /** The stage stops before what is waited for started: every waiting invocation fails with `reason`. */
  abandon(reason: Error): void {
    this.runtimeReady.reject(reason);
    this.lifecycleReady.reject(reason);
  }

  async invoke(target: string, event: unknown, signal?: AbortSignal): Promise<InvokeResult> {
    if (target.startsWith('arn:aws:states:')) {
      const lifecycle = this.lifecycle ?? (await until(this.lifecycleReady.promise, signal));
      const started = Date.now();
      const execution = lifecycle.startExecution(target, event);
      return { ok: true, payload: { executionArn: execution.executionArn }, durationMs: Date.now() - started };
    }
    const runtime = this.runtime ?? (await until(this.runtimeReady.promise, signal));
    return runtime.invoke(target, event, signal);
  }

  /** The function's timeout, which the bus waits at least before retrying it (undefined until the runtime runs). */
  timeoutSeconds(target: string): number | undefined {
    return this.runtime?.timeoutSeconds?.(target);
  }
}
