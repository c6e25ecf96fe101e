// Import boundaries of models/: a model folder never imports another model folder (what two models share lives in
// models/shared/), models/shared/ imports no model folder, and nothing under models/ imports the platform (lambdas/,
// lib/, local/): contracts both sides need have their home in models/shared/.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const MODELS_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PLATFORM = ['lambdas', 'lib', 'local'] as const;
const SOURCE = /\.(ts|mts|mjs|js)$/;
const SKIPPED = new Set(['node_modules', 'artifacts', 'bootstrap', '__pycache__']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    if (SKIPPED.has(entry)) return [];
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return SOURCE.test(entry) ? [path] : [];
  });
}

/** Every import, export-from, dynamic import and require specifier of one source file. */
function specifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** The import arrows out of `modelsRoot` that cross a boundary, as readable lines (empty when all is well). */
function boundaryViolations(modelsRoot: string): string[] {
  const repo = dirname(modelsRoot);
  const folders = readdirSync(modelsRoot).filter((d) => statSync(join(modelsRoot, d)).isDirectory());
  const modelFolders = new Set(folders.filter((d) => readdirSync(join(modelsRoot, d)).includes('model.json')));
  const problems: string[] = [];
  for (const file of sourceFiles(modelsRoot)) {
    const from = relative(modelsRoot, file).split(sep)[0] as string;
    for (const spec of specifiers(file)) {
      if (!spec.startsWith('.')) continue;
      const target = relative(repo, resolve(dirname(file), spec)).split(sep);
      const shown = `${relative(repo, file)} imports ${spec}`;
      if (target[0] !== 'models') {
        if ((PLATFORM as readonly string[]).includes(target[0] as string)) {
          problems.push(`${shown}: models/ must not import ${target[0]}/`);
        }
        continue;
      }
      const to = target[1] as string;
      if (to === from || !modelFolders.has(to)) continue;
      problems.push(`${shown}: models/${from} must not import the model folder models/${to}`);
    }
  }
  return problems;
}

describe('GIVEN the models/ tree of this repository', () => {
  test('WHEN its imports are read THEN no model folder imports another and nothing imports the platform', () => {
    expect(boundaryViolations(MODELS_ROOT)).toEqual([]);
  });
});

describe('GIVEN a models/ tree that crosses the boundaries', () => {
  let repo: string;
  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), 'model-boundaries-'));
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  };

  test('WHEN one model imports another, shared imports a model and a model imports lambdas THEN each is named', () => {
    write('models/a/model.json', '{}');
    write('models/b/model.json', '{}');
    write('models/a/src/x.ts', "import { y } from '../../b/src/y.js';\nexport const x = y;\n");
    write('models/a/src/z.ts', "export { env } from '../../../lambdas/shared/env.js';\n");
    write('models/a/src/ok.ts', "import { s } from '../../shared/s.js';\nimport { q } from './q.js';\n");
    write('models/b/test/lazy.test.ts', "const m = await import('../../a/src/x.js');\n");
    write('models/shared/s.ts', "import type { X } from '../a/src/x.js';\nexport const s = 1;\n");
    expect(boundaryViolations(join(repo, 'models')).sort()).toEqual([
      'models/a/src/x.ts imports ../../b/src/y.js: models/a must not import the model folder models/b',
      'models/a/src/z.ts imports ../../../lambdas/shared/env.js: models/ must not import lambdas/',
      'models/b/test/lazy.test.ts imports ../../a/src/x.js: models/b must not import the model folder models/a',
      'models/shared/s.ts imports ../a/src/x.js: models/shared must not import the model folder models/a',
    ]);
  });
});
