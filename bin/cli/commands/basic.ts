// `aims token`, `aims health`, `aims score` and `aims decisions get`: the scoring path seen from an operator's shell.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Transaction } from '../../../models/shared/contracts/transaction.js';
import type { Context } from '../context.js';
import { ApiError, CliError, UsageError } from '../errors.js';
import { keyValues, type Output, show, signed, table } from '../output.js';

export const DEFAULT_CLIENTS = {
  token: 'merchant-gateway',
  score: 'merchant-gateway',
  read: 'analyst-console',
  admin: 'operator',
} as const;

export interface TokenOptions {
  readonly scope?: readonly string[];
}

export async function tokenCommand(ctx: Context, out: Output, options: TokenOptions): Promise<void> {
  const credentials = await ctx.credentials(DEFAULT_CLIENTS.token);
  const scopes = (options.scope ?? []).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
  const minted = await ctx.mint(credentials, scopes);
  if (ctx.json) {
    out.json({
      token: minted.token,
      expires_in: minted.expiresIn,
      scope: minted.scope,
      client: minted.client,
      tokenUrl: minted.tokenUrl,
    });
    return;
  }
  // The token alone on stdout so `TOKEN=$(npx aims token)` works; the rest is a note on stderr.
  out.out(minted.token);
  out.note(
    `client ${minted.client} · scope ${minted.scope || '—'} · expires in ${minted.expiresIn} s · the token is the one credential`,
  );
}

const HealthBody = z.object({ status: z.string(), service: z.string().optional(), version: z.string().optional() });

export async function healthCommand(ctx: Context, out: Output): Promise<void> {
  const response = await ctx.api('GET', '/v1/health', null);
  const body = HealthBody.safeParse(response.body);
  if (!body.success) throw new CliError(`${ctx.url}/v1/health answered 200 with an unexpected body`);
  if (ctx.json) {
    out.json({ ...body.data, url: ctx.url, latencyMs: round(response.elapsedMs) });
    return;
  }
  out.out(
    `${body.data.status} — ${body.data.service ?? 'aims'} ${body.data.version ?? ''} at ${ctx.url} (${round(response.elapsedMs)} ms)`.replace(
      /\s+\(/,
      ' (',
    ),
  );
}

export interface ScoreOptions {
  readonly file?: string;
  readonly id?: string;
  readonly customer?: string;
  readonly merchant?: string;
  readonly amount?: number;
  readonly currency?: string;
  readonly country?: string;
  readonly category?: string;
  readonly channel?: string;
  readonly device?: string;
  readonly timestamp?: string;
}

/** The transaction to score: the file's (if any), with flags overriding it and id/timestamp defaulted. */
export function buildTransaction(
  options: ScoreOptions,
  readStdin: () => string = () => readFileSync(0, 'utf8'),
): Transaction {
  let base: Record<string, unknown> = {};
  if (options.file !== undefined) {
    let text: string;
    try {
      text = options.file === '-' ? readStdin() : readFileSync(options.file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --file ${options.file}: ${(error as Error).message}`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      base = parsed as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`--file ${options.file} is not a JSON transaction object: ${(error as Error).message}`);
    }
  } else {
    const missing = (['customer', 'merchant', 'amount', 'category'] as const).filter((k) => options[k] === undefined);
    if (missing.length > 0) {
      throw new UsageError(
        `score needs ${missing.map((m) => `--${m}`).join(', ')} (or --file tx.json); see \`aims score --help\``,
      );
    }
    base = { currency: 'EUR', country: 'DE', channel: 'card_present' };
  }
  const flags: Record<string, unknown> = {
    transactionId: options.id,
    customerId: options.customer,
    merchantId: options.merchant,
    merchantCategory: options.category,
    amount: options.amount,
    currency: options.currency?.toUpperCase(),
    country: options.country?.toUpperCase(),
    channel: options.channel,
    deviceId: options.device,
    timestamp: options.timestamp,
  };
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) merged[k] = v;
  merged.transactionId ??= `cli-${randomUUID()}`;
  merged.timestamp ??= new Date().toISOString();
  const parsed = Transaction.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(transaction)'}: ${i.message}`);
    throw new UsageError(`the transaction is not valid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

interface Explained {
  readonly decision?: unknown;
  readonly score?: unknown;
  readonly degraded?: unknown;
  readonly reasons?: unknown;
  readonly explanation?: unknown;
  readonly model?: unknown;
  readonly latencyMs?: unknown;
}

function explanationRows(value: unknown, top: number): string[][] {
  if (!Array.isArray(value)) return [];
  return value
    .slice(0, top)
    .map((a: { feature?: unknown; contribution?: unknown }) => [
      show(a.feature),
      typeof a.contribution === 'number' ? signed(a.contribution) : show(a.contribution),
    ]);
}

function modelName(model: unknown): string {
  if (typeof model !== 'object' || model === null) return show(model);
  const { name, version } = model as { name?: unknown; version?: unknown };
  return `${show(name)} ${show(version)}`;
}

function decisionBlock(r: Explained, extra: readonly (readonly [string, string])[], top: number): string {
  const reasons = Array.isArray(r.reasons) ? (r.reasons as unknown[]).map(show) : [];
  const pairs: (readonly [string, string])[] = [
    ['decision', show(r.decision)],
    ['score', typeof r.score === 'number' ? r.score.toFixed(4) : show(r.score)],
    ['degraded', r.degraded === true ? 'yes (the model was unavailable; the rules decided)' : 'no'],
    ['model', modelName(r.model)],
    ...extra,
    ['reasons', reasons.length > 0 ? (reasons[0] as string) : '—'],
    ...reasons.slice(1).map((reason) => ['', reason] as const),
  ];
  const rows = explanationRows(r.explanation, top);
  const explanation = rows.length > 0 ? `\n\ntop explanation\n${table(rows, ['feature', 'contribution'])}` : '';
  return `${keyValues(pairs)}${explanation}`;
}

export async function scoreCommand(ctx: Context, out: Output, options: ScoreOptions & { top: number }): Promise<void> {
  const transaction = buildTransaction(options);
  const response = await ctx.api('POST', '/v1/score', DEFAULT_CLIENTS.score, transaction);
  const body = response.body as Explained & { transactionId?: unknown };
  if (ctx.json) {
    out.json(body);
    return;
  }
  out.out(
    decisionBlock(
      body,
      [
        ['transaction', show(body.transactionId)],
        ['latency', `${show(body.latencyMs)} ms in the scorer, ${round(response.elapsedMs)} ms round trip`],
      ],
      options.top,
    ),
  );
}

export async function decisionsGetCommand(
  ctx: Context,
  out: Output,
  transactionId: string,
  options: { top: number },
): Promise<void> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(transactionId)) {
    throw new UsageError(`'${transactionId}' is not a transaction id (1-64 of A-Z a-z 0-9 _ -)`);
  }
  let body: Explained & Record<string, unknown>;
  try {
    body = (await ctx.api('GET', `/v1/decisions/${encodeURIComponent(transactionId)}`, DEFAULT_CLIENTS.read))
      .body as Explained & Record<string, unknown>;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && !error.noRoute) {
      throw new CliError(
        `no decision recorded for transaction '${transactionId}': it was never scored on this stage, or its audit record expired` +
          (error.requestId ? ` (requestId ${error.requestId})` : ''),
        1,
        { ...error.info },
      );
    }
    throw error;
  }
  if (ctx.json) {
    out.json(body);
    return;
  }
  const tx = (body.transaction ?? {}) as Record<string, unknown>;
  out.out(
    decisionBlock(
      body,
      [
        ['transaction', show(body.transactionId)],
        [
          'details',
          `${String(tx.amount)} ${show(tx.currency)} at ${show(tx.merchantId)} (${show(tx.merchantCategory)}), ` +
            `customer ${show(tx.customerId)}, ${show(tx.country)}, ${show(tx.channel)}`,
        ],
        ['occurred', show(tx.timestamp)],
        ['decided', show(body.decidedAt)],
        ['features', show(body.featureHash)],
      ],
      options.top,
    ),
  );
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
