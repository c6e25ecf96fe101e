// The fraud detector's quality gate over train.py's metrics.json: an AUC-PR floor and a recall lift over the rules
// at a 1% alert rate (the manifest's training.qualityGate).
import { existsSync, readFileSync } from 'node:fs';
import type { ModelManifest } from '../../shared/manifest.js';
import type { QualityVerdict } from '../../shared/module.js';

/** What train.py writes into metrics.json that the gate relies on. */
export interface TrainingMetrics {
  readonly model: { readonly aucPr: number; readonly recallAt1pct: number } & Record<string, unknown>;
  readonly rules: ({ readonly aucPr?: number; readonly recallAt1pct: number } & Record<string, unknown>) | null;
}

/** Reads metrics.json and says what is missing instead of failing on `undefined` later. */
export function readMetrics(file: string): TrainingMetrics {
  if (!existsSync(file)) throw new Error(`train.py wrote no metrics file at ${file}`);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<TrainingMetrics>;
  const missing: string[] = [];
  if (typeof raw.model?.aucPr !== 'number') missing.push('model.aucPr');
  if (typeof raw.model?.recallAt1pct !== 'number') missing.push('model.recallAt1pct');
  if (typeof raw.rules?.recallAt1pct !== 'number') missing.push('rules.recallAt1pct');
  if (missing.length > 0) throw new Error(`${file} lacks ${missing.join(', ')}`);
  return raw as TrainingMetrics;
}

/** Applies the manifest's quality gate (AUC-PR floor, recall lift over the rules at a 1% alert rate). */
export function checkQuality(metrics: TrainingMetrics, gate: ModelManifest['training']['qualityGate']): QualityVerdict {
  const problems: string[] = [];
  const model = metrics.model.recallAt1pct;
  const rules = metrics.rules?.recallAt1pct ?? null;
  const lift = rules === null ? null : rules > 0 ? model / rules : Number.POSITIVE_INFINITY;
  if (rules === null) problems.push('no rules baseline in metrics.json');
  else if (model < gate.minRecallLiftVsRules * rules) {
    problems.push(
      `model recall@1% ${model.toFixed(4)} < ${gate.minRecallLiftVsRules} × rules recall@1% ${rules.toFixed(4)} ` +
        `(= ${(gate.minRecallLiftVsRules * rules).toFixed(4)})`,
    );
  }
  if (metrics.model.aucPr < gate.minAucPr) {
    problems.push(`model AUC-PR ${metrics.model.aucPr.toFixed(4)} < the gate's minAucPr ${gate.minAucPr}`);
  }
  return { passed: problems.length === 0, problems, lift };
}
