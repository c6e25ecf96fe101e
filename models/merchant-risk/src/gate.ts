// The merchant-risk quality gate over train.py's metrics.json: on the held-out (latest) days, the model must find at
// least `minRecallLiftVsRules` × the rules' compromised merchants at a 1% alert rate, reach the AUC-PR floor, and rank
// better than the rules overall (AUC-PR above theirs).
import { existsSync, readFileSync } from 'node:fs';
import type { ModelManifest } from '../../shared/manifest.js';
import type { QualityVerdict } from '../../shared/module.js';

interface Scores {
  readonly aucPr: number;
  readonly recallAt1pct: number;
}

/** What the gate reads of metrics.json. */
export interface MerchantMetrics {
  readonly model: Scores & Record<string, unknown>;
  readonly rules: Scores & Record<string, unknown>;
}

export function readMerchantMetrics(file: string): MerchantMetrics {
  if (!existsSync(file)) throw new Error(`train.py wrote no metrics file at ${file}`);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { model?: Partial<Scores>; rules?: Partial<Scores> | null };
  const missing = (['model', 'rules'] as const).flatMap((side) =>
    (['aucPr', 'recallAt1pct'] as const).filter((k) => typeof raw[side]?.[k] !== 'number').map((k) => `${side}.${k}`),
  );
  if (missing.length > 0)
    throw new Error(`${file} lacks ${missing.join(', ')} (the dataset needs a rules_score column)`);
  return raw as MerchantMetrics;
}

export function checkMerchantQuality(
  metrics: MerchantMetrics,
  gate: ModelManifest['training']['qualityGate'],
): QualityVerdict {
  const { model, rules } = metrics;
  const problems: string[] = [];
  const lift = rules.recallAt1pct > 0 ? model.recallAt1pct / rules.recallAt1pct : Number.POSITIVE_INFINITY;
  if (model.recallAt1pct < gate.minRecallLiftVsRules * rules.recallAt1pct) {
    problems.push(
      `recall@1% ${model.recallAt1pct.toFixed(4)} is below ${gate.minRecallLiftVsRules} × the rules' ` +
        `${rules.recallAt1pct.toFixed(4)}`,
    );
  }
  if (model.aucPr < gate.minAucPr) problems.push(`AUC-PR ${model.aucPr.toFixed(4)} < the floor ${gate.minAucPr}`);
  if (!(model.aucPr > rules.aucPr)) {
    problems.push(`AUC-PR ${model.aucPr.toFixed(4)} does not beat the rules' ${rules.aucPr.toFixed(4)}`);
  }
  return { passed: problems.length === 0, problems, lift };
}
