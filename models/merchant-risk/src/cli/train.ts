// `tsx models/merchant-risk/src/cli/train.ts [--out dir] [--bootstrap]`: trains merchant-risk on simulated data and,
// with --bootstrap and a passed gate, refreshes the committed bootstrap model every synth bundles.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { BOOTSTRAP_FILES } from '../../../shared/training.js';
import { MODEL_DIR, runMerchantPipeline } from '../pipeline.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(MODEL_DIR, 'artifacts') },
    bootstrap: { type: 'boolean', default: false },
  },
});
const out = values.out as string;
const result = await runMerchantPipeline({ out, log: (line) => console.log(line) });
const { model, rules } = result.metrics;
console.log(
  `merchant-risk: AUC-PR ${model.aucPr.toFixed(4)} (rules ${rules.aucPr.toFixed(4)}), recall@1% ` +
    `${model.recallAt1pct.toFixed(4)} (rules ${rules.recallAt1pct.toFixed(4)}), lift ${result.verdict.lift?.toFixed(2)}`,
);
if (!result.verdict.passed) {
  console.error(`quality gate failed:\n  ${result.verdict.problems.join('\n  ')}`);
  process.exit(1);
}
if (values.bootstrap) {
  const target = join(MODEL_DIR, 'bootstrap');
  rmSync(target, { recursive: true, force: true });
  for (const file of BOOTSTRAP_FILES) {
    mkdirSync(dirname(join(target, file)), { recursive: true });
    copyFileSync(join(out, file), join(target, file));
  }
  console.log(`bootstrap refreshed in ${target} (commit it)`);
}
