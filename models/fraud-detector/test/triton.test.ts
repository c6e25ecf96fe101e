// Triton packaging: archive layout, rendered config.pbtxt, reproducible bytes, refusals, and the CLI over the manifest.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULT_PYTHON } from '../../shared/python.js';
import { instanceKindFor, packageTriton } from '../../shared/triton/package.js';
import { SYNTHETIC_FEATURES, writeSyntheticChannel } from './fixtures/synthetic-channel.js';

const execFileAsync = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const serving = { maxBatchSize: 128, maxQueueDelayMicroseconds: 1500 };

let work: string;
let modelDir: string;

beforeAll(async () => {
  // GIVEN a model trained by train.py on a small synthetic channel
  work = mkdtempSync(join(tmpdir(), 'fd-triton-'));
  const channel = join(work, 'channel');
  modelDir = join(work, 'model');
  writeSyntheticChannel(channel, { rows: 2000, seed: 3, positiveRate: 0.05 });
  await execFileAsync(DEFAULT_PYTHON, [
    join(here, '..', 'train.py'),
    ...['--train', channel, '--model-dir', modelDir, '--seed', '1', '--epochs', '2', '--hidden-units', '8'],
  ]);
}, 60_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

async function listing(archive: string): Promise<string[]> {
  const { stdout } = await execFileAsync('tar', ['-tzvf', archive, '--numeric-owner', '--full-time']);
  return stdout.trim().split('\n');
}

describe('packageTriton', () => {
  test('WHEN packaged THEN the tar.gz holds <name>/config.pbtxt and <name>/1/model.onnx with a matching config', async () => {
    const out = join(work, 'a', 'model.tar.gz');
    const result = await packageTriton({ modelDir, out, modelName: 'fraud-detector', serving });

    const lines = await listing(out);
    expect(lines.map((l) => l.split(/\s+/).at(-1))).toEqual([
      'fraud-detector/',
      'fraud-detector/1/',
      'fraud-detector/1/model.onnx',
      'fraud-detector/config.pbtxt',
    ]);
    for (const line of lines) expect(line).toMatch(/^\S+ 0\/0 +\d+ 1970-01-01 00:00:00 /);

    const extracted = join(work, 'a', 'x');
    mkdirSync(extracted);
    await execFileAsync('tar', ['-xzf', out, '-C', extracted]);
    expect(readFileSync(join(extracted, 'fraud-detector', '1', 'model.onnx'))).toEqual(
      readFileSync(join(modelDir, 'model.onnx')),
    );
    const config = readFileSync(join(extracted, 'fraud-detector', 'config.pbtxt'), 'utf8');
    expect(config).toBe(result.config);
    expect(config).toContain('name: "fraud-detector"');
    expect(config).toContain('platform: "onnxruntime_onnx"');
    expect(config).toContain('max_batch_size: 128');
    expect(config).toMatch(/input \[\s*\{\s*name: "features"\s*data_type: TYPE_FP32\s*dims: \[ (\d+) \]/);
    expect(Number(/name: "features"[^}]*dims: \[ (\d+) \]/.exec(config)?.[1])).toBe(SYNTHETIC_FEATURES.length);
    expect(config).toMatch(/output \[\s*\{\s*name: "score"\s*data_type: TYPE_FP32\s*dims: \[ 1 \]/);
    expect(config).toMatch(/dynamic_batching \{\s*max_queue_delay_microseconds: 1500\s*\}/);
    expect(config).toContain('kind: KIND_GPU');
    expect(config).not.toMatch(/\{\{\w+\}\}/);

    // gzip -n: no file name and a zero mtime in the gzip header.
    const header = readFileSync(out).subarray(0, 10);
    expect([header[0], header[1]]).toEqual([0x1f, 0x8b]);
    expect(header.readUInt32LE(4)).toBe(0);
    expect((header[3] ?? 0) & 0x08).toBe(0);
    expect(result.bytes).toBe(readFileSync(out).length);
  });

  test('WHEN packaged twice, even after the sources are touched, THEN the bytes are identical', async () => {
    const first = await packageTriton({ modelDir, out: join(work, 'b1.tar.gz'), modelName: 'fraud-detector', serving });
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(modelDir, 'model.onnx'), later, later);
    const second = await packageTriton({
      modelDir,
      out: join(work, 'b2.tar.gz'),
      modelName: 'fraud-detector',
      serving,
    });
    expect(second.sha256).toBe(first.sha256);
    expect(readFileSync(join(work, 'b2.tar.gz'))).toEqual(readFileSync(join(work, 'b1.tar.gz')));
  });

  test('GIVEN a manifest with another feature list THEN packaging refuses the model', async () => {
    await expect(
      packageTriton({
        modelDir,
        out: join(work, 'c.tar.gz'),
        modelName: 'fraud-detector',
        serving,
        expectedFeatures: [...SYNTHETIC_FEATURES.slice(1), 'brand_new_feature'],
      }),
    ).rejects.toThrow(/different feature list .*missing: brand_new_feature; unexpected: amount/);
  });

  test('GIVEN a model.onnx from another run than its card THEN packaging refuses it', async () => {
    const mixed = join(work, 'mixed');
    mkdirSync(mixed);
    writeFileSync(join(mixed, 'model-card.json'), readFileSync(join(modelDir, 'model-card.json')));
    writeFileSync(
      join(mixed, 'model.onnx'),
      Buffer.concat([readFileSync(join(modelDir, 'model.onnx')), Buffer.from([0])]),
    );
    await expect(
      packageTriton({ modelDir: mixed, out: join(work, 'd.tar.gz'), modelName: 'fraud-detector', serving }),
    ).rejects.toThrow(/does not match model-card\.json's modelSha256/);
  });
});

describe('package-triton CLI', () => {
  test('GIVEN the real manifest (features swapped for the fixture ones) WHEN run THEN it packs with its serving settings', async () => {
    const manifestDir = join(work, 'manifest');
    mkdirSync(manifestDir);
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'models', 'fraud-detector', 'model.json'), 'utf8')) as {
      name: string;
      features: string[];
      monitoring: { featureThresholds?: unknown };
      serving: { maxBatchSize: number; maxQueueDelayMicroseconds: number; instanceType: { dev: string } };
    };
    manifest.features = [...SYNTHETIC_FEATURES];
    delete manifest.monitoring.featureThresholds;
    writeFileSync(join(manifestDir, 'model.json'), JSON.stringify(manifest));
    const out = join(work, 'cli', 'model.tar.gz');
    const { stdout } = await execFileAsync(join(repoRoot, 'node_modules', '.bin', 'tsx'), [
      join(repoRoot, 'models', 'shared', 'cli', 'package-triton.ts'),
      ...['--model-dir', modelDir, '--out', out, '--manifest-dir', manifestDir],
    ]);
    expect(JSON.parse(stdout)).toMatchObject({
      out,
      model: manifest.name,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const { stdout: config } = await execFileAsync('tar', ['-xzOf', out, `${manifest.name}/config.pbtxt`]);
    expect(config).toContain(`max_batch_size: ${manifest.serving.maxBatchSize}`);
    expect(config).toContain(`max_queue_delay_microseconds: ${manifest.serving.maxQueueDelayMicroseconds}`);
    expect(config).toContain('kind: KIND_GPU');

    // dev serves from a CPU instance type in the manifest: Triton must not ask for a GPU there.
    const devOut = join(work, 'cli', 'dev.tar.gz');
    await execFileAsync(join(repoRoot, 'node_modules', '.bin', 'tsx'), [
      join(repoRoot, 'models', 'shared', 'cli', 'package-triton.ts'),
      ...['--model-dir', modelDir, '--out', devOut, '--manifest-dir', manifestDir, '--environment', 'dev'],
    ]);
    const { stdout: devConfig } = await execFileAsync('tar', ['-xzOf', devOut, `${manifest.name}/config.pbtxt`]);
    expect(devConfig).toContain(
      instanceKindFor(manifest.serving.instanceType.dev) === 'KIND_CPU' ? 'kind: KIND_CPU' : 'kind: KIND_GPU',
    );
    expect(instanceKindFor('ml.g5.xlarge')).toBe('KIND_GPU');
    expect(instanceKindFor('ml.c6i.xlarge')).toBe('KIND_CPU');
  });

  test('GIVEN the real manifest and a model trained on other features THEN the CLI exits 1 and says why', async () => {
    await expect(
      execFileAsync(join(repoRoot, 'node_modules', '.bin', 'tsx'), [
        join(repoRoot, 'models', 'shared', 'cli', 'package-triton.ts'),
        ...['--model-dir', modelDir, '--out', join(work, 'e.tar.gz'), '--manifest-dir', join(here, '..')],
      ]),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/package-triton: .*different feature list/) });
  });
});
