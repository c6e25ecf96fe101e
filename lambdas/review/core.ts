// Overrides: a person's decision instead of the model's, kept as a new audit record that points at the original (the
// original is never edited). The record's create-once write under the next override number is the commit; its event
// (DecisionOverridden) is derived from it by the outbox, so nothing is lost once the caller has its 201.
import type { DecisionRecord } from '../shared/contracts/api.js';
import type { Actor, OverrideRecord, OverrideRequest } from '../shared/contracts/review.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';

/** A decision's override head as its review item keeps it: how many overrides, and the decision now in force. */
export interface OverrideHead {
  readonly count: number;
  readonly decision?: OverrideRecord['decision'];
}

/** Port: the decisions table as overrides need it. */
export interface OverridePorts {
  /** The audit record, or undefined when there is none or it has expired. */
  decision(id: string): Promise<DecisionRecord | undefined>;
  /** The head (strongly consistent): count 0 when the decision was never overridden. */
  head(id: string): Promise<OverrideHead>;
  /** Override number `n` of a decision, if written. */
  override(id: string, n: number): Promise<OverrideRecord | undefined>;
  /** Writes override `n` unless the number is taken; false when it is. */
  create(n: number, record: OverrideRecord, expiresAt: number): Promise<boolean>;
  /** Moves the head to override `n` and resolves the review item (idempotent, never backwards). */
  applyHead(n: number, record: OverrideRecord, expiresAt: number): Promise<void>;
  readonly newId: () => string;
  readonly now: () => Date;
}

/** POST /v1/decisions/{id}/overrides. */
export async function overrideDecision(
  id: string,
  request: OverrideRequest,
  actor: Actor,
  ports: OverridePorts,
): Promise<OverrideRecord> {
  const original = await ports.decision(id);
  if (!original) throw new NotFoundError(`no decision for transaction ${id}`);
  const head = await ports.head(id);
  const inForce = head.count > 0 && head.decision ? head.decision : original.decision;
  if (request.decision === inForce) {
    throw new ConflictError(`the decision in force is already ${inForce}`);
  }
  const n = head.count + 1;
  const record: OverrideRecord = {
    overrideId: ports.newId(),
    transactionId: id,
    kind: 'override',
    previousDecision: inForce,
    decision: request.decision,
    note: request.note,
    actor,
    overriddenAt: ports.now().toISOString(),
  };
  if (!(await ports.create(n, record, original.expiresAt))) {
    // Another override took the number (or a head write was lost): bring the head up to it for the next attempt.
    const landed = await ports.override(id, n);
    if (landed) await ports.applyHead(n, landed, original.expiresAt);
    throw new ConflictError('another override of this decision landed first; read its audit trail and retry');
  }
  await ports.applyHead(n, record, original.expiresAt);
  return record;
}
