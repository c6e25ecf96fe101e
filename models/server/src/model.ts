// Loads one model version (manifest + model card + ONNX session), refuses mismatched artifacts, and counts users
// so a replaced version's session is released only after its last in-flight batch.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { findManifestDir, loadManifest, type ModelManifest } from '../../shared/manifest.js';
import { describeFeatureMismatch, hasModule, loadModule } from '../../shared/module.js';
import { ModelLoadError } from './errors.js';

const TensorSpec = z.object({
  name: z.string().min(1),
  dtype: z.string().optional(),
  shape: z.array(z.union([z.number(), z.string(), z.null()])).optional(),
});

/** The part of `model-card.json` (written by train.py) the server relies on; other fields pass through. */
export const ModelCard = z
  .object({
    name: z.string().min(1),
    version: z.union([z.string().min(1), z.number()]).transform(String),
    features: z.array(z.string().min(1)).min(1),
    input: TensorSpec.optional(),
    output: TensorSpec.optional(),
  })
  .passthrough();
export type ModelCard = z.infer<typeof ModelCard>;

export interface ModelSource {
  /** Directory holding `model.onnx` and `model-card.json`. */
  modelDir: string;
  /** Directory holding the manifest `model.json`. @default - `modelDir` if it has one, else its parent */
  manifestDir?: string;
  /** Version the caller expects; loading fails if the model card says otherwise. */
  expectVersion?: string;
  /** ORT intra-op threads per run. @default 1 (fastest for small MLPs on this class of machine) */
  intraOpNumThreads?: number;
}

/** Finds the directory whose `model.json` describes the artifact: explicit, beside it, or one level up. */
export function resolveManifestDir(modelDir: string, manifestDir?: string): string {
  if (manifestDir !== undefined) return resolve(manifestDir);
  const found = findManifestDir(modelDir);
  if (found === undefined) {
    throw new ModelLoadError(
      modelDir,
      `no model.json manifest in ${resolve(modelDir)} or ${dirname(resolve(modelDir))}; pass --manifest-dir`,
    );
  }
  return found;
}

function readCard(modelDir: string): ModelCard {
  const file = join(modelDir, 'model-card.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ModelLoadError(modelDir, `cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = ModelCard.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelLoadError(modelDir, `invalid ${file}: ${issues}`);
  }
  return parsed.data;
}

/** One loaded, validated, warmed-up model version. */
export class LoadedModel {
  readonly loadedAt = new Date();
  /** Rows scored, batches run, and time spent, for the v2 statistics route. */
  readonly stats = { requests: 0, rows: 0, batches: 0, computeNs: 0, queueNs: 0, failures: 0, lastInferenceMs: 0 };
  private users = 0;
  private retired = false;
  private released = false;

  private constructor(
    readonly manifest: ModelManifest,
    readonly card: ModelCard,
    readonly modelDir: string,
    readonly manifestDir: string,
    private readonly session: Session,
  ) {
    this.fetches = { [this.outputName]: null };
  }
  private readonly fetches: Record<string, null>;

  /** True when runs call ORT's native session directly (see `openSession`). */
  get runsSynchronously(): boolean {
    return this.session.synchronous;
  }

  get name(): string {
    return this.manifest.name;
  }
  get version(): string {
    return this.card.version;
  }
  get width(): number {
    return this.manifest.features.length;
  }
  get inputName(): string {
    return this.manifest.serving.inputName;
  }
  get outputName(): string {
    return this.manifest.serving.outputName;
  }
  /** The v2 infer path of this model as a client sends it, so the server can match it without parsing. */
  get inferPath(): string {
    this.cachedInferPath ??= `/v2/models/${encodeURIComponent(this.name)}/infer`;
    return this.cachedInferPath;
  }
  private cachedInferPath: string | undefined;
  /** Values per row in the output tensor (1 for a score). */
  readonly outputWidth = 1;

  static async load(source: ModelSource): Promise<LoadedModel> {
    const modelDir = resolve(source.modelDir);
    const manifestDir = resolveManifestDir(modelDir, source.manifestDir);
    let manifest: ModelManifest;
    try {
      manifest = loadManifest(manifestDir);
    } catch (err) {
      throw new ModelLoadError(modelDir, (err as Error).message);
    }
    // Beside its source (the local stage, `npm run model-server`) the manifest must describe the model module too; a
    // serving container holds only the artifacts, and the synth-time check covered its module.
    if (hasModule(manifestDir)) {
      try {
        await loadModule(manifestDir, manifest);
      } catch (err) {
        throw new ModelLoadError(modelDir, (err as Error).message);
      }
    }
    const card = readCard(modelDir);
    if (card.name !== manifest.name) {
      throw new ModelLoadError(modelDir, `model card names '${card.name}' but the manifest names '${manifest.name}'`);
    }
    const mismatch = describeFeatureMismatch(manifest.features, card.features);
    if (mismatch.length > 0) {
      throw new ModelLoadError(
        modelDir,
        `feature list of model-card.json differs from the manifest ${join(manifestDir, 'model.json')} — ${mismatch.join('; ')}`,
      );
    }
    if (source.expectVersion !== undefined && source.expectVersion !== card.version) {
      throw new ModelLoadError(
        modelDir,
        `requested version '${source.expectVersion}' but model-card.json says '${card.version}'`,
      );
    }

    const onnxFile = join(modelDir, 'model.onnx');
    let session: Session;
    try {
      session = await openSession(onnxFile, {
        intraOpNumThreads: source.intraOpNumThreads ?? 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new ModelLoadError(modelDir, `cannot open ${onnxFile}: ${(err as Error).message}`);
    }
    const model = new LoadedModel(manifest, card, modelDir, manifestDir, session);
    try {
      model.checkSignature();
      await model.warmUp();
    } catch (err) {
      await session.release().catch(() => {});
      throw err instanceof ModelLoadError ? err : new ModelLoadError(modelDir, (err as Error).message);
    }
    return model;
  }

  private checkSignature(): void {
    const { inputName, outputName, width } = this;
    const input = this.session.inputMetadata.find((m) => m.name === inputName);
    if (input === undefined) {
      throw new ModelLoadError(
        this.modelDir,
        `model.onnx has no input '${inputName}' (it has ${this.session.inputNames.join(', ')})`,
      );
    }
    if (!this.session.outputNames.includes(outputName)) {
      throw new ModelLoadError(
        this.modelDir,
        `model.onnx has no output '${outputName}' (it has ${this.session.outputNames.join(', ')})`,
      );
    }
    if (!input.isTensor || input.type !== 'float32') {
      throw new ModelLoadError(this.modelDir, `model.onnx input '${inputName}' must be a float32 tensor`);
    }
    const shape = input.shape;
    if (shape.length !== 2) {
      throw new ModelLoadError(
        this.modelDir,
        `model.onnx input '${inputName}' must be [batch, ${width}], got rank ${shape.length}`,
      );
    }
    if (typeof shape[0] === 'number' && shape[0] > 0) {
      throw new ModelLoadError(
        this.modelDir,
        `model.onnx input '${inputName}' has a fixed batch of ${shape[0]}; export it with a dynamic batch axis`,
      );
    }
    if (shape[1] !== width) {
      throw new ModelLoadError(
        this.modelDir,
        `model.onnx input '${inputName}' is ${String(shape[1])} wide but the manifest lists ${width} features`,
      );
    }
  }

  /** One run at load time proves the output shape and pays ORT's first-run cost before traffic arrives. */
  private async warmUp(): Promise<void> {
    const out = await this.run(new Float32Array(this.width * 2), 2);
    if (out.length !== 2 * this.outputWidth) {
      throw new ModelLoadError(
        this.modelDir,
        `model.onnx output '${this.outputName}' must be [batch, 1], got ${out.length / 2} values per row`,
      );
    }
  }

  /** Scores `rows` rows laid out row-major in `data`; returns `rows * outputWidth` values. */
  async run(data: Float32Array, rows: number): Promise<Float32Array> {
    if (this.session.synchronous) return this.runSync(data, rows);
    const feeds = { [this.inputName]: new ort.Tensor('float32', data, [rows, this.width]) };
    return this.outputOf(await this.session.run(feeds, this.fetches));
  }

  /**
   * `run` without a promise, for the native session only (`runsSynchronously`). ORT reads `data` during the call
   * and copies the output into a new array, so neither outlives the call inside ORT.
   */
  runSync(data: Float32Array, rows: number): Float32Array {
    if (!this.session.synchronous) throw new Error('runSync needs the native ORT session; use run()');
    // One feeds object per model, refilled per call: safe because the native run does not keep it past the call.
    this.syncFeeds[this.inputName] = new ort.Tensor('float32', data, [rows, this.width]);
    const result = this.session.run(this.syncFeeds, this.fetches) as Results;
    return this.outputOf(result);
  }
  private readonly syncFeeds: Feeds = {};

  private outputOf(result: Results): Float32Array {
    const output = result[this.outputName];
    if (output === undefined || !(output.data instanceof Float32Array)) {
      throw new Error(`model.onnx returned no float32 output '${this.outputName}'`);
    }
    return output.data;
  }

  acquire(): void {
    this.users++;
  }

  releaseUse(): void {
    this.users--;
    if (this.retired && this.users === 0) this.releaseLater();
  }

  /** Marks this version replaced; its session is released once no batch uses it. Resolves when released. */
  retire(): Promise<void> {
    this.retired = true;
    if (this.users === 0) this.releaseLater();
    return this.releasedPromise;
  }

  get isReleased(): boolean {
    return this.released;
  }

  private resolveReleased: () => void = () => {};
  private readonly releasedPromise = new Promise<void>((resolve) => {
    this.resolveReleased = resolve;
  });

  /** Deferred a turn so responses of the last batch are serialised before the native session goes away. */
  private releaseLater(): void {
    if (this.released) return;
    this.released = true;
    setImmediate(() => {
      this.session.release().then(this.resolveReleased, this.resolveReleased);
    });
  }
}

type Feeds = Record<string, ort.Tensor>;
type Results = Record<string, ort.OnnxValue>;

/** The slice of an ORT session the server uses; `run` is synchronous when the native session is reachable. */
interface Session {
  readonly synchronous: boolean;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  run(feeds: Feeds, fetches: Record<string, null>): Results | Promise<Results>;
  release(): Promise<void>;
}

/** onnxruntime-node's native session (`dist/binding`): the object its public `run` reaches after a setImmediate. */
interface NativeSession {
  loadModel(path: string, options: ort.InferenceSession.SessionOptions): void;
  readonly inputMetadata: {
    name: string;
    isTensor: boolean;
    symbolicDimensions: string[];
    shape: number[];
    type: number;
  }[];
  readonly outputMetadata: { name: string }[];
  run(feeds: Feeds, fetches: Record<string, null>, options: ort.InferenceSession.RunOptions): Results;
  dispose(): void;
}
interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt: () => void;
}

const require = createRequire(import.meta.url);
/** Type codes of the native metadata, as onnxruntime-node's backend maps them (1 = float32). */
const NATIVE_TYPES = [undefined, 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool'];

function loadNativeBinding(): NativeBinding | undefined {
  try {
    const mod = require('onnxruntime-node/dist/binding') as Partial<NativeBinding>;
    return typeof mod.binding?.InferenceSession === 'function' && typeof mod.initOrt === 'function'
      ? (mod as NativeBinding)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens the model on ORT's native session when the installed onnxruntime-node exposes it, else on the public API.
 * The public `run` defers every call by a setImmediate, re-validates the feeds and wraps the result in promises;
 * the native `run` is the same synchronous call without that hop, which is most of the server's own overhead at
 * batch 1. The batcher already decides when a run happens, so nothing is lost by calling it directly.
 * Set AIMS_ORT_PUBLIC_API=1 to force the public API (the tests run both paths).
 */
async function openSession(path: string, options: ort.InferenceSession.SessionOptions): Promise<Session> {
  const native = process.env.AIMS_ORT_PUBLIC_API === '1' ? undefined : loadNativeBinding();
  if (native === undefined) {
    const s = await ort.InferenceSession.create(path, options);
    return {
      synchronous: false,
      inputNames: s.inputNames,
      outputNames: s.outputNames,
      inputMetadata: s.inputMetadata,
      run: (feeds, fetches) => s.run(feeds, fetches),
      release: () => s.release(),
    };
  }
  native.initOrt();
  const s = new native.binding.InferenceSession();
  s.loadModel(path, options);
  const inputMetadata = s.inputMetadata.map((m): ort.InferenceSession.ValueMetadata => {
    if (!m.isTensor) return { name: m.name, isTensor: false };
    const type = NATIVE_TYPES[m.type];
    if (type === undefined) throw new Error(`input '${m.name}' has an unsupported ORT type code ${m.type}`);
    const shape = m.shape.map((d, i) => (d === -1 ? (m.symbolicDimensions[i] ?? '') : d));
    return { name: m.name, isTensor: true, type, shape } as ort.InferenceSession.ValueMetadata;
  });
  const runOptions: ort.InferenceSession.RunOptions = {};
  return {
    synchronous: true,
    inputNames: inputMetadata.map((m) => m.name),
    outputNames: s.outputMetadata.map((m) => m.name),
    inputMetadata,
    run: (feeds, fetches) => s.run(feeds, fetches, runOptions),
    release: async () => s.dispose(),
  };
}
