// Training-set builder: Athena's CSV of labelled decisions → train/validation/test.csv + dataset.json for train.py,
// split by time (oldest to train, newest to test) with the model's baseline score (the `rules_score` column train.py
// measures the lift against) and the champion's served score kept.
import { type AnyModelModule, describeFeatureMismatch } from '../../models/shared/module.js';
import { parseCsv } from '../shared/csv.js';

export interface DatasetSpec {
  readonly features: readonly string[];
  readonly label: string;
}

export interface SplitResult {
  readonly files: Readonly<Record<'train.csv' | 'validation.csv' | 'test.csv' | 'dataset.json', string>>;
  readonly rows: { readonly train: number; readonly validation: number; readonly test: number };
  readonly positives: { readonly train: number; readonly validation: number; readonly test: number };
  /** Labelled rows per label source, when the lake query says where each label came from (a `label_source` column:
   *  e.g. reported vs derived). @default - absent: one source */
  readonly labelSources?: Readonly<Record<string, number>>;
}

/** Raised when the lake holds too little to train on; the message says what was found. */
export class DatasetTooSmallError extends Error {
  override readonly name = 'DatasetTooSmallError';
}

export const SPLIT = { train: 0.7, validation: 0.15 } as const;

/**
 * Splits Athena's result (columns: transaction_id, <features>, label, event_time, champion_score, transaction_json;
 * or, for a model with a training `lakeQuery`, its requests' columns and label, and optionally label_source and
 * champion_score) into train.py's channel. Rows are ordered by event_time so the test split is the most recent period. `module` is the
 * model being trained: its request schema reads transaction_json and its baseline scores each row.
 */
export function buildTrainingSet(
  csv: string,
  spec: DatasetSpec,
  options: { minRows: number; minPositives: number },
  module: AnyModelModule,
) {
  // The baseline reads the vector in the module's order: a dataset of another model's features would score garbage.
  const mismatch = describeFeatureMismatch(module.features.names, spec.features);
  if (mismatch.length > 0) {
    throw new Error(`the dataset's features are not those of ${module.name}: ${mismatch.join('; ')}`);
  }
  const [header, ...body] = parseCsv(csv).filter((r) => r.length > 1 || (r[0] ?? '') !== '');
  if (!header) throw new DatasetTooSmallError('the dataset query returned no header: is the result empty?');
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i === -1) throw new Error(`dataset query result lacks column '${name}' (has ${header.join(', ')})`);
    return i;
  };
  const rows = module.training.lakeQuery
    ? requestRows(header, body, col(spec.label), options, module)
    : decisionRows(body, spec, col, options, module);
  return splitByTime(rows, spec);
}

/** The column a lake query may add to say where each row's label came from. */
export const LABEL_SOURCE_COLUMN = 'label_source';
/**
 * The column a lake query may add with the score the champion served for the row (a batch model's nightly prediction,
 * say): the gate then compares the challenger with the champion on the holdout, as for logged decisions.
 */
export const CHAMPION_SCORE_COLUMN = 'champion_score';

interface SetRow {
  readonly id: string;
  /** Where the label came from, when the query says (LABEL_SOURCE_COLUMN). */
  readonly source?: string;
  readonly time: string;
  readonly features: readonly number[];
  readonly label: number;
  readonly rules: number;
  readonly champion: string;
}

function assertLargeEnough(
  rows: number,
  positives: number,
  options: { minRows: number; minPositives: number },
  what: string,
) {
  if (rows < options.minRows || positives < options.minPositives) {
    throw new DatasetTooSmallError(
      `the lake holds ${rows} ${what} with ${positives} positive labels; training needs at least ${options.minRows} and ${options.minPositives}`,
    );
  }
}

/**
 * Rows of a model trained from requests the lake query rebuilds (`training.lakeQuery`): each result row is a request
 * (as `batch.request` reads it) with its label; the module's own `training.rows` replays them into feature vectors.
 */
function requestRows(
  header: readonly string[],
  body: readonly (readonly string[])[],
  labelCol: number,
  options: { minRows: number; minPositives: number },
  module: AnyModelModule,
): SetRow[] {
  const batch = module.batch;
  if (!batch) throw new Error(`${module.name} has a training lakeQuery but no batch source to read its rows with`);
  const requests = new Map<string, unknown>();
  const labels = new Map<string, boolean>();
  const sourceCol = header.indexOf(LABEL_SOURCE_COLUMN);
  const sources = new Map<string, string>();
  const championCol = header.indexOf(CHAMPION_SCORE_COLUMN);
  const champions = new Map<string, string>();
  body.forEach((r, index) => {
    const label = r[labelCol] ?? '';
    if (label !== '0' && label !== '1' && label !== '') {
      throw new Error(`dataset row ${index + 1}: label must be 0, 1 or empty (history only), got '${label}'`);
    }
    const request = batch.request(Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
    requests.set(batch.id(request), request);
    if (label !== '') labels.set(batch.id(request), label === '1');
    const source = sourceCol === -1 ? '' : (r[sourceCol] ?? '');
    if (label !== '' && source !== '') sources.set(batch.id(request), source);
    const champion = championCol === -1 ? '' : (r[championCol] ?? '');
    if (champion !== '') {
      const score = Number(champion);
      if (!Number.isFinite(score))
        throw new Error(`dataset row ${index + 1}: champion_score '${champion}' is not a number`);
      champions.set(batch.id(request), String(score));
    }
  });
  const rows = module.training.rows([...requests.values()], labels);
  assertLargeEnough(rows.length, rows.filter((r) => r.label === 1).length, options, 'labelled requests');
  return rows.map((row) => {
    const request = row.id === undefined ? undefined : requests.get(row.id);
    if (row.id === undefined || request === undefined) {
      throw new Error(`${module.name}'s training rows must carry the id of the request they come from`);
    }
    const rules = module.baseline.score(row.features, request).score;
    const source = sources.get(row.id);
    return {
      id: row.id,
      time: row.eventTime,
      features: row.features,
      label: row.label,
      rules,
      // The champion's served score where the query joined one; the gate compares on the rows that have it.
      champion: champions.get(row.id) ?? '',
      ...(source === undefined ? {} : { source }),
    };
  });
}

/** Rows of a model trained on what its decisions logged: features, the request, the champion's served score. */
function decisionRows(
  body: readonly (readonly string[])[],
  spec: DatasetSpec,
  col: (name: string) => number,
  options: { minRows: number; minPositives: number },
  module: AnyModelModule,
): SetRow[] {
  const idCol = col('transaction_id');
  const featureCols = spec.features.map(col);
  const labelCol = col(spec.label);
  const timeCol = col('event_time');
  const championCol = col('champion_score');
  const txnCol = col('transaction_json');

  const parsed = body.map((r, index) => {
    const features = featureCols.map((c) => Number(r[c]));
    const bad = features.findIndex((v) => !Number.isFinite(v));
    if (bad !== -1) {
      throw new Error(`dataset row ${index + 1}: feature ${spec.features[bad]} is '${r[featureCols[bad] as number]}'`);
    }
    const label = Number(r[labelCol]);
    if (label !== 0 && label !== 1)
      throw new Error(`dataset row ${index + 1}: label must be 0 or 1, got '${r[labelCol]}'`);
    return { r, index, features, label };
  });
  assertLargeEnough(parsed.length, parsed.filter((p) => p.label === 1).length, options, 'labelled decisions');
  return parsed.map(({ r, index, features, label }) => {
    const request = module.request.safeParse(JSON.parse(r[txnCol] as string));
    if (!request.success) {
      throw new Error(
        `dataset row ${index + 1}: transaction_json is not a ${module.name} request: ${request.error.message}`,
      );
    }
    const champion = r[championCol] === '' || r[championCol] === undefined ? '' : String(Number(r[championCol]));
    return {
      id: r[idCol] as string,
      time: r[timeCol] as string,
      features,
      label,
      // Recomputed from the logged features and request: the lift check needs the baseline on the same rows.
      rules: module.baseline.score(features, request.data).score,
      champion,
    };
  });
}

/** Oldest 70 % to train, the next 15 % to validation, the newest to test, as train.py's channel. */
function splitByTime(unsorted: readonly SetRow[], spec: DatasetSpec) {
  const rows = [...unsorted];
  rows.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1));
  const trainEnd = Math.floor(rows.length * SPLIT.train);
  const validationEnd = Math.floor(rows.length * (SPLIT.train + SPLIT.validation));
  const parts = {
    train: rows.slice(0, trainEnd),
    validation: rows.slice(trainEnd, validationEnd),
    test: rows.slice(validationEnd),
  };
  const head = ['transaction_id', ...spec.features, spec.label, 'event_time', 'rules_score', 'champion_score'].join(
    ',',
  );
  const render = (part: typeof rows) =>
    `${[head, ...part.map((r) => [r.id, ...r.features, r.label, r.time, r.rules, r.champion].join(','))].join('\n')}\n`;
  const count = (part: typeof rows) => part.filter((r) => r.label === 1).length;
  const labelSources: Record<string, number> = {};
  for (const r of rows) if (r.source !== undefined) labelSources[r.source] = (labelSources[r.source] ?? 0) + 1;
  const dataset = {
    features: spec.features,
    label: spec.label,
    idColumn: 'transaction_id',
    extraColumns: ['event_time', 'rules_score', 'champion_score'],
    rows: { train: parts.train.length, validation: parts.validation.length, test: parts.test.length },
    positives: { train: count(parts.train), validation: count(parts.validation), test: count(parts.test) },
    ...(Object.keys(labelSources).length > 0 ? { labelSources } : {}),
    split: 'by event_time: oldest 70% train, next 15% validation, newest 15% test',
  };
  return {
    files: {
      'train.csv': render(parts.train),
      'validation.csv': render(parts.validation),
      'test.csv': render(parts.test),
      'dataset.json': `${JSON.stringify(dataset, null, 2)}\n`,
    },
    rows: dataset.rows,
    positives: dataset.positives,
    ...(dataset.labelSources ? { labelSources: dataset.labelSources } : {}),
  } satisfies SplitResult;
}
