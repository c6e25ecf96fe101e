// Real-time inference shared by the routes that serve a model (POST /v1/score, POST /v1/models/{name}/predict): the
// ports, the resilience policy around the model call, explanation by occlusion with the baseline as fallback, and the
// hashes an audit record carries. Pure apart from its ports; generic over any model module.
import { createHash } from 'node:crypto';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  type IPolicy,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import type { Attribution, ModelRef } from '../../models/shared/contracts/decision.js';
import type { AnyModelModule } from '../../models/shared/module.js';

/** Port: the online state of every entity the model keys by the request (e.g. customer, merchant), by entity kind;
 *  the entity's empty state when it was never seen. */
export interface FeatureReader {
  read(request: unknown): Promise<Record<string, unknown>>;
}

/** Port: the model endpoint. One call scores every row; `signal` aborts it when the timeout fires. */
export interface ModelEndpoint {
  invoke(
    rows: readonly (readonly number[])[],
    options: { inferenceId: string; signal: AbortSignal },
  ): Promise<{ scores: number[]; model: ModelRef }>;
}

export type FallbackReason = 'timeout' | 'circuit_open' | 'error';

/** Told about failures that do not change the answer (the baseline fallback), for logs and metrics. */
export interface InferenceObserver {
  fallback?(reason: FallbackReason, error: unknown): void;
}

/** What one explained inference needs: the endpoint, the policy around it (built once per process) and an observer. */
export interface InferencePorts {
  readonly model: ModelEndpoint;
  /** Built once per process with `createModelPolicy`: the breaker's state must outlive one invocation. */
  readonly modelPolicy: IPolicy;
  readonly observer?: InferenceObserver;
}

export interface ModelPolicyOptions {
  readonly timeoutMs: number;
  /** Consecutive failures that open the circuit. @default 5 */
  readonly breakAfter?: number;
  /** How long the circuit stays open before one trial call (half-open). @default 10_000 */
  readonly halfOpenAfterMs?: number;
}

/**
 * The resilience policy around the model call: a circuit breaker outside an aggressive timeout, so a timed-out call
 * counts as a failure and an open circuit fails fast without waiting.
 */
export function createModelPolicy(options: ModelPolicyOptions) {
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: options.halfOpenAfterMs ?? 10_000,
    breaker: new ConsecutiveBreaker(options.breakAfter ?? 5),
  });
  const policy = wrap(breaker, timeout(options.timeoutMs, TimeoutStrategy.Aggressive));
  return { policy, breaker, isOpen: () => breaker.state === CircuitState.Open };
}

/**
 * Throws when a module cannot be explained (read at cold start, so a bad deploy fails loudly): an explanation
 * reference without a finite value per feature.
 */
export function validateExplanation(module: AnyModelModule): void {
  module.features.names.forEach((name, i) => {
    if (!Number.isFinite(module.explanation.reference[i])) {
      throw new Error(`the explanation reference of ${module.name} has no finite value for '${name}'`);
    }
  });
}

/**
 * The model's rows for occlusion: row 0 is the request, row i+1 has feature i replaced by its baseline.
 * One batched call scores them all.
 */
export function occlusionRows(vector: readonly number[], baseline: readonly number[]): number[][] {
  const rows: number[][] = [[...vector]];
  vector.forEach((_, i) => {
    const row = [...vector];
    row[i] = baseline[i] as number;
    rows.push(row);
  });
  return rows;
}

/**
 * Attributions from occlusion scores: contribution of feature i = score(x) − score(x with i at baseline).
 * Features equal to their baseline (contribution exactly 0) are left out; ties keep feature order.
 */
export function topAttributions(
  names: readonly string[],
  original: number,
  occluded: readonly number[],
  k: number,
): Attribution[] {
  return (
    names
      // Rounded before ranking so float noise (0.5 − 0.8 vs 0.5 − 0.2) cannot break a tie.
      .map((feature, i) => ({ feature, contribution: round(original - (occluded[i] as number)), i }))
      .filter((a) => a.contribution !== 0 && Number.isFinite(a.contribution))
      .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.i - b.i)
      .slice(0, k)
      .map(({ feature, contribution }) => ({ feature, contribution }))
  );
}

/** sha256 of the vector as little-endian Float32: what the model was sent, independent of JSON formatting. */
export function featureHash(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => {
    bytes.writeFloatLE(v, i * 4);
  });
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of the request with keys sorted, so key order or whitespace never makes a retry look different. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const round = (x: number, digits = 6) => Number(x.toFixed(digits));

export function fallbackReason(error: unknown): FallbackReason {
  if (error instanceof BrokenCircuitError) return 'circuit_open';
  if (error instanceof TaskCancelledError) return 'timeout';
  return 'error';
}

/** One explained score: the model's, or the baseline's when the model could not answer (`degraded`). */
export interface Explained {
  readonly score: number;
  readonly degraded: boolean;
  readonly model: ModelRef;
  readonly explanation: Attribution[];
}

export interface ExplainOptions {
  readonly module: AnyModelModule;
  /** The model's name when the endpoint does not report one. */
  readonly modelName: string;
  /** Passed to the endpoint (SageMaker `InferenceId`: Model Monitor joins ground truth by it). */
  readonly inferenceId: string;
  /** Attributions returned. */
  readonly topK: number;
}

/**
 * Scores `vector` (computed from `request`) with the model under the resilience policy and explains it by occlusion in
 * the same batched call; when the model fails, times out or its circuit is open, the module's baseline scores and is
 * explained by the same occlusion (pure, so it costs no call) and the answer is marked degraded.
 */
export async function explainedScore(
  request: unknown,
  vector: readonly number[],
  ports: InferencePorts,
  options: ExplainOptions,
): Promise<Explained> {
  const { module, topK } = options;
  const rows = occlusionRows(vector, module.explanation.reference);
  try {
    const out = await ports.modelPolicy.execute(({ signal }) =>
      ports.model.invoke(rows, { inferenceId: options.inferenceId, signal }),
    );
    if (out.scores.length !== rows.length) {
      throw new Error(`model returned ${out.scores.length} scores for ${rows.length} rows`);
    }
    const [original, ...occluded] = out.scores as [number, ...number[]];
    return {
      score: original,
      degraded: false,
      model: { name: out.model.name || options.modelName, version: out.model.version },
      explanation: topAttributions(module.features.names, original, occluded, topK),
    };
  } catch (error) {
    ports.observer?.fallback?.(fallbackReason(error), error);
    const [original, ...occluded] = rows.map((row) => module.baseline.score(row, request).score) as [
      number,
      ...number[],
    ];
    return {
      score: original,
      degraded: true,
      model: module.baseline.model,
      explanation: topAttributions(module.features.names, original, occluded, topK),
    };
  }
}
