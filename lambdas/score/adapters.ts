// Adapters of the score ports: the features table and the SageMaker endpoint (Open Inference Protocol v2).
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { BatchGetCommand, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { ModelRef } from '../../models/shared/contracts/decision.js';
import type { Transaction } from '../../models/shared/contracts/transaction.js';
import type { AnyModelModule } from '../../models/shared/module.js';
import { aggregateKey } from '../shared/contracts/features.js';
import type { FeatureReader, ModelEndpoint } from './core.js';

export { DynamoDecisionStore } from '../shared/adapters/decision-store.js';

/**
 * Refuses an item that is not a state of the feature module's current shape (every key of its empty state, same
 * version): a half-migrated table must fail loudly, not score with garbage. Derived from the module, so it follows it.
 */
function checkState(pk: string, state: unknown, empty: Record<string, unknown>): void {
  const missing =
    state && typeof state === 'object' ? Object.keys(empty).filter((k) => !(k in state)) : ['(not an object)'];
  const version = (state as { version?: unknown } | undefined)?.version;
  if (missing.length > 0 || version !== empty.version) {
    throw new Error(
      `features item ${pk} does not hold a v${String(empty.version)} state (version ${String(version)}, missing ${missing.join(', ') || 'nothing'})`,
    );
  }
}

/** Reads every entity's aggregate in one BatchGetItem; a missing item is the empty state (an entity never seen). */
export class DynamoFeatureReader implements FeatureReader {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly entities: AnyModelModule['entities'],
  ) {}

  async read(txn: Transaction): Promise<Record<string, unknown>> {
    const wanted = Object.entries(this.entities).map(([kind, entity]) => ({
      kind,
      entity,
      pk: aggregateKey(kind, entity.key(txn)),
    }));
    const keys = [...new Set(wanted.map((w) => w.pk))].map((pk) => ({ pk }));
    const items = new Map<string, Record<string, unknown>>();
    let request: Record<string, { Keys: Record<string, unknown>[] }> | undefined = {
      [this.tableName]: { Keys: keys },
    };
    // BatchGetItem may return keys unprocessed under load; a key per entity means at most a couple of rounds.
    for (let attempt = 0; request && attempt < 5; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
      const out: BatchGetCommandOutput = await this.doc.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of out.Responses?.[this.tableName] ?? []) items.set(String(item.pk), item);
      const unprocessed: Record<string, unknown>[] | undefined = out.UnprocessedKeys?.[this.tableName]?.Keys;
      request = unprocessed?.length ? { [this.tableName]: { Keys: unprocessed } } : undefined;
    }
    if (request) throw new Error(`features table ${this.tableName} left keys unprocessed after 5 attempts`);
    return Object.fromEntries(
      wanted.map(({ kind, entity, pk }) => {
        const empty: unknown = entity.empty();
        const item = items.get(pk);
        if (!item) return [kind, empty];
        checkState(pk, item.state, empty as Record<string, unknown>);
        return [kind, item.state];
      }),
    );
  }
}

/** The v2 infer response, validated: a misbehaving endpoint becomes an error (and so the rules fallback). */
const InferResponse = z.object({
  model_name: z.string().optional(),
  model_version: z.string().optional(),
  outputs: z
    .array(
      z.object({
        name: z.string(),
        shape: z.array(z.number().int()),
        datatype: z.string().optional(),
        data: z.array(z.number()),
      }),
    )
    .min(1),
});

export interface SageMakerModelEndpointProps {
  readonly client: SageMakerRuntimeClient;
  readonly endpointName: string;
  /** Used when the response carries no model_name. */
  readonly modelName: string;
  /** @default 'features' */
  readonly inputName?: string;
  /** @default 'score' */
  readonly outputName?: string;
}

/** InvokeEndpoint with an Open Inference Protocol v2 body; `InferenceId` lets Model Monitor join ground truth. */
export class SageMakerModelEndpoint implements ModelEndpoint {
  constructor(private readonly props: SageMakerModelEndpointProps) {}

  async invoke(
    rows: readonly (readonly number[])[],
    options: { inferenceId: string; signal: AbortSignal },
  ): Promise<{ scores: number[]; model: ModelRef }> {
    const width = rows[0]?.length ?? 0;
    if (rows.length === 0 || rows.some((r) => r.length !== width))
      throw new Error('rows must be non-empty and equal-length');
    const body = {
      inputs: [
        { name: this.props.inputName ?? 'features', shape: [rows.length, width], datatype: 'FP32', data: rows.flat() },
      ],
    };
    const out = await this.props.client.send(
      new InvokeEndpointCommand({
        EndpointName: this.props.endpointName,
        ContentType: 'application/json',
        Accept: 'application/json',
        InferenceId: options.inferenceId,
        Body: new TextEncoder().encode(JSON.stringify(body)),
      }),
      { abortSignal: options.signal },
    );
    const text = new TextDecoder().decode(out.Body);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`model endpoint ${this.props.endpointName} returned non-JSON: ${text.slice(0, 200)}`);
    }
    const parsed = InferResponse.safeParse(json);
    if (!parsed.success) {
      throw new Error(
        `model endpoint ${this.props.endpointName} returned an invalid v2 response: ${z.prettifyError(parsed.error)}`,
      );
    }
    const outputName = this.props.outputName ?? 'score';
    const output = parsed.data.outputs.find((o) => o.name === outputName);
    if (!output) throw new Error(`model response has no output named '${outputName}'`);
    if (output.data.length !== rows.length) {
      throw new Error(`model returned ${output.data.length} scores for ${rows.length} rows`);
    }
    const bad = output.data.findIndex((s) => !(s >= 0 && s <= 1));
    if (bad !== -1) throw new Error(`model score ${output.data[bad]} at row ${bad} is not a probability`);
    return {
      scores: output.data,
      model: { name: parsed.data.model_name || this.props.modelName, version: parsed.data.model_version || 'unknown' },
    };
  }
}
