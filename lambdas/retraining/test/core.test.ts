// The retraining tasks over an in-memory store: the training set train.py reads, and evaluate's gate + packaging.
import fraudDetector from '../../../models/fraud-detector/src/module.js';
import { merchantDays } from '../../../models/merchant-risk/src/aggregates.js';
import { MERCHANT_DAY_COLUMNS } from '../../../models/merchant-risk/src/batch.js';
import { buildMerchantRows } from '../../../models/merchant-risk/src/dataset.js';
import { merchantDayId } from '../../../models/merchant-risk/src/features.js';
import { merchantCompromises, merchantDayLabels } from '../../../models/merchant-risk/src/labels.js';
import merchantRisk from '../../../models/merchant-risk/src/module.js';
import { simulate } from '../../../models/shared/simulator/simulate.js';
import { evaluate, prepareDataset } from '../core.js';
import { championScores } from '../evaluation.js';
import { readTarGz } from '../tar.js';
import { athenaCsv, FEATURES, MemoryObjectStore, TEMPLATE, trainingOutput } from './fixtures.js';

const prefix = 's3://lake/training-sets/fraud-detector/run-1/';

describe('GIVEN an Athena result of labelled decisions', () => {
  test('WHEN the dataset is prepared THEN train.py gets time-ordered splits with an unquoted header and rules scores', async () => {
    const store = new MemoryObjectStore();
    await store.put('s3://lake/athena-results/q.csv', athenaCsv(100));
    const out = await prepareDataset(
      {
        resultUri: 's3://lake/athena-results/q.csv',
        outputPrefix: prefix,
        features: [...FEATURES],
        label: 'label',
        minRows: 50,
        minPositives: 5,
      },
      store,
      fraudDetector,
    );
    expect(out.rows).toEqual({ train: 70, validation: 15, test: 15 });
    const train = (await store.get(`${prefix}train.csv`)).toString().trim().split('\n');
    expect(train[0]).toBe(
      ['transaction_id', ...FEATURES, 'label', 'event_time', 'rules_score', 'champion_score'].join(','),
    );
    expect(train[1]?.startsWith('t0,')).toBe(true);
    const test = (await store.get(`${prefix}test.csv`)).toString().trim().split('\n');
    expect(test.at(-1)?.startsWith('t99,')).toBe(true);
    const rules = Number(train[1]?.split(',').at(-2));
    expect(rules).toBeGreaterThanOrEqual(0);
    expect(rules).toBeLessThan(1);
    const spec = JSON.parse((await store.get(`${prefix}dataset.json`)).toString());
    expect(spec).toMatchObject({ features: [...FEATURES], label: 'label', idColumn: 'transaction_id' });
  });

  test('WHEN the dataset names another model’s features THEN the baseline is not run on them and the task says why', async () => {
    const store = new MemoryObjectStore();
    await store.put('s3://lake/athena-results/q.csv', athenaCsv(100));
    const request = {
      resultUri: 's3://lake/athena-results/q.csv',
      outputPrefix: prefix,
      features: [...FEATURES].reverse(),
      label: 'label',
      minRows: 50,
      minPositives: 5,
    };
    await expect(prepareDataset(request, store, fraudDetector)).rejects.toThrow(
      /the dataset's features are not those of fraud-detector: in a different order/,
    );
  });

  test('WHEN the lake holds too few fraud labels THEN the task fails and says how many it found', async () => {
    const store = new MemoryObjectStore();
    await store.put('s3://lake/r.csv', athenaCsv(30));
    await expect(
      prepareDataset(
        {
          resultUri: 's3://lake/r.csv',
          outputPrefix: prefix,
          features: [...FEATURES],
          label: 'label',
          minRows: 10,
          minPositives: 20,
        },
        store,
        fraudDetector,
      ),
    ).rejects.toThrow('the lake holds 30 labelled decisions with 3 positive labels; training needs at least 10 and 20');
  });
});

describe('GIVEN a finished training job', () => {
  const versionPrefix = 's3://artifacts/models/fraud-detector/versions/fraud-detector-1/';
  const request = {
    modelName: 'fraud-detector',
    version: 'fraud-detector-1',
    trainingArtifactUri: 's3://artifacts/training/fraud-detector/job/output/model.tar.gz',
    datasetPrefix: prefix,
    versionPrefix,
    features: [...FEATURES],
    label: 'label',
    gate: { minAucPr: 0.3, minRecallLiftVsRules: 1.3, maxRegressionVsChampion: 0.05 },
    triton: { template: TEMPLATE, maxBatchSize: 256, maxQueueDelayMicroseconds: 2000, instanceType: 'ml.g5.xlarge' },
  };
  async function storeWith(metrics: unknown) {
    const store = new MemoryObjectStore();
    await store.put('s3://lake/r.csv', athenaCsv(200));
    await prepareDataset(
      {
        resultUri: 's3://lake/r.csv',
        outputPrefix: prefix,
        features: [...FEATURES],
        label: 'label',
        minRows: 10,
        minPositives: 5,
      },
      store,
      fraudDetector,
    );
    await store.put(request.trainingArtifactUri, trainingOutput(metrics));
    return store;
  }

  test('WHEN the challenger beats the bar, the rules and the champion THEN the version files and Triton archive are written', async () => {
    const store = await storeWith({ model: { aucPr: 0.99, recallAt1pct: 0.9 }, rules: { recallAt1pct: 0.3 } });
    const out = await evaluate(request, store, fraudDetector);
    expect(out).toMatchObject({ passed: true, modelDataUri: `${versionPrefix}model.tar.gz`, reasons: [] });
    const triton = readTarGz(await store.get(`${versionPrefix}model.tar.gz`))
      .map((e) => e.path)
      .sort();
    expect(triton).toEqual(['fraud-detector/1/model.onnx', 'fraud-detector/config.pbtxt']);
    const config = readTarGz(await store.get(`${versionPrefix}model.tar.gz`)).find((e) => e.path.endsWith('pbtxt'));
    expect(config?.data.toString()).toContain('kind: KIND_GPU');
    for (const file of [
      'baseline/statistics.json',
      'baseline/constraints.json',
      'baseline/psi-bins.json',
      'evaluation.json',
    ]) {
      expect(store.objects.has(`${versionPrefix}${file}`)).toBe(true);
    }
  });

  test('WHEN the challenger is worse than the champion on the same holdout THEN nothing is packaged and the reason is given', async () => {
    // The champion's served scores separate the test rows perfectly (AUC-PR 1.0); the challenger reports 0.5.
    const store = await storeWith({ model: { aucPr: 0.5, recallAt1pct: 0.9 }, rules: { recallAt1pct: 0.3 } });
    const out = await evaluate(request, store, fraudDetector);
    expect(out.passed).toBe(false);
    expect(out.reasons.join('\n')).toMatch(/notWorseThanChampion: challenger AUC-PR 0\.5000 vs champion 1\.0000/);
    expect(store.objects.has(`${versionPrefix}model.tar.gz`)).toBe(false);
    expect(store.objects.has(`${versionPrefix}evaluation.json`)).toBe(true);
  });

  test('WHEN metrics.json lacks what the model’s gate reads THEN the gate fails, saying what is missing, and nothing is packaged', async () => {
    const store = await storeWith({ model: { aucPr: 0.99, recallAt1pct: 0.9 }, rules: null });
    const out = await evaluate(request, store, fraudDetector);
    expect(out.passed).toBe(false);
    expect(out.reasons.join('\n')).toMatch(/^qualityGate: .*metrics\.json lacks rules\.recallAt1pct$/m);
    expect(store.objects.has(`${versionPrefix}model.tar.gz`)).toBe(false);
  });

  test('WHEN the model was trained on another feature list THEN packaging refuses it', async () => {
    const store = await storeWith({ model: { aucPr: 0.99, recallAt1pct: 0.9 }, rules: { recallAt1pct: 0.3 } });
    await store.put(
      request.trainingArtifactUri,
      trainingOutput(
        { model: { aucPr: 0.99, recallAt1pct: 0.9 }, rules: { recallAt1pct: 0.3 } },
        [...FEATURES].reverse(),
      ),
    );
    await expect(evaluate(request, store, fraudDetector)).rejects.toThrow(/trained on a different feature list/);
  });
});

describe('GIVEN an Athena result of merchant-days (a model whose training set the lake rebuilds from requests)', () => {
  const sim = simulate({ seed: 3, days: 12, customers: 300, start: '2026-03-02', merchantCompromise: { rate: 0.03 } });
  const days = merchantDays(sim.transactions);
  const truth = merchantDayLabels(days, merchantCompromises(sim.transactions, sim.truth));
  const firstLabelled = '2026-03-05';
  // As Athena writes it: every value quoted, the history days' label NULL (an empty unquoted field).
  const columns = Object.keys(MERCHANT_DAY_COLUMNS);
  const csv = [
    [...columns, 'label'].join(','),
    ...days.map((d) => {
      const label = d.date < firstLabelled ? '' : `"${truth.get(merchantDayId(d)) ? 1 : 0}"`;
      return [...Object.values(MERCHANT_DAY_COLUMNS).map((f) => `"${d[f]}"`), label].join(',');
    }),
  ].join('\n');
  const request = {
    resultUri: 's3://lake/athena-results/m.csv',
    outputPrefix: 's3://lake/training-sets/merchant-risk/run-1/',
    features: [...merchantRisk.features.names],
    label: 'label',
    minRows: 50,
    minPositives: 1,
  };

  test('WHEN the dataset is prepared THEN labelled days become rows scored from the history before them, unlabelled ones only history', async () => {
    const store = new MemoryObjectStore();
    await store.put(request.resultUri, csv);

    const out = await prepareDataset(request, store, merchantRisk);

    const expected = buildMerchantRows(
      days,
      new Map([...truth].filter(([id]) => (id.split('/')[1] as string) >= firstLabelled)),
    );
    expect(out.rows.train + out.rows.validation + out.rows.test).toBe(expected.length);
    expect(out.positives.train + out.positives.validation + out.positives.test).toBe(
      expected.filter((r) => r.label === 1).length,
    );
    const train = (await store.get(`${request.outputPrefix}train.csv`)).toString().trim().split('\n');
    const first = expected[0] as (typeof expected)[number];
    // The first labelled day's features come from the 3 history days before it, as serving computes them.
    expect(train[1]).toBe([first.id, ...first.features, first.label, first.eventTime, first.rulesScore, ''].join(','));
  });

  test('WHEN the query says where each label came from THEN dataset.json and the task count the labelled rows per source', async () => {
    const lines = csv.split('\n');
    let reported = 0;
    const withSources = [
      `${lines[0]},label_source`,
      ...lines.slice(1).map((line) => {
        if (line.endsWith(',')) return `${line},`;
        // The first labelled merchant-days reported, the others derived from chargebacks.
        return `${line},"${reported++ < 7 ? 'reported' : 'derived'}"`;
      }),
    ].join('\n');
    const store = new MemoryObjectStore();
    await store.put(request.resultUri, withSources);

    const out = await prepareDataset(request, store, merchantRisk);

    const total = out.rows.train + out.rows.validation + out.rows.test;
    expect(out.labelSources).toEqual({ reported: 7, derived: total - 7 });
    const dataset = JSON.parse((await store.get(`${request.outputPrefix}dataset.json`)).toString()) as {
      labelSources: unknown;
    };
    expect(dataset.labelSources).toEqual(out.labelSources);
  });

  test('WHEN the query joins the champion’s served scores THEN the holdout carries them for the gate’s comparison', async () => {
    const lines = csv.split('\n');
    // The nightly runs scored every labelled merchant-day but the first ten.
    let seen = 0;
    const withChampion = [
      `${lines[0]},champion_score`,
      ...lines.slice(1).map((line) => {
        if (line.endsWith(',')) return `${line},`;
        return seen++ < 10 ? `${line},` : `${line},"0.${String(seen).padStart(4, '0')}"`;
      }),
    ].join('\n');
    const store = new MemoryObjectStore();
    await store.put(request.resultUri, withChampion);

    const out = await prepareDataset(request, store, merchantRisk);

    const test = (await store.get(`${request.outputPrefix}test.csv`)).toString();
    const champion = championScores(test, 'label');
    expect(champion.labels).toHaveLength(out.rows.test);
    expect(champion.scores.every((s) => s > 0 && s < 1)).toBe(true);
    const train = (await store.get(`${request.outputPrefix}train.csv`)).toString().trim().split('\n');
    // The oldest labelled days had no run: no champion score, so they are left out of the comparison.
    expect(train[1]?.endsWith(',')).toBe(true);
  });

  test('WHEN a champion score is not a number THEN the task says which row', async () => {
    const lines = csv.split('\n');
    const bad = [`${lines[0]},champion_score`, ...lines.slice(1).map((l) => `${l},${l.endsWith(',') ? '' : '"n/a"'}`)];
    const store = new MemoryObjectStore();
    await store.put(request.resultUri, bad.join('\n'));
    await expect(prepareDataset(request, store, merchantRisk)).rejects.toThrow(/champion_score 'n\/a' is not a number/);
  });

  test('WHEN a label is neither 0, 1 nor empty THEN the task says which row', async () => {
    const store = new MemoryObjectStore();
    await store.put(request.resultUri, csv.replace(/"0"$/m, '"yes"'));
    await expect(prepareDataset(request, store, merchantRisk)).rejects.toThrow(/label must be 0, 1 or empty/);
  });
});
