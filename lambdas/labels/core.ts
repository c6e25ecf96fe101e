// Entity-label use case (POST /v1/models/<name>/labels): a model's own label → the platform's EntityLabel → one JSON
// line in the lake, partitioned by model and day, where the model's training query reads it.
import { createHash } from 'node:crypto';
import { EntityLabel, type StoredEntityLabel } from '../../models/shared/contracts/entity-label.js';
import type { EntityLabels } from '../../models/shared/module.js';
import { entityLabelKey } from '../shared/contracts/api.js';

export interface EntityLabelConfig {
  readonly modelName: string;
  /** The model module's `labels`. */
  readonly labels: EntityLabels<unknown>;
}

/** Port: the lake bucket, written by key. */
export interface EntityLabelSink {
  put(key: string, body: string): Promise<void>;
}

export interface EntityLabelDeps {
  readonly lake: EntityLabelSink;
  readonly now?: () => Date;
}

/** The object's name: the label's content, so the same report again rewrites its own object rather than adding one. */
export function contentHash(label: EntityLabel): string {
  const { entityId, day, outcome, reportedAt, source } = label;
  return createHash('sha256')
    .update(JSON.stringify([entityId, day, outcome, reportedAt, source]))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Stores a model's label (already validated against its schema) in the lake and returns it as stored. Every report is
 * kept; the training query takes the latest `reportedAt` of an entity-day, so an older report arriving late loses.
 */
export async function recordEntityLabel(
  body: unknown,
  config: EntityLabelConfig,
  deps: EntityLabelDeps,
): Promise<StoredEntityLabel> {
  // The module's mapping is checked too: a label the lake's table could not read must not be stored.
  const label = EntityLabel.parse(config.labels.toEntityLabel(body));
  const stored: StoredEntityLabel = {
    ...label,
    model: config.modelName,
    receivedAt: (deps.now ?? (() => new Date()))().toISOString(),
  };
  const key = entityLabelKey(config.modelName, label.day, contentHash(label));
  await deps.lake.put(key, `${JSON.stringify(stored)}\n`);
  return stored;
}
