// The batch run's tasks over in-memory ports, with merchant-risk's own module: the plan's day and names, prepare's
// folding of the lake's history (features equal to folding the days by hand), the transform input, the features-table
// states, and publish's join, decisions and refusals.

import { merchantDays } from '../../../models/merchant-risk/src/aggregates.js';
import { MERCHANT_DAY_COLUMNS } from '../../../models/merchant-risk/src/batch.js';
import { emptyHistory, foldDay, type MerchantDay } from '../../../models/merchant-risk/src/features.js';
import merchantRisk from '../../../models/merchant-risk/src/module.js';
import { simulate } from '../../../models/shared/simulator/simulate.js';
import { MemoryAggregateStore } from '../../features/test/memory-store.js';
import { MemoryObjectStore } from '../../retraining/test/fixtures.js';
import { PredictionsSummary } from '../../shared/contracts/api.js';
import {
  FoldingEntityStates,
  inferBody,
  type PrepareRequest,
  plan,
  prepare,
  publish,
  RUN_ROWS,
  TRANSFORM_INPUT,
  TransformOutputError,
} from '../core.js';

const DATE = '2026-03-12';
const WORK = `s3://lake/batch/merchant-risk/date=${DATE}/exec-1/`;
const sim = simulate({ seed: 5, days: 12, customers: 200, start: '2026-03-02', merchantCompromise: { rate: 0.02 } });
const all = merchantDays(sim.transactions);
const active = new Set(all.filter((d) => d.date === DATE).map((d) => d.merchantId));
const lakeDays = all.filter((d) => active.has(d.merchantId) && d.date >= '2026-03-05' && d.date <= DATE);

const COLUMNS: Readonly<Record<string, keyof MerchantDay>> = MERCHANT_DAY_COLUMNS;
const quote = (v: string) => `"${v.replaceAll('"', '""')}"`;
/** Athena's CSV of the batch query's result, rows shuffled (prepare must order them itself). */
function athenaCsv(days: readonly MerchantDay[]): string {
  const header = Object.keys(COLUMNS);
  const shuffled = [...days].sort(
    (a, b) => (`${a.merchantId}`.length % 3) - (`${b.merchantId}`.length % 3) || (a.date < b.date ? 1 : -1),
  );
  const lines = shuffled.map((d) => header.map((c) => quote(String(d[COLUMNS[c] as keyof MerchantDay]))).join(','));
  return `${[header.map(quote).join(','), ...lines].join('\n')}\n`;
}

const REQUEST: PrepareRequest = {
  action: 'prepare',
  resultUri: 's3://lake/athena-results/q-1.csv',
  date: DATE,
  workPrefix: WORK,
  inputPrefix: `${WORK}input/`,
};

function setup(rowsPerRequest = 16) {
  const objects = new MemoryObjectStore();
  objects.objects.set(REQUEST.resultUri, Buffer.from(athenaCsv(lakeDays)));
  const store = new MemoryAggregateStore();
  const deps = {
    module: merchantRisk,
    objects,
    states: new FoldingEntityStates(store),
    rowsPerRequest,
    inputName: 'features',
  };
  return { objects, store, deps };
}

const lines = (buffer: Buffer | undefined) =>
  (buffer?.toString('utf8') ?? '').split('\n').filter((l) => l.trim() !== '');

describe('GIVEN the scheduler starting a run', () => {
  const settings = { module: merchantRisk, workBucket: 'lake', now: () => new Date('2026-03-20T00:00:00Z') };
  test('WHEN it fires just after midnight THEN the run scores the UTC day before, with the module query and the day as its parameter', () => {
    const run = plan(
      {
        action: 'plan',
        executionName: '0c8d9f2a-1b2c-4d5e-8f90-123456789abc',
        input: { scheduledTime: '2026-03-13T00:30:00Z' },
      },
      settings,
    );
    expect(run.date).toBe(DATE);
    expect(run.query).toBe(merchantRisk.batch?.query);
    expect(run.parameters).toEqual([`'${DATE}'`]);
    expect(run.jobName).toBe('merchant-risk-20260312-56789abc');
    expect(run.jobName).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    expect(run.inputPrefix).toBe(
      `s3://lake/batch/merchant-risk/date=${DATE}/0c8d9f2a-1b2c-4d5e-8f90-123456789abc/input/`,
    );
  });
  test('WHEN a day is given THEN it wins over the time', () => {
    const run = plan(
      { action: 'plan', executionName: 'manual', input: { date: '2026-02-01', scheduledTime: '2026-03-13T00:30:00Z' } },
      settings,
    );
    expect(run.date).toBe('2026-02-01');
    expect(run.jobName).toBe('merchant-risk-20260201-manual');
  });
});

describe('GIVEN the batch query result of a day with its 7 days of history', () => {
  test('THEN each active merchant is scored once, from its history folded by hand, in chunks of rowsPerRequest', async () => {
    const { objects, deps } = setup(16);
    const result = await prepare(REQUEST, deps);

    expect(result.rows).toBe(active.size);
    expect(result.history).toBe(lakeDays.length - active.size);
    expect(result.requests).toBe(Math.ceil(active.size / 16));
    const bodies = lines(objects.objects.get(`${REQUEST.inputPrefix}${TRANSFORM_INPUT}`)).map((l) => JSON.parse(l));
    const rows = lines(objects.objects.get(`${WORK}${RUN_ROWS}`)).map((l) => JSON.parse(l));
    expect(rows).toHaveLength(active.size);
    const vectors = bodies.flatMap((b) => {
      const input = b.inputs[0];
      expect(input.name).toBe('features');
      expect(input.datatype).toBe('FP32');
      const [n, width] = input.shape;
      expect(width).toBe(14);
      return Array.from({ length: n }, (_, i) => input.data.slice(i * width, (i + 1) * width));
    });
    expect(vectors).toHaveLength(active.size);
    rows.forEach((row, i) => {
      const day = row.request as MerchantDay;
      expect(row.id).toBe(`${day.merchantId}/${DATE}`);
      const history = lakeDays
        .filter((d) => d.merchantId === day.merchantId && d.date < DATE)
        .reduce(foldDay, emptyHistory());
      expect(vectors[i]).toEqual(merchantRisk.features.compute(day, { merchantHistory: history }));
    });
  });

  test('THEN each scored merchant’s state, including the day, is merged into what the features table held', async () => {
    const { store, deps } = setup();
    const merchant = [...active][0] as string;
    const older = { ...(lakeDays.find((d) => d.merchantId === merchant) as MerchantDay), date: '2026-03-01' };
    await store.put(`merchantHistory#${merchant}`, 'merchantHistory', foldDay(emptyHistory(), older), undefined);

    const result = await prepare(REQUEST, deps);

    expect(result.entities).toBe(active.size);
    expect(store.items.size).toBe(active.size);
    const state = store.items.get(`merchantHistory#${merchant}`)?.state as { days: { date: string }[] };
    const expected = lakeDays.filter((d) => d.merchantId === merchant).reduce(foldDay, foldDay(emptyHistory(), older));
    expect(state).toEqual(expected);
    expect(state.days.at(-1)?.date).toBe(DATE);
    // A second run of the same night changes nothing (folding a day already folded is the same state).
    const puts = store.puts.length;
    await prepare(REQUEST, deps);
    expect(store.puts.length).toBe(puts);
  });
});

describe('GIVEN the transform has scored the prepared input', () => {
  const scoreAll = (objects: MemoryObjectStore, score: (i: number) => number, drop = 0) => {
    const bodies = lines(objects.objects.get(`${REQUEST.inputPrefix}${TRANSFORM_INPUT}`)).map((l) => JSON.parse(l));
    let k = 0;
    const out = bodies.map((b) => {
      const n = b.inputs[0].shape[0] as number;
      const data = Array.from({ length: n }, () => score(k++));
      return JSON.stringify({ model_name: 'merchant-risk', outputs: [{ name: 'score', shape: [n, 1], data }] });
    });
    objects.objects.set(
      `${WORK}output/${TRANSFORM_INPUT}.out`,
      Buffer.from(out.slice(0, out.length - drop).join('\n')),
    );
  };
  const publishRequest = {
    action: 'publish' as const,
    date: DATE,
    workPrefix: WORK,
    inputPrefix: `${WORK}input/`,
    outputPrefix: `${WORK}output/`,
    champion: 's3://artifacts/models/merchant-risk/versions/merchant-risk-v7/',
    executionArn: 'arn:aws:states:eu-west-1:1:execution:sm:exec-1',
  };
  const publishDeps = (objects: MemoryObjectStore) => ({
    module: merchantRisk,
    objects,
    thresholds: { watch: 0.3, blockReview: 0.7 },
    bootstrapVersion: 'merchant-risk-boot-1',
    outputName: 'score',
    predictionsBucket: 'lake',
    now: () => new Date('2026-03-13T00:41:00Z'),
  });

  test('THEN every prediction joins its id, is decided at the thresholds, and the summary counts them', async () => {
    const { objects, deps } = setup(16);
    await prepare(REQUEST, deps);
    scoreAll(objects, (i) => [0.1, 0.5, 0.9][i % 3] as number);

    const summary = await publish(publishRequest, publishDeps(objects));

    expect(PredictionsSummary.parse(summary)).toEqual(summary);
    expect(summary.version).toBe('merchant-risk-v7');
    expect(summary.rows).toBe(active.size);
    expect(summary.location).toBe(`s3://lake/predictions/merchant-risk/date=${DATE}/predictions.jsonl`);
    const predictions = lines(objects.objects.get(summary.location)).map((l) => JSON.parse(l));
    expect(predictions.map((p) => p.outcome).slice(0, 3)).toEqual(['clear', 'watch', 'block-review']);
    expect(predictions[4].id).toBe(`${(predictions[4].request as MerchantDay).merchantId}/${DATE}`);
    expect(Object.values(summary.outcomes).reduce((a, b) => a + b, 0)).toBe(active.size);
    expect(summary.outcomes.watch).toBe(Math.floor((active.size + 1) / 3));
    const written = JSON.parse(
      objects.objects.get(`s3://lake/predictions/merchant-risk/date=${DATE}/summary.json`)?.toString() ?? '{}',
    );
    expect(written).toEqual(summary);
  });

  test('WHEN the output is short of the input THEN nothing is published', async () => {
    const { objects, deps } = setup(16);
    await prepare(REQUEST, deps);
    scoreAll(objects, () => 0.2, 1);
    await expect(publish(publishRequest, publishDeps(objects))).rejects.toThrow(TransformOutputError);
    expect([...objects.objects.keys()].some((k) => k.includes('/predictions/'))).toBe(false);
  });

  test('WHEN a score is not a probability THEN the run fails naming it', async () => {
    const { objects, deps } = setup(16);
    await prepare(REQUEST, deps);
    scoreAll(objects, (i) => (i === 2 ? 1.5 : 0.2));
    await expect(publish(publishRequest, publishDeps(objects))).rejects.toThrow(/score 1.5 of .* is not a probability/);
  });

  test('WHEN nobody traded that day THEN an empty day is published without a transform', async () => {
    const objects = new MemoryObjectStore();
    objects.objects.set(REQUEST.resultUri, Buffer.from(athenaCsv([])));
    const result = await prepare(REQUEST, { ...setup().deps, objects });
    expect(result).toEqual({ rows: 0, requests: 0, history: 0, entities: 0 });
    const summary = await publish(publishRequest, publishDeps(objects));
    expect(summary.rows).toBe(0);
    expect(summary.outcomes).toEqual({ clear: 0, watch: 0, 'block-review': 0 });
  });

  test("WHEN the champion is still the bootstrap model THEN the run reports the bootstrap card's version", async () => {
    const objects = new MemoryObjectStore();
    objects.objects.set(REQUEST.resultUri, Buffer.from(athenaCsv([])));
    await prepare(REQUEST, { ...setup().deps, objects });
    const summary = await publish({ ...publishRequest, champion: 'bootstrap' }, publishDeps(objects));
    expect(summary.version).toBe('merchant-risk-boot-1');
  });
});

test('inferBody renders the v2 request the model server and Triton take', () => {
  expect(
    JSON.parse(
      inferBody('features', [
        [1, 2],
        [3, 4],
      ]),
    ),
  ).toEqual({
    inputs: [{ name: 'features', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }],
  });
});
