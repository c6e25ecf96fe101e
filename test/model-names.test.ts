// Platform code names no model (issue 12, "done when"): the source under lambdas/ and lib/ resolves models from their
// manifests, so it never spells a model folder's name nor imports from `models/<name>/` (only `models/shared/`).
// What is scanned: every file under lambdas/ and lib/, comments included (a comment naming a model is how a name
// creeps back in, and a generic example reads as well); tests are not (they exercise concrete models on purpose).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { discoverModels } from '../lib/config/models.js';
import { PROJECT_ROOT } from '../lib/constructs/service-function.js';

/**
 * Files where model names belong, each with why. The tables that say which models a deployment serves, and who may
 * call them, are configuration: the one place a model's name joins the platform.
 */
const NAME_TABLES: Readonly<Record<string, string>> = {
  'lib/config/environments.ts': 'the environments table: which models each stage serves, with their thresholds',
  'lib/config/api-clients.ts': "the API clients table: a client's scopes name the model routes it may call",
};

const isTest = (path: string) => path.split(sep).includes('test') || path.endsWith('.test.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return [path];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

/** Every place under `dirs` (relative to `root`) that names one of `models` or imports a model folder, one line each. */
function modelNameProblems(
  root: string,
  dirs: readonly string[],
  models: readonly string[],
  allowed: Readonly<Record<string, string>> = {},
): string[] {
  const modelsDir = join(root, 'models');
  const problems: string[] = [];
  for (const file of dirs.flatMap((d) => sourceFiles(join(root, d)))) {
    const rel = relative(root, file);
    if (isTest(rel) || rel in allowed) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const name of models) if (line.includes(name)) problems.push(`${rel}:${i + 1} names ${name}`);
      for (const [, specifier] of line.matchAll(IMPORT)) {
        if (!specifier?.startsWith('.')) continue;
        const target = relative(modelsDir, resolve(dirname(file), specifier));
        const folder = target.split(sep)[0];
        if (!target.startsWith('..') && folder !== 'shared' && target !== '') {
          problems.push(`${rel}:${i + 1} imports the model folder models/${folder}/`);
        }
      }
    });
  }
  return problems;
}

const MODELS = discoverModels(join(PROJECT_ROOT, 'models')).map((m) => m.manifest.name);

describe('GIVEN the model folders under models/', () => {
  it('THEN there are models to look for (the scan below would pass vacuously otherwise)', () => {
    expect(MODELS.length).toBeGreaterThanOrEqual(2);
  });

  it('WHEN lambdas/ and lib/ are scanned THEN no source file names a model or imports a model folder', () => {
    expect(modelNameProblems(PROJECT_ROOT, ['lambdas', 'lib'], MODELS, NAME_TABLES)).toEqual([]);
  });

  it('THEN each excluded table exists and does name a model (an exclusion that no longer applies is removed)', () => {
    for (const file of Object.keys(NAME_TABLES)) {
      const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
      expect({ file, names: MODELS.some((m) => text.includes(m)) }).toEqual({ file, names: true });
    }
  });
});

describe('GIVEN a tree with a planted model name', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'aims-model-names-'));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write('lib/a.ts', "import { x } from '../models/shared/x.js';\nconst m = 'toy-model';\n");
    write('lambdas/b/core.ts', "import { y } from '../../models/other/src/y.js';\n// fine\n");
    write('lambdas/b/test/core.test.ts', "const m = 'toy-model';\n");
    write('lib/config/table.ts', "export const t = { 'toy-model': 1 };\n");
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('WHEN scanned THEN the name and the model-folder import are found, tests and allowed tables are not', () => {
    expect(modelNameProblems(root, ['lambdas', 'lib'], ['toy-model'], { 'lib/config/table.ts': 'the table' })).toEqual([
      'lambdas/b/core.ts:1 imports the model folder models/other/',
      'lib/a.ts:2 names toy-model',
    ]);
  });
});
