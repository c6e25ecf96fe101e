// Scale to zero on the local stage, as the template's idle setting says (the `scale-to-zero` alarm of an endpoint's
// inference component: no invocation for N minutes sets 0 copies): an endpoint idle that long stops its model server
// and says so; the next InvokeEndpoint finds no capacity and fails as on AWS (callers answer with their baseline),
// which starts the server again — about a second here, minutes on AWS (docs/decisions/0005-idle-endpoints.md).
import type { ProxyRefusal } from './endpoint-proxy.js';

export interface Clock {
  now(): number;
}

export interface IdleScalerOptions {
  readonly model: string;
  /** Milliseconds without an invocation before the endpoint scales to zero. */
  readonly afterMs: number;
  /** @default the wall clock */
  readonly clock?: Clock;
  /** How often the idle check runs by itself; 0: only when `check()` is called (tests with their own clock).
   *  @default a quarter of afterMs, at most a minute */
  readonly checkEveryMs?: number;
  /** Stops / starts the endpoint's serving model server. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** True while a deployment runs: the endpoint does not scale in then. */
  busy(): boolean;
  readonly log: (line: string) => void;
}

export type IdleState = 'serving' | 'scaled-to-zero' | 'scaling-out';

/** SageMaker's answer while an inference component has no copy (NoCapacityInvocationFailures counts it). */
export const NO_CAPACITY: ProxyRefusal = {
  status: 400,
  errorType: 'ValidationError',
  message:
    'Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress ' +
    '(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API.',
};

export class IdleScaler {
  private readonly clock: Clock;
  private lastInvocation: number;
  private current: IdleState = 'serving';
  private scalingOut: Promise<void> | undefined;
  private checking: Promise<boolean> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: IdleScalerOptions) {
    if (!(options.afterMs > 0)) throw new Error(`afterMs must be positive, got ${options.afterMs}`);
    this.clock = options.clock ?? Date;
    this.lastInvocation = this.clock.now();
    const every = options.checkEveryMs ?? Math.min(options.afterMs / 4, 60_000);
    if (every > 0) {
      this.timer = setInterval(() => void this.check(), every);
      this.timer.unref();
    }
  }

  get afterMinutes(): number {
    return this.options.afterMs / 60_000;
  }

  get state(): IdleState {
    return this.current;
  }

  /** Asked before every invocation: undefined lets it through; a refusal answers it while there is no capacity. */
  admit(): ProxyRefusal | undefined {
    this.lastInvocation = this.clock.now();
    if (this.current === 'serving') return undefined;
    if (this.current === 'scaled-to-zero') this.scaleOut();
    return NO_CAPACITY;
  }

  /** Scales to zero when idle long enough (and no deployment runs); resolves whether it did. */
  check(): Promise<boolean> {
    this.checking ??= (async () => {
      const idleMs = this.clock.now() - this.lastInvocation;
      if (this.current !== 'serving' || idleMs < this.options.afterMs || this.options.busy()) return false;
      this.current = 'scaled-to-zero';
      await this.options.stop();
      this.options.log(`  ${this.options.model}: scaled to zero after ${Math.round(idleMs / 60_000)} min idle`);
      return true;
    })().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /** Brings a scaled-in endpoint back without failing a request (the operator's tools: seeding, drift traffic), as
   *  UpdateInferenceComponentRuntimeConfig would on AWS; resolves once it serves. */
  async wake(): Promise<void> {
    await this.checking;
    this.lastInvocation = this.clock.now();
    if (this.current === 'scaled-to-zero') this.scaleOut('woken by the operator: scaling out from zero');
    await this.scalingOut;
  }

  /** Resolves once the endpoint serves again (at once when it never scaled in). */
  async serving(): Promise<void> {
    await this.checking;
    await this.scalingOut;
  }

  private scaleOut(why = 'a request found no capacity: scaling out from zero (it failed, as on AWS)'): void {
    this.current = 'scaling-out';
    const started = Date.now();
    this.options.log(`  ${this.options.model}: ${why}`);
    this.scalingOut = (async () => {
      try {
        await this.checking;
        await this.options.start();
        this.current = 'serving';
        this.lastInvocation = this.clock.now();
        this.options.log(
          `  ${this.options.model}: scaled out from zero in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      } catch (error) {
        // The next request tries again, as the no-capacity alarm would fire again.
        this.current = 'scaled-to-zero';
        this.options.log(`  ${this.options.model}: scaling out from zero failed: ${(error as Error).message}`);
      }
    })();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
