// The console's contract (issue 13): decisions as lists, the review queue, overrides, a decision's audit trail and the
// live figures. The routes that serve these schemas are added to `ROUTES` (contracts/api.ts) by their service; the
// console imports the types from here, so the browser and the handlers read one definition.
import * as z from 'zod';
import { Decision } from '../../../models/shared/contracts/decision.js';
import { Transaction } from '../../../models/shared/contracts/transaction.js';
import { ScoredDecision } from './scored-decision.js';

const TransactionId = Transaction.shape.transactionId;

/** Most items one page of a decisions list may carry. */
export const MAX_DECISIONS_PAGE = 100;

/** Filters of a decisions list (query string). Dates are ISO 8601 with zone; `from` inclusive, `to` exclusive. */
export const DecisionsQuery = z
  .object({
    decision: Decision.optional(),
    /** The model that decided (ModelRef.name). */
    model: z.string().min(1).max(63).optional(),
    customerId: Transaction.shape.customerId.optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    minAmount: z.coerce.number().min(0).optional(),
    maxAmount: z.coerce.number().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_DECISIONS_PAGE).default(25),
    /** Opaque; the previous page's `nextCursor`. */
    cursor: z.string().min(1).max(2048).optional(),
  })
  .strict();
export type DecisionsQuery = z.infer<typeof DecisionsQuery>;

/** The review queue takes the same filters except `decision` (it holds `review` decisions only). */
export const ReviewQueueQuery = DecisionsQuery.omit({ decision: true });
export type ReviewQueueQuery = z.infer<typeof ReviewQueueQuery>;

/** Who acted: the token's subject (a person's user name, or a machine client's id) and the client it came through. */
export const Actor = z
  .object({
    principal: z.string().min(1).max(256),
    clientId: z.string().min(1).max(128),
  })
  .strict();
export type Actor = z.infer<typeof Actor>;

/** Where a `review` decision stands: pending until a label or an override resolves it. */
export const ReviewState = z
  .object({
    status: z.enum(['pending', 'resolved']),
    /** What resolved it. @default - none while pending */
    resolvedBy: z.enum(['label', 'override']).optional(),
    resolvedAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export type ReviewState = z.infer<typeof ReviewState>;

/** One line of a decisions list: enough for a table row; the full record is `GET /v1/decisions/{id}`. */
export const DecisionSummary = ScoredDecision.extend({
  /** Present on `review` decisions. */
  review: ReviewState.optional(),
  /** The latest override's decision, when a person overrode the model. */
  overriddenTo: Decision.optional(),
}).strict();
export type DecisionSummary = z.infer<typeof DecisionSummary>;

/** A page of a decisions list, newest first. */
export const DecisionsPage = z
  .object({
    items: z.array(DecisionSummary),
    /** Pass as `cursor` for the next page; absent on the last page. */
    nextCursor: z.string().min(1).optional(),
  })
  .strict();
export type DecisionsPage = z.infer<typeof DecisionsPage>;

// POST /v1/decisions/{id}/overrides
export const OverrideRequest = z
  .object({
    /** The decision the person makes instead of the model's. */
    decision: Decision,
    /** Why (kept in the audit trail). */
    note: z.string().trim().min(1).max(1000),
  })
  .strict();
export type OverrideRequest = z.infer<typeof OverrideRequest>;

/** An override: a new audit record that points at the original decision; the original is never edited. */
export const OverrideRecord = z
  .object({
    overrideId: z.string().regex(/^[0-9A-Za-z_-]{1,64}$/),
    /** The original decision's transaction id. */
    transactionId: TransactionId,
    kind: z.literal('override'),
    /** The decision being overridden (the model's, or the previous override's). */
    previousDecision: Decision,
    decision: Decision,
    note: z.string().min(1).max(1000),
    actor: Actor,
    overriddenAt: z.iso.datetime({ offset: true }),
  })
  .strict();
export type OverrideRecord = z.infer<typeof OverrideRecord>;

/** A label as stored (from `POST /v1/feedback`), with who reported it when a person did. */
export const LabelRecord = z
  .object({
    transactionId: TransactionId,
    isFraud: z.boolean(),
    source: z.enum(['chargeback', 'analyst', 'customer']),
    reportedAt: z.iso.datetime({ offset: true }),
    recordedAt: z.iso.datetime({ offset: true }),
    actor: Actor.optional(),
  })
  .strict();
export type LabelRecord = z.infer<typeof LabelRecord>;

/** GET /v1/decisions/{id}/audit: the decision, every override (oldest first), the label if any, the review state. */
export const AuditTrail = z
  .object({
    transactionId: TransactionId,
    overrides: z.array(OverrideRecord),
    label: LabelRecord.optional(),
    review: ReviewState.optional(),
    /** The decision in force: the latest override's, else the model's. */
    effectiveDecision: Decision,
  })
  .strict();
export type AuditTrail = z.infer<typeof AuditTrail>;

/** GET /v1/stats/live?minutes=N: one bucket per minute, oldest first, empty minutes included. */
export const LiveStatsQuery = z.object({ minutes: z.coerce.number().int().min(1).max(180).default(60) }).strict();
export const LiveMinute = z
  .object({
    /** Start of the minute (ISO 8601, UTC). */
    minute: z.iso.datetime({ offset: true }),
    approve: z.number().int().min(0),
    review: z.number().int().min(0),
    decline: z.number().int().min(0),
    /** Share of the minute's decisions that were review or decline, 0..1; absent for an empty minute. */
    flaggedRate: z.number().min(0).max(1).optional(),
    /** Labelled fraud among the minute's decisions that carry a label, 0..1; absent when none is labelled. */
    fraudRate: z.number().min(0).max(1).optional(),
    /** Service latency of the minute's decisions, in ms; absent for an empty minute. */
    latencyP50Ms: z.number().min(0).optional(),
    latencyP99Ms: z.number().min(0).optional(),
  })
  .strict();
export type LiveMinute = z.infer<typeof LiveMinute>;
export const LiveStats = z.object({ windowMinutes: z.number().int(), minutes: z.array(LiveMinute) }).strict();
export type LiveStats = z.infer<typeof LiveStats>;
