// `aims models list | retrain | approve | rollback` and `aims drift status`: thin calls to the admin routes
// (/v1/models…, operator client), with `retrain --wait` polling the model until its retraining run ends.
import cliProgress from 'cli-progress';
import type { Context } from '../context.js';
import { ApiError, CliError } from '../errors.js';
import type { HttpResponse } from '../http.js';
import { describe, type Output, show, table } from '../output.js';
import { DEFAULT_CLIENTS } from './basic.js';

/** The retraining workflow's steps in order (the state machine's task names, as the models API reports them). */
export const RETRAINING_STEPS = [
  'coordinate',
  'dataset',
  'train',
  'evaluate',
  'gate',
  'register',
  'approve',
  'deploy',
  'rebaseline',
] as const;
const DONE = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/** Calls a models route; a missing route (the stage predates the models API) becomes a clear error. */
async function modelsApi(ctx: Context, method: 'GET' | 'POST', path: string, json?: unknown): Promise<HttpResponse> {
  try {
    return await ctx.api(method, path, DEFAULT_CLIENTS.admin, json);
  } catch (error) {
    if (error instanceof ApiError && error.noRoute && (error.status === 404 || error.status === 403)) {
      throw new CliError(
        `this stage has no models API yet (${error.status} for ${method} ${path} at ${ctx.url}): ` +
          'update the stage (redeploy, or restart `npm start` after pulling) once the models service is in it',
        1,
        { ...error.info, code: 'no_models_api' },
      );
    }
    throw error;
  }
}

const seg = (s: string) => encodeURIComponent(s);

function asRecords(value: unknown): Record<string, unknown>[] | undefined {
  const list = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null && Array.isArray((value as { models?: unknown }).models)
      ? (value as { models: unknown[] }).models
      : undefined;
  return list?.every((x) => typeof x === 'object' && x !== null) ? (list as Record<string, unknown>[]) : undefined;
}

export async function modelsListCommand(ctx: Context, out: Output): Promise<void> {
  const { body } = await modelsApi(ctx, 'GET', '/v1/models');
  if (ctx.json) {
    out.json(body);
    return;
  }
  const models = asRecords(body);
  if (!models) {
    out.out(describe(body));
    return;
  }
  if (models.length === 0) {
    out.out('no models registered');
    return;
  }
  // Columns are the fields the API returns (scalars only), name first: the CLI does not fix the route's shape.
  const columns = [...new Set(models.flatMap((m) => Object.keys(m)))].filter((k) =>
    models.every((m) => m[k] === undefined || typeof m[k] !== 'object' || m[k] === null),
  );
  columns.sort((a, b) => (a === 'name' ? -1 : b === 'name' ? 1 : 0));
  out.out(
    table(
      models.map((m) => columns.map((c) => show(m[c]))),
      columns,
    ),
  );
}

export async function modelsApproveCommand(ctx: Context, out: Output, name: string, version: string): Promise<void> {
  const { body } = await modelsApi(ctx, 'POST', `/v1/models/${seg(name)}/versions/${seg(version)}/approve`, {});
  if (ctx.json) out.json(body);
  else out.out(`approved ${name} ${version}\n${describe(body)}`);
}

export async function modelsRollbackCommand(ctx: Context, out: Output, name: string): Promise<void> {
  const { body } = await modelsApi(ctx, 'POST', `/v1/models/${seg(name)}/rollback`, {});
  if (ctx.json) out.json(body);
  else out.out(`rolled back ${name}\n${describe(body)}`);
}

/** The latest assessment in full (scalars, then PSI per feature), then the last `history` windows one line each. */
export async function driftStatusCommand(ctx: Context, out: Output, name: string, history = 6): Promise<void> {
  const { body } = await modelsApi(ctx, 'GET', `/v1/models/${seg(name)}/drift?limit=${Math.floor(history)}`);
  if (ctx.json) {
    out.json(body);
    return;
  }
  const assessments = (body as { assessments?: unknown } | null)?.assessments;
  const windows = Array.isArray(assessments)
    ? assessments.filter((a): a is Record<string, unknown> => typeof a === 'object' && a !== null)
    : [];
  const latest = windows[0];
  if (!latest) {
    out.out(show(body));
    return;
  }
  const features = asFeatureRows(latest);
  const columns = ['windowEnd', 'samples', 'judged', 'drifted', 'maxFeaturePsi', 'scorePsi'];
  const past = table(
    windows.map((w) => columns.map((c) => show(w[c]))),
    columns,
  );
  out.out([describeScalars(latest), features, `last ${windows.length} windows:\n${past}`].filter(Boolean).join('\n\n'));
}

function describeScalars(body: Record<string, unknown>): string {
  return describe(Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v !== 'object' || v === null)));
}

/** Per-feature drift as a table when the answer has a `features` list of objects. */
function asFeatureRows(body: unknown): string | undefined {
  const features = (body as { features?: unknown } | null)?.features;
  if (!Array.isArray(features) || features.length === 0) return undefined;
  const rows = features.filter((f): f is Record<string, unknown> => typeof f === 'object' && f !== null);
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return table(
    rows.map((r) => columns.map((c) => show(r[c]))),
    columns,
  );
}

export interface RetrainOptions {
  readonly reason?: string;
  readonly wait?: boolean;
  /** Seconds to wait at most with --wait. */
  readonly timeout: number;
  /** Seconds between polls. */
  readonly interval: number;
}

interface RunStatus {
  readonly status: string;
  readonly step?: string;
}

/** Finds the run with `executionId` (or the only run reported) anywhere in a model's description. */
export function findRun(body: unknown, executionId: string): RunStatus | undefined {
  const seen = new Set<unknown>();
  let fallback: RunStatus | undefined;
  const visit = (node: unknown): RunStatus | undefined => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return undefined;
    seen.add(node);
    const o = node as Record<string, unknown>;
    const status = typeof o.status === 'string' ? o.status.toUpperCase() : undefined;
    const ids = [o.executionId, o.executionArn, o.execution, o.id].filter((x) => typeof x === 'string');
    const step = [o.step, o.currentStep, o.state, o.stage].find((x): x is string => typeof x === 'string');
    if (status && ids.includes(executionId)) return { status, ...(step ? { step } : {}) };
    if (status && ids.length > 0 && ('executionId' in o || 'executionArn' in o)) {
      fallback ??= { status, ...(step ? { step } : {}) };
    }
    for (const child of Array.isArray(node) ? node : Object.values(o)) {
      const found = visit(child);
      if (found) return found;
    }
    return undefined;
  };
  return visit(body) ?? fallback;
}

export async function modelsRetrainCommand(
  ctx: Context,
  out: Output,
  name: string,
  options: RetrainOptions,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<void> {
  const { body } = await modelsApi(
    ctx,
    'POST',
    `/v1/models/${seg(name)}/retrain`,
    options.reason ? { reason: options.reason } : {},
  );
  const started = body as { executionId?: unknown; executionArn?: unknown };
  const executionId =
    typeof started.executionId === 'string'
      ? started.executionId
      : typeof started.executionArn === 'string'
        ? started.executionArn
        : undefined;
  if (!options.wait || !executionId) {
    if (ctx.json) out.json(body);
    else {
      out.out(`retraining of ${name} started\n${describe(body)}`);
      if (options.wait) out.note('the answer carries no execution id, so there is nothing to wait for');
    }
    return;
  }

  const deadline = Date.now() + options.timeout * 1000;
  const showBar = !ctx.json && !ctx.quiet && process.stderr.isTTY === true;
  const bar = new cliProgress.SingleBar(
    {
      format: `retraining ${name} |{bar}| {step} · {status} · {duration_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  if (showBar) bar.start(RETRAINING_STEPS.length, 0, { step: 'starting', status: 'RUNNING' });
  else out.note(`retraining ${name}: execution ${executionId}; polling every ${options.interval} s`);
  let last: RunStatus | undefined;
  try {
    while (Date.now() < deadline) {
      await sleep(options.interval * 1000);
      const model = await modelsApi(ctx, 'GET', `/v1/models/${seg(name)}`);
      const run = findRun(model.body, executionId);
      if (run && (run.status !== last?.status || run.step !== last?.step)) {
        last = run;
        const index = run.step ? RETRAINING_STEPS.findIndex((s) => run.step?.toLowerCase().includes(s)) : -1;
        if (showBar) bar.update(index >= 0 ? index + 1 : bar.getProgress() * RETRAINING_STEPS.length, { ...run });
        else out.note(`  ${run.status}${run.step ? ` · ${run.step}` : ''}`);
      }
      if (run && DONE.has(run.status)) {
        if (showBar) {
          if (run.status === 'SUCCEEDED') bar.update(RETRAINING_STEPS.length);
          bar.stop();
        }
        if (ctx.json) out.json({ ...(body as object), final: run, model: model.body });
        else out.out(`retraining of ${name} ${run.status.toLowerCase()}\n${describe(model.body)}`);
        if (run.status !== 'SUCCEEDED') {
          throw new CliError(`retraining of ${name} ended ${run.status} (execution ${executionId})`, 1, {
            code: 'retraining_failed',
            status: run.status,
          });
        }
        return;
      }
    }
  } finally {
    if (showBar) bar.stop();
  }
  throw new CliError(
    `retraining of ${name} still ${last?.status ?? 'RUNNING'} after ${options.timeout} s (execution ${executionId}); ` +
      'it keeps running: check again with `aims models list`, or wait longer with --timeout',
    1,
    { code: 'timeout', executionId },
  );
}
