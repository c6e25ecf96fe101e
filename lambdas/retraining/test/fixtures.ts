// Test fixtures for the retraining tasks: an in-memory object store, Athena-style CSV, and a training output tar.
import { createHash } from 'node:crypto';
import { FEATURE_NAMES } from '../../../models/fraud-detector/src/features.js';
import type { ObjectStore } from '../core.js';
import { writeTarGz } from '../tar.js';

export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  async get(uri: string) {
    const body = this.objects.get(uri);
    if (!body) throw new Error(`NoSuchKey: ${uri}`);
    return body;
  }
  async put(uri: string, body: Buffer | string) {
    this.objects.set(uri, Buffer.from(body));
  }
}

/** The fraud detector's feature list: the dataset step recomputes its baseline (the rules), which reads them. */
export const FEATURES = FEATURE_NAMES;

const quote = (v: string) => `"${v.replaceAll('"', '""')}"`;

/** Athena's CSV of `n` labelled decisions; every 10th is fraud and scores high on the first feature. */
export function athenaCsv(n: number, options: { championScore?: (i: number) => string } = {}): string {
  const header = ['transaction_id', ...FEATURES, 'label', 'event_time', 'champion_score', 'transaction_json'];
  const lines = [header.map(quote).join(',')];
  // Rows arrive unordered: the builder must sort by event_time.
  for (const i of [...Array(n).keys()].reverse()) {
    const fraud = i % 10 === 0;
    const txn = {
      transactionId: `t${i}`,
      customerId: 'c1',
      merchantId: 'm1',
      merchantCategory: 'grocery',
      amount: 10 + i,
      currency: 'EUR',
      country: 'FR',
      channel: 'online',
      timestamp: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    };
    lines.push(
      [
        `t${i}`,
        ...FEATURES.map((_, j) => String(j === 0 ? (fraud ? 0.9 : 0.1) : i / n)),
        fraud ? '1' : '0',
        txn.timestamp,
        options.championScore ? options.championScore(i) : String(fraud ? 0.8 : 0.2),
        JSON.stringify(txn),
      ]
        .map(quote)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function modelCard(onnx: Buffer, features: readonly string[] = FEATURES) {
  return {
    name: 'fraud-detector',
    version: 'v-test',
    features,
    input: { name: 'features', dtype: 'float32', shape: [-1, features.length] },
    output: { name: 'score', dtype: 'float32', shape: [-1, 1] },
    modelSha256: createHash('sha256').update(onnx).digest('hex'),
  };
}

/** SageMaker's model.tar.gz of SM_MODEL_DIR as train.py leaves it (with the `./` prefixes tar adds). */
export function trainingOutput(metrics: unknown, features: readonly string[] = FEATURES): Buffer {
  const onnx = Buffer.from('onnx-bytes');
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  return writeTarGz([
    { path: './model.onnx', data: onnx },
    { path: './model-card.json', data: json(modelCard(onnx, features)) },
    { path: './metrics.json', data: json(metrics) },
    { path: './baseline/statistics.json', data: json({ version: 0 }) },
    { path: './baseline/constraints.json', data: json({ version: 0 }) },
    { path: './baseline/psi-bins.json', data: json({ version: 1 }) },
  ]);
}

export const TEMPLATE = [
  'name: "{{model_name}}"',
  'max_batch_size: {{max_batch_size}}',
  'input [ { name: "{{input_name}}" data_type: {{input_data_type}} dims: [ {{input_dims}} ] } ]',
  'output [ { name: "{{output_name}}" data_type: {{output_data_type}} dims: [ {{output_dims}} ] } ]',
  'dynamic_batching { max_queue_delay_microseconds: {{max_queue_delay_microseconds}} }',
  'instance_group [ { count: 1 kind: {{instance_kind}} } ]',
].join('\n');
