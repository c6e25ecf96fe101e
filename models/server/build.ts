// Bundles the model server into one ESM file (models/server/dist/server.mjs) for the container image.
// onnxruntime-node stays external: it ships a native binding and is installed in the image by npm.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = join(here, 'dist', 'server.mjs');
mkdirSync(dirname(outfile), { recursive: true });

await build({
  entryPoints: [join(here, 'src', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  external: ['onnxruntime-node'],
  sourcemap: false,
  minify: false,
  legalComments: 'none',
  // Bundled CommonJS dependencies may call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
process.stdout.write(`bundled ${outfile}\n`);
