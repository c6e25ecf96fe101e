// Builds the Triton model repository (<name>/config.pbtxt + <name>/1/model.onnx) and packs it as a reproducible tar.gz.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The config.pbtxt every model's Triton repository is rendered from (placeholders from manifest and model card). */
export const TRITON_CONFIG_TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), 'config.pbtxt');
/** Triton loads the highest numeric version directory; the endpoint serves exactly one. */
export const TRITON_VERSION_DIR = '1';

const Tensor = z.object({
  name: z.string().min(1),
  dtype: z.enum(['float32']),
  shape: z.array(z.number().int()).min(2),
});

/** The part of train.py's model-card.json that serving needs. */
export const ModelCard = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  features: z.array(z.string().min(1)).min(1),
  input: Tensor,
  output: Tensor,
  modelSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type ModelCard = z.infer<typeof ModelCard>;

export interface TritonServing {
  maxBatchSize: number;
  maxQueueDelayMicroseconds: number;
  /** Where Triton places model instances. @default 'KIND_GPU' */
  instanceKind?: 'KIND_GPU' | 'KIND_CPU';
}

/** GPU families on SageMaker (ml.g5, ml.p4d, ml.inf… excluded): anything else must load the model on CPU. */
export const instanceKindFor = (instanceType: string): 'KIND_GPU' | 'KIND_CPU' =>
  /^ml\.(g|p)\d/.test(instanceType) ? 'KIND_GPU' : 'KIND_CPU';

const TRITON_DTYPES: Record<ModelCard['input']['dtype'], string> = { float32: 'TYPE_FP32' };

/** Triton's dims omit the batch axis when max_batch_size > 0; the card's shapes carry it as -1. */
function dimsWithoutBatch(tensor: ModelCard['input'], what: string): number[] {
  const [batch, ...rest] = tensor.shape;
  if (batch !== -1)
    throw new Error(
      `model card ${what} shape ${JSON.stringify(tensor.shape)}: expected a dynamic batch axis (-1) first`,
    );
  if (rest.some((d) => d < 1))
    throw new Error(
      `model card ${what} shape ${JSON.stringify(tensor.shape)}: expected fixed dims after the batch axis`,
    );
  return rest;
}

export function renderTritonConfig(opts: {
  modelName: string;
  card: ModelCard;
  serving: TritonServing;
  template: string;
}): string {
  const inputDims = dimsWithoutBatch(opts.card.input, 'input');
  if (inputDims.length !== 1 || inputDims[0] !== opts.card.features.length) {
    throw new Error(
      `model card input shape ${JSON.stringify(opts.card.input.shape)} does not match its ${opts.card.features.length} features`,
    );
  }
  const values: Record<string, string> = {
    model_name: opts.modelName,
    max_batch_size: String(opts.serving.maxBatchSize),
    max_queue_delay_microseconds: String(opts.serving.maxQueueDelayMicroseconds),
    instance_kind: opts.serving.instanceKind ?? 'KIND_GPU',
    input_name: opts.card.input.name,
    input_data_type: TRITON_DTYPES[opts.card.input.dtype],
    input_dims: inputDims.join(', '),
    output_name: opts.card.output.name,
    output_data_type: TRITON_DTYPES[opts.card.output.dtype],
    output_dims: dimsWithoutBatch(opts.card.output, 'output').join(', '),
  };
  const rendered = opts.template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`config.pbtxt template: unknown placeholder ${whole}`);
    return value;
  });
  return rendered;
}

export interface PackageTritonOptions {
  /** Directory holding train.py's model.onnx and model-card.json. */
  modelDir: string;
  /** Output file, conventionally `model.tar.gz`. */
  out: string;
  /** Triton model name (the manifest's `name`); also the top-level folder in the archive. */
  modelName: string;
  serving: TritonServing;
  /** The manifest's feature list; packaging refuses a model trained on a different one. */
  expectedFeatures?: readonly string[];
  /** @default TRITON_CONFIG_TEMPLATE */
  templatePath?: string;
}

export interface PackageTritonResult {
  out: string;
  sha256: string;
  bytes: number;
  config: string;
  card: ModelCard;
}

async function pipeline(tarArgs: string[], out: string): Promise<void> {
  // tar | gzip -n: gzip -n leaves the name and mtime out of the gzip header, so equal inputs give equal bytes.
  await new Promise<void>((resolve, reject) => {
    const tar = spawn('tar', tarArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    const gzip = spawn('gzip', ['-n', '-9'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const sink = createWriteStream(out);
    let stderr = '';
    let pending = 3;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      tar.kill();
      gzip.kill();
      reject(err);
    };
    const done = () => {
      pending -= 1;
      if (pending === 0 && !failed) resolve();
    };
    tar.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    gzip.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    tar.stdout.pipe(gzip.stdin);
    gzip.stdout.pipe(sink);
    for (const [name, child] of [
      ['tar', tar],
      ['gzip', gzip],
    ] as const) {
      child.on('error', (err) => fail(new Error(`cannot run ${name}: ${err.message}`)));
      child.on('close', (code) =>
        code === 0 ? done() : fail(new Error(`${name} exited with code ${code}: ${stderr.trim()}`)),
      );
    }
    sink.on('error', fail);
    sink.on('finish', done);
  });
}

/** Writes `<out>` = tar.gz of `<modelName>/config.pbtxt` and `<modelName>/1/model.onnx`, byte-for-byte reproducible. */
export async function packageTriton(opts: PackageTritonOptions): Promise<PackageTritonResult> {
  const cardPath = join(opts.modelDir, 'model-card.json');
  const onnxPath = join(opts.modelDir, 'model.onnx');
  let rawCard: unknown;
  try {
    rawCard = JSON.parse(await readFile(cardPath, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read model card ${cardPath}: ${(err as Error).message} (run \`npm run train\` first)`);
  }
  const parsed = ModelCard.safeParse(rawCard);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid model card ${cardPath}: ${problems}`);
  }
  const card = parsed.data;
  if (opts.expectedFeatures && JSON.stringify(opts.expectedFeatures) !== JSON.stringify(card.features)) {
    const missing = opts.expectedFeatures.filter((f) => !card.features.includes(f));
    const extra = card.features.filter((f) => !opts.expectedFeatures?.includes(f));
    throw new Error(
      `model in ${opts.modelDir} was trained on a different feature list than the manifest ` +
        `(missing: ${missing.join(', ') || 'none'}; unexpected: ${extra.join(', ') || 'none'}; order differs otherwise)`,
    );
  }
  let onnx: Buffer;
  try {
    onnx = await readFile(onnxPath);
  } catch (err) {
    throw new Error(`cannot read ${onnxPath}: ${(err as Error).message}`);
  }
  if (card.modelSha256 && createHash('sha256').update(onnx).digest('hex') !== card.modelSha256) {
    throw new Error(`${onnxPath} does not match model-card.json's modelSha256: the artifacts come from different runs`);
  }
  const template = await readFile(opts.templatePath ?? TRITON_CONFIG_TEMPLATE, 'utf8');
  const config = renderTritonConfig({ modelName: opts.modelName, card, serving: opts.serving, template });

  const staging = await mkdtemp(join(tmpdir(), 'triton-repo-'));
  try {
    const versionDir = join(staging, opts.modelName, TRITON_VERSION_DIR);
    await mkdir(versionDir, { recursive: true });
    await writeFile(join(staging, opts.modelName, 'config.pbtxt'), config);
    await copyFile(onnxPath, join(versionDir, 'model.onnx'));
    await mkdir(dirname(opts.out), { recursive: true });
    const partial = `${opts.out}.partial`;
    await pipeline(
      [
        '--create',
        '--file=-',
        '--format=gnu',
        '--sort=name',
        '--mtime=@0',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        '--mode=u=rwX,go=rX',
        '-C',
        staging,
        opts.modelName,
      ],
      partial,
    );
    await rename(partial, opts.out);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const bytes = await readFile(opts.out);
  return {
    out: opts.out,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    config,
    card,
  };
}
