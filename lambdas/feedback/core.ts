// Feedback use case: keep the newest label per transaction, write Model Monitor ground truth, announce the label.
import { createHash } from 'node:crypto';
import type { Label } from '../../models/shared/contracts/transaction.js';
import type { Actor } from '../shared/contracts/review.js';

/** A label as stored: the contract's Label plus what makes "newer wins" exact across time-zone offsets. */
export interface StoredLabel extends Label {
  /** reportedAt as epoch ms: ISO strings with different offsets do not sort lexically. */
  readonly reportedAtMs: number;
  readonly storedAt: string;
  /** Who reported it, when a person did (through the API). @default - none: a machine client or the bus */
  readonly actor?: Actor;
}

/** Port: the labels table. */
export interface LabelStore {
  /**
   * Stores the label unless one reported strictly later is already stored (a replay of the same label stores again).
   * Returns whether it was stored and the label the table holds afterwards.
   */
  putIfNotOlder(label: StoredLabel): Promise<{ readonly stored: boolean; readonly current: StoredLabel }>;
}

/** Port: the ground-truth bucket. */
export interface GroundTruthSink {
  put(key: string, body: string): Promise<void>;
}

/** Port: the decisions' review items (a label resolves its decision's review, taking it out of the queue). */
export interface ReviewResolver {
  resolveByLabel(transactionId: string, at: string): Promise<void>;
}

/** Port: the bus (LabelReported). */
export interface LabelAnnouncer {
  labelReported(label: Label): Promise<void>;
}

export interface FeedbackDeps {
  readonly labels: LabelStore;
  readonly groundTruth: GroundTruthSink;
  /** Absent when the label came from the bus: it is already there, publishing it again would echo. */
  readonly announcer?: LabelAnnouncer;
  /** GROUND_TRUTH_PREFIX, without leading or trailing slashes. */
  readonly groundTruthPrefix: string;
  readonly reviews: ReviewResolver;
  readonly now?: () => Date;
}

export interface FeedbackResult {
  readonly transactionId: string;
  /** false when a label reported later was already stored: this one changed nothing. */
  readonly stored: boolean;
  /** The label in force after this call (the newer stored one when this one was superseded). */
  readonly isFraud: boolean;
  /** When the label in force was stored. */
  readonly recordedAt: string;
  /** S3 key of the ground-truth object written, when stored. */
  readonly groundTruthKey?: string;
}

/** One ground-truth record in the jsonlines format SageMaker Model Monitor merges on the inference id. */
export function groundTruthLine(label: Pick<Label, 'transactionId' | 'isFraud'>): string {
  return JSON.stringify({
    groundTruthData: { data: label.isFraud ? '1' : '0', encoding: 'CSV' },
    // The score service invokes the endpoint with InferenceId = transactionId, so this is the join key.
    eventMetadata: { eventId: label.transactionId },
    eventVersion: '0',
  });
}

const pad = (n: number): string => String(n).padStart(2, '0');

/**
 * `<prefix>/yyyy/MM/dd/HH/<uuid>.jsonl`: the hour (UTC) the label was collected, as Model Monitor expects. The uuid is
 * derived from the label, so a retried request overwrites its own object instead of adding a duplicate line.
 */
export function groundTruthKey(prefix: string, collectedAt: Date, label: Label): string {
  const hash = createHash('sha256')
    .update(`${label.transactionId}\n${label.reportedAt}\n${label.isFraud}`)
    .digest('hex');
  // RFC 9562 layout with version 8 (custom, name-based) so the name is a well-formed UUID.
  const variant = ((Number.parseInt(hash.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  const uuid = `${hash.slice(0, 8)}-${hash.slice(8, 12)}-8${hash.slice(13, 16)}-${variant}${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
  const hour = [
    collectedAt.getUTCFullYear(),
    pad(collectedAt.getUTCMonth() + 1),
    pad(collectedAt.getUTCDate()),
    pad(collectedAt.getUTCHours()),
  ].join('/');
  const base = prefix.replace(/^\/+|\/+$/g, '');
  return `${base ? `${base}/` : ''}${hour}/${uuid}.jsonl`;
}

/**
 * Records a label: stores it if it is not older than the stored one, then writes its ground truth and (for labels
 * that did not come from the bus) publishes LabelReported. Each step is idempotent, so a failed call can be retried.
 */
export async function recordLabel(label: Label, deps: FeedbackDeps, actor?: Actor): Promise<FeedbackResult> {
  const now = (deps.now ?? (() => new Date()))();
  const reportedAtMs = Date.parse(label.reportedAt);
  if (Number.isNaN(reportedAtMs)) throw new RangeError(`reportedAt '${label.reportedAt}' is not a timestamp`);

  const { stored, current } = await deps.labels.putIfNotOlder({
    ...label,
    reportedAtMs,
    storedAt: now.toISOString(),
    ...(actor ? { actor } : {}),
  });
  const inForce = { transactionId: label.transactionId, isFraud: current.isFraud, recordedAt: current.storedAt };
  if (!stored) return { ...inForce, stored: false };

  await deps.reviews.resolveByLabel(label.transactionId, now.toISOString());
  const key = groundTruthKey(deps.groundTruthPrefix, now, label);
  await deps.groundTruth.put(key, `${groundTruthLine(label)}\n`);
  await deps.announcer?.labelReported(label);
  return { ...inForce, stored: true, groundTruthKey: key };
}
