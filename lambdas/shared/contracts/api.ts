// The HTTP API contract: request/response schemas of every route and the route table (scope per route), the single
// source for the handlers, the authorizer and the OpenAPI documents.
import * as z from 'zod';
import { Attribution, Decision, ModelRef } from '../../../models/shared/contracts/decision.js';
import { Label, Transaction } from '../../../models/shared/contracts/transaction.js';
import type { ErrorCode } from '../errors.js';
import {
  AuditTrail,
  DecisionsPage,
  DecisionsQuery,
  LiveStats,
  LiveStatsQuery,
  MAX_DECISIONS_PAGE,
  OverrideRecord,
  OverrideRequest,
  ReviewQueueQuery,
} from './review.js';

/** The Cognito resource server identifier; scopes are `<server>/<name>`. */
export const RESOURCE_SERVER = 'aims';

export const SCOPES = {
  score: 'aims/score',
  ingest: 'aims/ingest',
  feedback: 'aims/feedback',
  read: 'aims/read',
  review: 'aims/review',
  admin: 'aims/admin',
} as const;
/** A fixed scope, or a real-time model's `aims/predict.<model>` (one per served model, see `predictScope`). */
export type Scope = (typeof SCOPES)[keyof typeof SCOPES] | `${typeof RESOURCE_SERVER}/predict.${string}`;

export const SCOPE_DESCRIPTIONS: Readonly<Record<(typeof SCOPES)[keyof typeof SCOPES], string>> = {
  'aims/score': 'score transactions',
  'aims/ingest': 'submit transactions to the stream',
  'aims/feedback': 'report fraud labels',
  'aims/read': 'read decisions, the review queue, live figures and models',
  'aims/review': 'work the review queue: override decisions',
  'aims/admin': 'administer models',
};

/** Most index Queries one page of a decisions list or the review queue makes (bounded reads per request). */
export const DAY_QUERIES_PER_PAGE = 32;
/** Most decisions GET /v1/stats/live counts per request. */
export const LIVE_STATS_MAX_ITEMS = 10_000;

/** Header carrying the usage-plan API key. */
export const API_KEY_HEADER = 'x-api-key';
/** Most transactions one POST /v1/transactions may carry (Kinesis PutRecords takes 500). */
export const MAX_INGEST_BATCH = 500;

const TransactionId = Transaction.shape.transactionId;

// POST /v1/score
export const ScoreRequest = Transaction;
export type ScoreRequest = z.infer<typeof ScoreRequest>;

/** What every model route's answer carries beside its own result: how it was reached and why. */
const AnswerFields = {
  /** True when the model was unavailable and its baseline (the rules scorer) answered. */
  degraded: z.boolean(),
  /** Human-readable reasons from the baseline (the rules that fired; empty when nothing stood out). */
  reasons: z.array(z.string()),
  /** Top feature attributions (occlusion), largest absolute contribution first. */
  explanation: z.array(Attribution),
  /** What scored: the model's name and version, or its baseline's. */
  model: ModelRef,
  /** Time the service spent, in milliseconds. */
  latencyMs: z.number().min(0),
};

export const ScoreResponse = z
  .object({
    transactionId: TransactionId,
    decision: Decision,
    /** Fraud probability, 0..1. */
    score: z.number().min(0).max(1),
    ...AnswerFields,
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

// ---- the models API (admin): registry versions, champion pointer, retraining runs, approval, rollback, drift
/** A model's name as declared by `models/<name>/model.json`. */
export const ModelName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a model name: lower-case letters, digits, -');
/** A registered version: its name (`<model>-<uuid>`, the training job's name) or its package version number. */
export const ModelVersionId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a version name or number');

export const ModelPathParams = z.object({ name: ModelName }).strict();
export const ModelVersionPathParams = z.object({ name: ModelName, version: ModelVersionId }).strict();

/** Body of the models POST routes: an optional reason, recorded with the run, the approval or the rollback. */
export const ModelActionRequest = z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict();
export type ModelActionRequest = z.infer<typeof ModelActionRequest>;

const IsoTime = z.iso.datetime({ offset: true });

/** The registry's approval states (SageMaker ModelApprovalStatus). */
export const ApprovalStatus = z.enum(['Approved', 'Rejected', 'PendingManualApproval']);

export const ModelVersionInfo = z
  .object({
    /** The version name (also the training job's name). */
    version: z.string(),
    /** SageMaker's version number inside the model package group. */
    packageVersion: z.number().int().min(1),
    modelPackageArn: z.string(),
    status: ApprovalStatus,
    createdAt: IsoTime,
    /** `s3://…/models/<name>/versions/<version>/`: what the pointer holds while this version is champion. */
    artifactPrefix: z.string().optional(),
    /** What started the run that produced it (drift, schedule, api). */
    trigger: z.string().optional(),
    /** The challenger's holdout metrics (`metrics.json` model block); null when the file cannot be read. */
    metrics: z.record(z.string(), z.number()).nullable(),
    /** True when the champion pointer holds this version. */
    champion: z.boolean(),
  })
  .strict();
export type ModelVersionInfo = z.infer<typeof ModelVersionInfo>;

export const ChampionInfo = z
  .object({
    /** The SSM pointer's value: `bootstrap` or the artifact prefix of an approved version. */
    pointer: z.string(),
    /** `bootstrap`, or the version name the prefix names. */
    version: z.string(),
    /** The registry's version number, when the pointer names a registered version. */
    packageVersion: z.number().int().min(1).optional(),
  })
  .strict();

/** One retraining run (a Step Functions execution). */
export const RetrainingRun = z
  .object({
    /** The execution's name: what `aims models retrain --wait` polls for. */
    executionId: z.string(),
    executionArn: z.string(),
    /** Step Functions status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE. */
    status: z.string(),
    startedAt: IsoTime,
    stoppedAt: IsoTime.optional(),
    /** The workflow step it is in (or stopped in): coordinate, dataset, train, evaluate, gate, register, approve, deploy, rebaseline. */
    step: z.string().optional(),
    /** The state machine state last entered. */
    state: z.string().optional(),
    trigger: z.string().optional(),
    reason: z.string().optional(),
    error: z.string().optional(),
    cause: z.string().optional(),
  })
  .strict();
export type RetrainingRun = z.infer<typeof RetrainingRun>;

export const PendingApproval = z
  .object({ version: z.string(), modelPackageArn: z.string(), executionArn: z.string() })
  .strict();

export const ModelSummary = z
  .object({
    name: ModelName,
    /** The champion's version (a scalar for tables). */
    championVersion: z.string(),
    champion: ChampionInfo,
    /** How versions that pass the gate are approved in this environment. */
    approval: z.enum(['auto', 'manual']),
    /** Registered versions, newest first. */
    versions: z.array(ModelVersionInfo),
    /** The running retraining run, if any. */
    retraining: RetrainingRun.nullable(),
    /** The version waiting for POST …/approve (manual approval only). */
    pendingApproval: PendingApproval.nullable(),
  })
  .strict();
export type ModelSummary = z.infer<typeof ModelSummary>;

export const ModelList = z.object({ models: z.array(ModelSummary) }).strict();
export type ModelList = z.infer<typeof ModelList>;

export const ModelDetail = ModelSummary.extend({
  /** The latest retraining runs, newest first. */
  executions: z.array(RetrainingRun),
  /** The models stack (CloudFormation) the deploy step and rollback update, and its status. */
  deployment: z.object({ stackName: z.string(), status: z.string() }).strict(),
}).strict();
export type ModelDetail = z.infer<typeof ModelDetail>;

export const RetrainResponse = z
  .object({
    model: ModelName,
    executionId: z.string(),
    executionArn: z.string(),
    status: z.literal('RUNNING'),
    startedAt: IsoTime,
    trigger: z.literal('api'),
  })
  .strict();
export type RetrainResponse = z.infer<typeof RetrainResponse>;

export const ApprovalResponse = z
  .object({
    model: ModelName,
    version: z.string(),
    modelPackageArn: z.string(),
    executionArn: z.string(),
    decision: z.enum(['approved', 'rejected']),
  })
  .strict();
export type ApprovalResponse = z.infer<typeof ApprovalResponse>;

export const RollbackResponse = z
  .object({
    model: ModelName,
    from: ChampionInfo,
    to: ChampionInfo,
    /** The models stack now updating to serve `to` (watch GET /v1/models/{name} `deployment.status`). */
    stackName: z.string(),
    status: z.literal('UPDATE_IN_PROGRESS'),
  })
  .strict();
export type RollbackResponse = z.infer<typeof RollbackResponse>;

/** Key of a model's latest drift assessment in the monitoring bucket (written by the stream drift check). */
export const driftStatusKey = (model: string) => `drift-status/${model}/latest.json`;

/** The stream drift check's latest assessment of one model: PSI per feature of the window vs the champion baseline. */
export const DriftAssessment = z
  .object({
    model: ModelName,
    assessedAt: IsoTime,
    windowStart: IsoTime,
    windowEnd: IsoTime,
    /** Captured rows in the window. */
    samples: z.number().int().min(0),
    /** Rows needed before anything is judged. */
    minSamples: z.number().int().min(0),
    /** False when the window held fewer than minSamples rows. */
    judged: z.boolean(),
    /** True when at least one feature passed its threshold (ModelDriftDetected was published). */
    drifted: z.boolean(),
    /** The default PSI threshold (features may have their own). */
    threshold: z.number(),
    /** PSI of the served score vs the baseline's score distribution. */
    scorePsi: z.number(),
    maxFeaturePsi: z.number(),
    /** The psi-bins.json the window was compared with. */
    baseline: z.string(),
    features: z.array(
      z.object({ name: z.string(), psi: z.number(), threshold: z.number(), drifted: z.boolean() }).strict(),
    ),
  })
  .strict();
export type DriftAssessment = z.infer<typeof DriftAssessment>;

// ---- a batch model's nightly predictions (written by the batch run, read by GET /v1/models/{name}/predictions)
/** A run's UTC day. */
export const PredictionDate = z.iso.date();

/** The lake prefix of a batch model's predictions (a folder per day beneath it). */
export const predictionModelPrefix = (model: string) => `predictions/${model}/`;

/** Where one run's predictions live in the lake bucket: one JSON Lines object and its summary. */
export const predictionKeys = (model: string, date: string) => {
  const prefix = `${predictionModelPrefix(model)}date=${date}/`;
  return { prefix, rows: `${prefix}predictions.jsonl`, summary: `${prefix}summary.json` };
};

/** One prediction of a batch run: its id (e.g. `<merchant>/<date>`), the model's score, the policy's outcome. */
export const BatchPrediction = z
  .object({
    id: z.string().min(1),
    score: z.number().min(0).max(1),
    outcome: z.string().min(1),
    /** The request it scored (the model's request schema). */
    request: z.record(z.string(), z.unknown()),
  })
  .strict();
export type BatchPrediction = z.infer<typeof BatchPrediction>;

/** What one batch run wrote: the counts a person reads first, and where the rows are. */
export const PredictionsSummary = z
  .object({
    model: ModelName,
    /** The champion that scored (its registry version, or `bootstrap`). */
    version: z.string().min(1),
    date: PredictionDate,
    rows: z.number().int().min(0),
    /** Predictions per outcome of the model's policy (every outcome present, zero when none). */
    outcomes: z.record(z.string(), z.number().int().min(0)),
    /** The environment's thresholds the outcomes were decided at. */
    thresholds: z.record(z.string(), z.number()),
    /** `s3://…/predictions.jsonl`. */
    location: z.string().min(1),
    executionArn: z.string().min(1),
    completedAt: IsoTime,
  })
  .strict();
export type PredictionsSummary = z.infer<typeof PredictionsSummary>;

/** Most predictions one page returns. */
export const MAX_PREDICTIONS_PAGE = 1000;

export const PredictionsQuery = z
  .object({
    date: PredictionDate,
    limit: z.coerce.number().int().min(1).max(MAX_PREDICTIONS_PAGE).default(100),
    /** The previous page's `nextToken`. */
    nextToken: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional(),
  })
  .strict();
export type PredictionsQuery = z.infer<typeof PredictionsQuery>;

export const PredictionsPage = z
  .object({
    summary: PredictionsSummary,
    predictions: z.array(BatchPrediction),
    /** Present when more predictions follow: pass it back for the next page. */
    nextToken: z.string().optional(),
  })
  .strict();
export type PredictionsPage = z.infer<typeof PredictionsPage>;
// POST /v1/models/{name}/predict (one literal route per real-time model)
/** The header naming a prediction request: a retry sends the same key and gets the same prediction back. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
const IdempotencyKey = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -');
export const PredictHeaders = z.object({ [IDEMPOTENCY_KEY_HEADER]: IdempotencyKey });

/**
 * The audit id of a prediction: also its key in the decisions table, where it can never equal a transactionId (those
 * have no `#`), so predictions and decisions share the table, its stream and its outbox without colliding.
 */
export const predictionAuditId = (model: string, idempotencyKey: string): string =>
  `prediction#${model}#${idempotencyKey}`;
const AuditId = z.string().regex(/^prediction#[a-z0-9][a-z0-9-]{0,62}#[A-Za-z0-9_-]{1,64}$/);

/** A model's answer as its output policy reads the score. */
export const Prediction = z
  .object({
    /** The model's probability, 0..1. */
    score: z.number().min(0).max(1),
    /** The policy's outcome at this environment's thresholds (a word of the model's own vocabulary, e.g. clear, watch, block-review). */
    outcome: z.string().min(1),
  })
  .strict();

export const PredictResponse = z
  .object({
    /** The audit record's id (the decisions table key). */
    auditId: AuditId,
    prediction: Prediction,
    ...AnswerFields,
  })
  .strict();
export type PredictResponse = z.infer<typeof PredictResponse>;

/** The audit record of a prediction, an item of the decisions table (told apart from decisions by `kind`). */
export const PredictionRecord = PredictResponse.extend({
  /** The table's key: the audit id. */
  transactionId: AuditId,
  kind: z.literal('prediction'),
  /** The model the route serves (`model` is what scored: the baseline when degraded). */
  modelName: ModelName,
  idempotencyKey: IdempotencyKey,
  /** The request as validated by the model's schema. */
  request: z.record(z.string(), z.unknown()),
  /** Model input by feature name. */
  features: z.record(z.string(), z.number()),
  featureHash: z.string().regex(/^[0-9a-f]{64}$/),
  requestHash: z.string().regex(/^[0-9a-f]{64}$/),
  predictedAt: z.iso.datetime({ offset: true }),
  /** Epoch seconds after which the record is deleted (DynamoDB TTL). */
  expiresAt: z.number().int(),
}).strict();
export type PredictionRecord = z.infer<typeof PredictionRecord>;

/** One route of the API. */
export interface RouteDefinition {
  readonly operationId: string;
  readonly method: 'get' | 'post';
  /** OpenAPI path template, e.g. `/v1/decisions/{id}` (also API Gateway's resource path). */
  readonly path: string;
  /** The scope a token needs; null = public (no token). */
  readonly scope: Scope | null;
  /** Which `lambdas/<service>` serves it. */
  readonly service: 'score' | 'ingest' | 'feedback' | 'decisions' | 'review' | 'health' | 'models' | 'predict';
  /** The model a `predict` route serves (each real-time model has its own function). @default - none */
  readonly model?: string;
  readonly summary: string;
  readonly description: string;
  readonly tag: string;
  readonly body?: z.ZodType;
  readonly params?: z.ZodObject;
  /** Query string parameters. @default - none */
  readonly query?: z.ZodObject;
  /** Request headers the route reads (API Gateway validates the required ones). @default - none */
  readonly headers?: z.ZodObject;
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
    operationId: 'listDecisions',
    method: 'get',
    path: '/v1/decisions',
    scope: SCOPES.read,
    service: 'decisions',
    tag: 'decisions',
    summary: 'List decisions, newest first',
    description:
      'Decisions of the time-bucket index (one partition per UTC day), newest first, filtered by decision, model, ' +
      `customerId, from/to (decidedAt) and amount, up to \`limit\` (at most ${MAX_DECISIONS_PAGE}) a page. Filters ` +
      `the index cannot serve are applied to what it reads, and a page reads at most ${DAY_QUERIES_PER_PAGE} ` +
      'index Queries: a page may then hold fewer items than `limit` and still carry a `nextCursor` (keep paging ' +
      'until it is absent). The cursor is opaque: a day and a position in it, validated on the way back in.',
    query: DecisionsQuery,
    response: DecisionsPage,
    successStatus: 200,
    errors: ['validation_error'],
  },
  {
    operationId: 'getReviewQueue',
    method: 'get',
    path: '/v1/review-queue',
    scope: SCOPES.review,
    service: 'decisions',
    tag: 'review',
    summary: 'The review queue: review decisions still pending, newest first',
    description:
      'Review decisions no label and no override has resolved yet, newest first, with the filters and paging of ' +
      `GET /v1/decisions (at most ${DAY_QUERIES_PER_PAGE} index Queries a page). A decision joins the queue when its ` +
      'audit record reaches the outbox (about a second after scoring) and leaves it with the first label or override.',
    query: ReviewQueueQuery,
    response: DecisionsPage,
    successStatus: 200,
    errors: ['validation_error'],
  },
  {
    operationId: 'overrideDecision',
    method: 'post',
    path: '/v1/decisions/{id}/overrides',
    scope: SCOPES.review,
    service: 'review',
    tag: 'review',
    summary: "Override a decision (a person's decision instead of the model's)",
    description:
      'Writes a new audit record pointing at the original decision (never an edit of it), actor = the caller, and ' +
      'publishes DecisionOverridden through the outbox; resolves the review item. 404 for an unknown decision; 409 ' +
      'when `decision` is the decision already in force or another override landed first (read the audit and retry).',
    params: DecisionPathParams,
    body: OverrideRequest,
    response: OverrideRecord,
    successStatus: 201,
    errors: ['validation_error', 'not_found', 'conflict'],
  },
  {
    operationId: 'getDecisionAudit',
    method: 'get',
    path: '/v1/decisions/{id}/audit',
    scope: SCOPES.read,
    service: 'decisions',
    tag: 'decisions',
    summary: "A decision's audit trail: overrides, label, review state",
    description:
      'Every override of the decision (oldest first), its label if one was reported, the review state of a review ' +
      'decision and the decision in force. 404 when there is no such decision or it has expired.',
    params: DecisionPathParams,
    response: AuditTrail,
    successStatus: 200,
    errors: ['validation_error', 'not_found'],
  },
  {
    operationId: 'getLiveStats',
    method: 'get',
    path: '/v1/stats/live',
    scope: SCOPES.read,
    service: 'decisions',
    tag: 'decisions',
    summary: 'Decisions per minute, flagged and fraud rates, latency',
    description:
      'The last `minutes` (1–180) minute by minute, oldest first, from the time-bucket index: decisions by kind, the ' +
      'flagged rate, the fraud rate among labelled decisions, latency p50/p99. Reads are bounded: at most ' +
      `${LIVE_STATS_MAX_ITEMS} decisions (the newest) are counted; a busier window counts its most recent part.`,
    query: LiveStatsQuery,
    response: LiveStats,
    successStatus: 200,
    errors: ['validation_error'],
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
  {
    operationId: 'listModels',
    method: 'get',
    path: '/v1/models',
    scope: SCOPES.read,
    service: 'models',
    tag: 'models',
    summary: 'List the models, their champions and versions',
    description:
      'Every declared model: the champion pointer and its version, the registered versions (status, metrics, ' +
      'creation time), the running retraining run and the version awaiting approval, if any.',
    response: ModelList,
    successStatus: 200,
    errors: ['upstream_unavailable'],
  },
  {
    operationId: 'getModel',
    method: 'get',
    path: '/v1/models/{name}',
    scope: SCOPES.read,
    service: 'models',
    tag: 'models',
    summary: 'Describe one model and its recent retraining runs',
    description:
      'The model as listed, plus its latest retraining runs (status and current step) and the models stack status.',
    params: ModelPathParams,
    response: ModelDetail,
    successStatus: 200,
    errors: ['validation_error', 'not_found', 'upstream_unavailable'],
  },
  {
    operationId: 'retrainModel',
    method: 'post',
    path: '/v1/models/{name}/retrain',
    scope: SCOPES.admin,
    service: 'models',
    tag: 'models',
    summary: 'Start a retraining run',
    description:
      "Starts the model's retraining state machine with trigger 'api'; 409 when a run is already in progress.",
    params: ModelPathParams,
    body: ModelActionRequest,
    response: RetrainResponse,
    successStatus: 202,
    errors: ['validation_error', 'not_found', 'conflict', 'upstream_unavailable'],
  },
  {
    operationId: 'approveModelVersion',
    method: 'post',
    path: '/v1/models/{name}/versions/{version}/approve',
    scope: SCOPES.admin,
    service: 'models',
    tag: 'models',
    summary: 'Approve the version awaiting approval',
    description:
      'Releases the retraining run parked at manual approval so it deploys the version; 409 when approval is ' +
      'automatic here, nothing awaits approval, or another version does.',
    params: ModelVersionPathParams,
    body: ModelActionRequest,
    response: ApprovalResponse,
    successStatus: 202,
    errors: ['validation_error', 'not_found', 'conflict', 'upstream_unavailable'],
  },
  {
    operationId: 'rejectModelVersion',
    method: 'post',
    path: '/v1/models/{name}/versions/{version}/reject',
    scope: SCOPES.admin,
    service: 'models',
    tag: 'models',
    summary: 'Reject the version awaiting approval',
    description:
      'Fails the retraining run parked at manual approval: nothing is deployed and the champion keeps serving.',
    params: ModelVersionPathParams,
    body: ModelActionRequest,
    response: ApprovalResponse,
    successStatus: 202,
    errors: ['validation_error', 'not_found', 'conflict', 'upstream_unavailable'],
  },
  {
    operationId: 'rollbackModel',
    method: 'post',
    path: '/v1/models/{name}/rollback',
    scope: SCOPES.admin,
    service: 'models',
    tag: 'models',
    summary: 'Roll the champion back to the previous approved version',
    description:
      'Moves the champion pointer to the approved version before the current champion, updates the models stack ' +
      'with its previous template (canary, auto-rollback) and rejects the version left; 409 when there is none, ' +
      'or a retraining run or a stack update is in progress.',
    params: ModelPathParams,
    body: ModelActionRequest,
    response: RollbackResponse,
    successStatus: 202,
    errors: ['validation_error', 'not_found', 'conflict', 'upstream_unavailable'],
  },
  {
    operationId: 'getModelDrift',
    method: 'get',
    path: '/v1/models/{name}/drift',
    scope: SCOPES.admin,
    service: 'models',
    tag: 'models',
    summary: 'The latest drift assessment of a model',
    description:
      "The stream drift check's latest window: PSI per feature vs the champion baseline, thresholds, drifted or not.",
    params: ModelPathParams,
    response: DriftAssessment,
    successStatus: 200,
    errors: ['validation_error', 'not_found', 'upstream_unavailable'],
  },
  {
    operationId: 'getModelPredictions',
    method: 'get',
    path: '/v1/models/{name}/predictions',
    scope: SCOPES.read,
    service: 'models',
    tag: 'models',
    summary: "A batch model's predictions of one day",
    description:
      "The nightly batch run's predictions for `date` (the UTC day the requests cover), paged with `limit` and " +
      "`nextToken`, with the run's summary (rows, outcome counts, model version). 404 when that night has not run.",
    params: ModelPathParams,
    query: PredictionsQuery,
    response: PredictionsPage,
    successStatus: 200,
    errors: ['validation_error', 'not_found', 'upstream_unavailable'],
  },
] as const satisfies readonly RouteDefinition[];

export type Route = (typeof ROUTES)[number];

/** A real-time model as the route table needs it: its name and (for the OpenAPI document) its request schema. */
export interface PredictModel {
  readonly name: string;
  /** The module's `request` schema. @default - the route accepts any JSON body (the authorizer needs no schema) */
  readonly request?: z.ZodType;
}

/** The scope of a model's predict route: one per model, so a client is granted the models it may call. */
export const predictScope = (model: string): Scope => `${RESOURCE_SERVER}/predict.${ModelName.parse(model)}`;

/** The path of a model's predict route: a literal per model (API Gateway validates each model's own body). */
export const predictPath = (model: string): string => `/v1/models/${ModelName.parse(model)}/predict`;

/** The route of one real-time model: POST /v1/models/<name>/predict with the model's request schema. */
export function predictRoute(model: PredictModel): RouteDefinition {
  return {
    operationId: `predict${model.name.replace(/(^|-)([a-z0-9])/g, (_, _d: string, c: string) => c.toUpperCase())}`,
    method: 'post',
    path: predictPath(model.name),
    scope: predictScope(model.name),
    service: 'predict',
    model: model.name,
    tag: 'predictions',
    summary: `Predict with ${model.name}`,
    description:
      `Scores the request with ${model.name} (its baseline when the model is unavailable), applies its output ` +
      `policy, explains and audits the prediction. Idempotent per ${IDEMPOTENCY_KEY_HEADER}: a retry with the same ` +
      'key and body returns the same prediction; another body under the key is a 409.',
    body: model.request ?? z.unknown(),
    headers: PredictHeaders,
    response: PredictResponse,
    successStatus: 200,
    errors: ['validation_error', 'conflict', 'payload_too_large', 'upstream_unavailable'],
  };
}

/** Every route of an API serving `models` in real time: the fixed table, then one predict route per model. */
export function apiRoutes(models: readonly PredictModel[] = []): RouteDefinition[] {
  const names = models.map((m) => m.name);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length > 0) throw new Error(`models must be named once each, got ${repeated.join(', ')} twice`);
  return [...(ROUTES as readonly RouteDefinition[]), ...models.map(predictRoute)];
}

/** Descriptions of every scope an API serving `models` knows: the fixed ones and one predict scope per model. */
export function apiScopes(models: readonly PredictModel[] = []): Record<string, string> {
  return {
    ...SCOPE_DESCRIPTIONS,
    ...Object.fromEntries(models.map((m) => [predictScope(m.name), `predict with the ${m.name} model`])),
  };
}

/** The route for an API Gateway method and resource template (e.g. `GET`, `/v1/decisions/{id}`), if any. */
export function findRoute(
  method: string,
  resourcePath: string,
  routes: readonly RouteDefinition[] = ROUTES,
): RouteDefinition | undefined {
  const m = method.toLowerCase();
  return routes.find((r) => r.method === m && r.path === resourcePath);
}

/** The route matching a concrete path (e.g. `/v1/decisions/t-1`), templates matching one segment per parameter. */
export function matchRoute(
  method: string,
  path: string,
  routes: readonly RouteDefinition[] = ROUTES,
): RouteDefinition | undefined {
  const m = method.toLowerCase();
  // Literal paths first: `/v1/models/<name>/predict` must not be taken for a template of the same shape.
  const hit = routes.find((r) => r.method === m && !r.path.includes('{') && r.path === path.replace(/\/$/, ''));
  return hit ?? routes.find((r) => r.method === m && templateRegExp(r.path).test(path));
}

function templateRegExp(template: string): RegExp {
  const pattern = template
    .split('/')
    .map((segment) => (/^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}/?$`);
}
