// An entity-level label (a merchant was compromised on a day, say): what a model module's own label schema becomes
// once the platform has it, so one route, one lake table and one training query shape serve every model that has one;
// and the names of the lake tables a model's own training query reads besides the decision log.
import * as z from 'zod';
import { Id } from './transaction.js';

/** One reported outcome of one entity on one UTC day, as the lake keeps it (the newest report of a day wins). */
export const EntityLabel = z
  .object({
    /** The entity's key (the module's entity id: a merchant id, say). */
    entityId: Id(),
    /** The UTC day (YYYY-MM-DD) the outcome is about. */
    day: z.iso.date(),
    /** Whether the outcome happened (e.g. compromised). */
    outcome: z.boolean(),
    /** When the reporter learned it (ISO 8601 with zone): of two reports of one entity-day, the later one holds. */
    reportedAt: z.iso.datetime({ offset: true }),
    /** Who reported it, in the module's vocabulary. */
    source: z.string().min(1).max(64),
  })
  .strict();
export type EntityLabel = z.infer<typeof EntityLabel>;

/** An entity label as stored in the lake: the label, the model it is for and when the platform received it. */
export const StoredEntityLabel = EntityLabel.extend({
  model: z.string().min(1),
  receivedAt: z.iso.datetime({ offset: true }),
}).strict();
export type StoredEntityLabel = z.infer<typeof StoredEntityLabel>;

/**
 * The lake table of every model's entity labels (Glue/Athena): columns entityid, day, outcome, reportedat, source,
 * receivedat; partitions `model` and `dt` (= day). A model's training query reads it by this name.
 */
export const ENTITY_LABELS_TABLE = 'entity_labels';

/**
 * The lake table of batch models' nightly predictions (Glue/Athena): columns id, score, outcome; partitions `model`
 * and `dt` (the day the requests cover). A training query joins it to give each row the score its champion served.
 */
export const PREDICTIONS_TABLE = 'predictions';
