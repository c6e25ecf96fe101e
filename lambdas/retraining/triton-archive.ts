// The Triton model repository archive (<name>/config.pbtxt + <name>/1/model.onnx) built in memory from train.py's
// outputs: used by the retraining package step and by the models stack to bundle the bootstrap model at synth time.
import { createHash } from 'node:crypto';
import {
  instanceKindFor,
  ModelCard,
  renderTritonConfig,
  TRITON_VERSION_DIR,
} from '../../models/shared/triton/package.js';
import { writeTarGz } from './tar.js';

export interface TritonArchiveInput {
  /** The Triton model name (the manifest's name; SAGEMAKER_TRITON_DEFAULT_MODEL_NAME). */
  readonly modelName: string;
  readonly onnx: Buffer;
  /** model-card.json as parsed JSON. */
  readonly card: unknown;
  /** The config.pbtxt template with {{placeholders}}. */
  readonly template: string;
  readonly maxBatchSize: number;
  readonly maxQueueDelayMicroseconds: number;
  /** The serving instance type: GPU families load the model on the GPU, anything else on CPU. */
  readonly instanceType: string;
  /** The manifest's feature list; a model trained on another list is refused. */
  readonly expectedFeatures: readonly string[];
}

export interface TritonArchive {
  readonly archive: Buffer;
  readonly config: string;
  readonly card: ModelCard;
}

export function buildTritonArchive(input: TritonArchiveInput): TritonArchive {
  const parsed = ModelCard.safeParse(input.card);
  if (!parsed.success) {
    throw new Error(
      `invalid model card: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const card = parsed.data;
  if (JSON.stringify(card.features) !== JSON.stringify(input.expectedFeatures)) {
    throw new Error(
      `model '${card.name}' version ${card.version} was trained on a different feature list than the manifest of '${input.modelName}'`,
    );
  }
  if (card.modelSha256 && createHash('sha256').update(input.onnx).digest('hex') !== card.modelSha256) {
    throw new Error(`model.onnx does not match the model card's modelSha256: the files come from different runs`);
  }
  const config = renderTritonConfig({
    modelName: input.modelName,
    card,
    template: input.template,
    serving: {
      maxBatchSize: input.maxBatchSize,
      maxQueueDelayMicroseconds: input.maxQueueDelayMicroseconds,
      instanceKind: instanceKindFor(input.instanceType),
    },
  });
  const archive = writeTarGz([
    { path: `${input.modelName}/config.pbtxt`, data: Buffer.from(config) },
    { path: `${input.modelName}/${TRITON_VERSION_DIR}/model.onnx`, data: input.onnx },
  ]);
  return { archive, config, card };
}
