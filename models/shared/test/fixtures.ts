// Test fixture: an editable copy of the fraud detector's model folder, its module re-exporting the real one.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MODELS_ROOT = join(import.meta.dirname, '..', '..');
export const FRAUD_DIR = join(MODELS_ROOT, 'fraud-detector');

/** Writes `<work>/models/<name>/` (model.json edited by `edit`, train.py, src/module.ts); returns its path. */
export function fraudCopy(
  work: string,
  edit: (manifest: { name: string; features: string[] }) => void,
  name = 'fraud-detector',
): string {
  const dir = join(work, 'models', name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  // As in the repository: TypeScript under a `"type": "module"` package is an ES module.
  writeFileSync(join(work, 'package.json'), '{ "type": "module" }\n');
  const manifest = JSON.parse(readFileSync(join(FRAUD_DIR, 'model.json'), 'utf8')) as {
    name: string;
    features: string[];
  };
  edit(manifest);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
  cpSync(join(FRAUD_DIR, 'train.py'), join(dir, 'train.py'));
  writeFileSync(
    join(dir, 'src', 'module.ts'),
    `export { default } from ${JSON.stringify(join(FRAUD_DIR, 'src', 'module.ts'))};\n`,
  );
  return dir;
}
