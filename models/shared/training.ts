// The training code a model's job runs: its own script plus the shared trainer (models/shared/python), which sit side
// by side at the root of a SageMaker script-mode source bundle.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What serving and monitoring need of a trained model (relative to its model dir): a committed bootstrap holds these. */
export const BOOTSTRAP_FILES = [
  'model.onnx',
  'model-card.json',
  'metrics.json',
  'baseline/statistics.json',
  'baseline/constraints.json',
  'baseline/psi-bins.json',
] as const;

/** The model-independent half of every training script (data, loop, ONNX export, metrics, monitoring baseline). */
export const SHARED_TRAINER = join(dirname(fileURLToPath(import.meta.url)), 'python', 'aims_training.py');

export interface TrainingSource {
  /** Path inside the source bundle. */
  readonly path: string;
  readonly data: Buffer;
}

/** The files of a model's training job: `script` (relative to `modelDir`) and the shared trainer beside it. */
export function trainingSources(modelDir: string, script = 'train.py'): TrainingSource[] {
  return [join(modelDir, script), SHARED_TRAINER].map((file) => ({ path: basename(file), data: readFileSync(file) }));
}

/** sha256 of each training source by bundle path, as train.py records them in the model card's `code`. */
export const sourceHashes = (sources: readonly TrainingSource[]): Record<string, string> =>
  Object.fromEntries(sources.map((s) => [s.path, createHash('sha256').update(s.data).digest('hex')]));

/** One sha256 over every source and its path: changes when any file of the training code does. */
export function trainingCodeHash(sources: readonly TrainingSource[]): string {
  const hash = createHash('sha256');
  for (const s of sources) hash.update(`${s.path}\0${s.data.length}\0`).update(s.data);
  return hash.digest('hex');
}
