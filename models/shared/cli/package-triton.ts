// `npm run package:triton -- --model-dir <artifacts> [--out <file>]`: the Triton model.tar.gz of any model folder's
// trained artifacts, with the serving settings of its manifest, for the GPU endpoint.
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { findManifestDir, loadManifest } from '../manifest.js';
import { instanceKindFor, packageTriton } from '../triton/package.js';

const program = new Command()
  .name('package-triton')
  .description('Pack model.onnx and a rendered config.pbtxt as a Triton model repository (model.tar.gz).')
  .requiredOption('--model-dir <dir>', 'directory with model.onnx and model-card.json (e.g. models/<name>/artifacts)')
  .option('--out <file>', 'output archive (default: <model-dir>/model.tar.gz)')
  .option(
    '--manifest-dir <dir>',
    'directory holding model.json (default: the model dir if it has one, else its parent)',
  )
  .option('--environment <env>', 'dev | staging | prod: KIND_CPU if its serving.instanceType has no GPU', 'prod')
  .action(async (opts: { modelDir: string; out?: string; manifestDir?: string; environment: string }) => {
    const manifestDir = opts.manifestDir ?? findManifestDir(opts.modelDir);
    if (manifestDir === undefined) {
      throw new Error(`no model.json in ${opts.modelDir} or its parent; pass --manifest-dir`);
    }
    const manifest = loadManifest(manifestDir);
    const environments = manifest.serving.instanceType;
    if (!Object.hasOwn(environments, opts.environment)) {
      throw new Error(
        `--environment: expected one of ${Object.keys(environments).join(', ')}, got '${opts.environment}'`,
      );
    }
    const instanceType = environments[opts.environment as keyof typeof environments];
    const result = await packageTriton({
      modelDir: resolve(opts.modelDir),
      out: resolve(opts.out ?? join(opts.modelDir, 'model.tar.gz')),
      modelName: manifest.name,
      serving: { ...manifest.serving, instanceKind: instanceKindFor(instanceType) },
      expectedFeatures: manifest.features,
    });
    process.stdout.write(
      `${JSON.stringify({ out: result.out, sha256: result.sha256, bytes: result.bytes, model: manifest.name, version: result.card.version, instanceType })}\n`,
    );
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`package-triton: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
