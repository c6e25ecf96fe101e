// The HTTP API contract: request/response schemas of every route and the route table (scope per route), the single
// source for the handlers, the authorizer and the OpenAPI documents.
import { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import { Attribution, Decision, ModelRef } from './decision.js';
import { Label, Transaction } from './transaction.js';

/** The Cognito resource server identifier; scopes are `<server>/<name>`. */
export const RESOURCE_SERVER = 'aims';

export const SCOPES = {
  score: 'aims/score',
  ingest: 'aims/ingest',
  feedback: 'aims/feedback',
  read: 'aims/read',
  admin: 'aims/admin',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

export const SCOPE_DESCRIPTIONS: Readonly<Record<Scope, string>> = {
  'aims/score': 'score transactions',
  'aims/ingest': 'submit transactions to the stream',
  'aims/feedback': 'report fraud labels',
  'aims/read': 'read decisions',
  'aims/admin': 'administer models',
};

/** Header carrying the usage-plan API key. */
export const API_KEY_HEADER = 'x-api-key';
/** Most transactions one POST /v1/transactions may carry (Kinesis PutRecords takes 500). */
export const MAX_INGEST_BATCH = 500;

const TransactionId = Transaction.shape.transactionId;

// POST /v1/score
export const ScoreRequest = Transaction;
export type ScoreRequest = z.infer<typeof ScoreRequest>;

export const ScoreResponse = z
  .object({
    transactionId: TransactionId,
    decision: Decision,
    /** Fraud probability, 0..1. */
    score: z.number().min(0).max(1),
    /** True when the model was unavailable and the rules scorer decided. */
    degraded: z.boolean(),
    /** Human-readable reasons (the rules that fired; empty when the model decided and nothing stood out). */
    reasons: z.array(z.string()),
    /** Top feature attributions, largest absolute contribution first. */
    explanation: z.array(Attribution),
    model: ModelRef,
    /** Time the scorer spent, in milliseconds. */
    latencyMs: z.number().min(0),
  })
  .strict();
export type ScoreResponse = z.infer<typeof ScoreResponse>;

// POST /v1/transactions
export const IngestRequest = z.object({ transactions: z.array(Transaction).min(1).max(MAX_INGEST_BATCH) }).strict();
export type IngestRequest = z.infer<typeof IngestRequest>;

export const IngestFailure = z
  .object({
    /** Position in the request's `transactions`. */
    index: z.number().int().min(0),
    transactionId: TransactionId,
    code: z.string(),
    message: z.string(),
  })
  .strict();
export type IngestFailure = z.infer<typeof IngestFailure>;

export const IngestResponse = z
  .object({
    accepted: z.number().int().min(0),
    failed: z.array(IngestFailure),
  })
  .strict();
export type IngestResponse = z.infer<typeof IngestResponse>;

// POST /v1/feedback
export const FeedbackRequest = Label;
export type FeedbackRequest = z.input<typeof FeedbackRequest>;

export const FeedbackResponse = z
  .object({
    transactionId: TransactionId,
    isFraud: z.boolean(),
    /** When AIMS stored the label. */
    recordedAt: z.iso.datetime({ offset: true }),
  })
  .strict();
export type FeedbackResponse = z.infer<typeof FeedbackResponse>;

// GET /v1/decisions/{id}
export const DecisionPathParams = z.object({ id: TransactionId }).strict();

/** The audit record: everything needed to explain and replay a decision. Also the decisions table item. */
export const DecisionRecord = z
  .object({
    transactionId: TransactionId,
    /** Top-level for the `byCustomer` index. */
    customerId: Transaction.shape.customerId,
    transaction: Transaction,
    decision: Decision,
    score: z.number().min(0).max(1),
    degraded: z.boolean(),
    reasons: z.array(z.string()),
    explanation: z.array(Attribution),
    model: ModelRef,
    /** Model input by feature name. */
    features: z.record(z.string(), z.number()),
    /** sha256 (hex) of the feature vector as Float32 little-endian bytes: what the model saw, bit for bit. */
    featureHash: z.string().regex(/^[0-9a-f]{64}$/),
    /** sha256 (hex) of the canonical request: a retry with another body under the same id is a conflict. */
    requestHash: z.string().regex(/^[0-9a-f]{64}$/),
    latencyMs: z.number().min(0),
    decidedAt: z.iso.datetime({ offset: true }),
    /** Epoch seconds after which the record is deleted (DynamoDB TTL). */
    expiresAt: z.number().int(),
  })
  .strict();
export type DecisionRecord = z.infer<typeof DecisionRecord>;

// GET /v1/health
export const HealthResponse = z
  .object({
    status: z.literal('ok'),
    service: z.string(),
    version: z.string(),
  })
  .strict();
export type HealthResponse = z.infer<typeof HealthResponse>;

/** One route of the API. */
export interface RouteDefinition {
  readonly operationId: string;
  readonly method: 'get' | 'post';
  /** OpenAPI path template, e.g. `/v1/decisions/{id}` (also API Gateway's resource path). */
  readonly path: string;
  /** The scope a token needs; null = public (no token). */
  readonly scope: Scope | null;
  /** Which `lambdas/<service>` serves it. */
  readonly service: 'score' | 'ingest' | 'feedback' | 'decisions' | 'health';
  readonly summary: string;
  readonly description: string;
  readonly tag: string;
  readonly body?: z.ZodType;
  readonly params?: z.ZodObject;
  readonly response: z.ZodType;
  readonly successStatus: number;
  /** Error responses besides the ones every route has (500; 401/403/429 for secured routes). */
  readonly errors: readonly ErrorCode[];
}

export const ROUTES = [
  {
    operationId: 'scoreTransaction',
    method: 'post',
    path: '/v1/score',
    scope: SCOPES.score,
    service: 'score',
    tag: 'scoring',
    summary: 'Score a transaction',
    description:
      'Scores the transaction, decides approve / review / decline, explains and audits the decision. ' +
      'Idempotent per transactionId: a retry with the same body returns the same decision; another body is a 409.',
    body: ScoreRequest,
    response: ScoreResponse,
    successStatus: 200,
    errors: ['validation_error', 'conflict', 'payload_too_large', 'upstream_unavailable'],
  },
  {
    operationId: 'submitTransactions',
    method: 'post',
    path: '/v1/transactions',
    scope: SCOPES.ingest,
    service: 'ingest',
    tag: 'ingest',
    summary: 'Submit transactions to the feature stream',
    description: `Puts up to ${MAX_INGEST_BATCH} transactions on the stream; the response lists the ones that failed.`,
    body: IngestRequest,
    response: IngestResponse,
    successStatus: 200,
    errors: ['validation_error', 'payload_too_large', 'upstream_unavailable'],
  },
  {
    operationId: 'reportLabel',
    method: 'post',
    path: '/v1/feedback',
    scope: SCOPES.feedback,
    service: 'feedback',
    tag: 'feedback',
    summary: 'Report whether a transaction was fraud',
    description: 'Stores the label and writes it as ground truth for model monitoring.',
    body: FeedbackRequest,
    response: FeedbackResponse,
    successStatus: 200,
    errors: ['validation_error', 'payload_too_large', 'upstream_unavailable'],
  },
  {
    operationId: 'getDecision',
    method: 'get',
    path: '/v1/decisions/{id}',
    scope: SCOPES.read,
    service: 'decisions',
    tag: 'decisions',
    summary: 'Read the audit record of a decision',
    description: 'Returns the audit record of the transaction; 404 when there is none or it has expired.',
    params: DecisionPathParams,
    response: DecisionRecord,
    successStatus: 200,
    errors: ['validation_error', 'not_found'],
  },
  {
    operationId: 'getHealth',
    method: 'get',
    path: '/v1/health',
    scope: null,
    service: 'health',
    tag: 'operations',
    summary: 'Liveness',
    description: 'Says the API is up; needs no token.',
    response: HealthResponse,
    successStatus: 200,
    errors: [],
  },
] as const satisfies readonly RouteDefinition[];

export type Route = (typeof ROUTES)[number];

/** The route for an API Gateway method and resource template (e.g. `GET`, `/v1/decisions/{id}`), if any. */
export function findRoute(method: string, resourcePath: string): RouteDefinition | undefined {
  const m = method.toLowerCase();
  return (ROUTES as readonly RouteDefinition[]).find((r) => r.method === m && r.path === resourcePath);
}

/** The route matching a concrete path (e.g. `/v1/decisions/t-1`), templates matching one segment per parameter. */
export function matchRoute(method: string, path: string): RouteDefinition | undefined {
  const m = method.toLowerCase();
  return (ROUTES as readonly RouteDefinition[]).find((r) => r.method === m && templateRegExp(r.path).test(path));
}

function templateRegExp(template: string): RegExp {
  const pattern = template
    .split('/')
    .map((segment) => (/^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}/?$`);
}
