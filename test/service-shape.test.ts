// One shape per service under lambdas/: every Lambda entry (handler.ts, *-handler.ts) is at most 15 lines of wiring
// that imports only its app.ts (and the model-module specifier); app.ts assembles env → adapters → core; core.ts is the
// use case over ports and imports no SDK client, middy, Powertools or adapter.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from '../lib/constructs/service-function.js';

const MAX_ENTRY_LINES = 15;
/** What an entry may import: its assembly, and the module its bundle is aliased to at synth. */
const ENTRY_IMPORTS = new Set(['./app.js', '@aims/model-module']);
/** Value imports that make a core impure (type-only imports of ports are fine). */
const IMPURE = [
  /^@aws-sdk\/client-/,
  /^@aws-sdk\/lib-/,
  /^@middy\//,
  /^@aws-lambda-powertools\//,
  /adapters?(\.js|\/)/,
  /\/aws\.js$/,
];

const codeLines = (text: string) =>
  text.split('\n').filter((line) => line.trim() !== '' && !/^\s*(\/\/|\/\*|\*)/.test(line)).length;

/** Specifiers of the imports that survive compilation (not `import type`). */
function valueImports(text: string): string[] {
  const source = ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest);
  return source.statements.flatMap((s) =>
    ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly && ts.isStringLiteral(s.moduleSpecifier)
      ? [s.moduleSpecifier.text]
      : [],
  );
}

/** Every way the services under `lambdasDir` depart from the shape, one readable line each. */
function shapeProblems(lambdasDir: string): string[] {
  const services = readdirSync(lambdasDir).filter((d) => d !== 'shared' && statSync(join(lambdasDir, d)).isDirectory());
  const problems: string[] = [];
  for (const service of services) {
    const dir = join(lambdasDir, service);
    const files = readdirSync(dir);
    for (const needed of ['handler.ts', 'app.ts', 'core.ts']) {
      if (!files.includes(needed)) problems.push(`${service}: has no ${needed}`);
    }
    for (const entry of files.filter((f) => f === 'handler.ts' || f.endsWith('-handler.ts'))) {
      const text = readFileSync(join(dir, entry), 'utf8');
      const lines = codeLines(text);
      if (lines > MAX_ENTRY_LINES) problems.push(`${service}/${entry}: ${lines} lines, more than ${MAX_ENTRY_LINES}`);
      for (const spec of valueImports(text).filter((s) => !ENTRY_IMPORTS.has(s))) {
        problems.push(`${service}/${entry}: imports ${spec}; an entry imports only ./app.js`);
      }
    }
    if (files.includes('core.ts')) {
      for (const spec of valueImports(readFileSync(join(dir, 'core.ts'), 'utf8'))) {
        if (IMPURE.some((re) => re.test(spec)))
          problems.push(`${service}/core.ts: imports ${spec}; a core takes ports`);
      }
    }
  }
  return problems;
}

describe('GIVEN the services under lambdas/', () => {
  test('WHEN their files are read THEN every one has the shape: thin entries, app.ts, a pure core.ts', () => {
    expect(shapeProblems(join(PROJECT_ROOT, 'lambdas'))).toEqual([]);
  });
});

describe('GIVEN services that drift from the shape', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'service-shape-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  test('WHEN a handler is thick, an app or core is missing or a core imports the SDK THEN each is named', () => {
    write('shared/env.ts', 'export {};\n');
    write('thin/handler.ts', "// entry\nimport { h } from './app.js';\n\nexport const handler = h();\n");
    write('thin/app.ts', 'export const h = () => 1;\n');
    write('thin/core.ts', "import type { S3Client } from '@aws-sdk/client-s3';\nexport type C = S3Client;\n");
    write('thick/handler.ts', `import middy from '@middy/core';\n${'const x = 1;\n'.repeat(15)}`);
    write('thick/core.ts', "import { S3Client } from '@aws-sdk/client-s3';\nimport { a } from './adapters.js';\n");
    write('thick/alarm-handler.ts', "import { h } from './app.js';\nexport const handler = h();\n");
    expect(shapeProblems(root).sort()).toEqual([
      'thick/core.ts: imports ./adapters.js; a core takes ports',
      'thick/core.ts: imports @aws-sdk/client-s3; a core takes ports',
      'thick/handler.ts: 16 lines, more than 15',
      'thick/handler.ts: imports @middy/core; an entry imports only ./app.js',
      'thick: has no app.ts',
    ]);
  });
});
