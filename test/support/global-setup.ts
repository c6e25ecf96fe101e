// Jest global setup: the local-stage tests serve the trained reference model, so train it once when it is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export default function globalSetup(): void {
  const artifacts = join(root, 'models', 'fraud-detector', 'artifacts');
  if (existsSync(join(artifacts, 'model.onnx')) && existsSync(join(artifacts, 'model-card.json'))) return;
  process.stdout.write('\nglobal setup: training the reference model for the local-stage tests…\n');
  const run = spawnSync(
    join(root, 'node_modules', '.bin', 'tsx'),
    [join('models', 'fraud-detector', 'src', 'cli', 'train.ts')],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
    },
  );
  if (run.status !== 0) throw new Error(`training the reference model failed (exit ${run.status ?? run.signal})`);
}
