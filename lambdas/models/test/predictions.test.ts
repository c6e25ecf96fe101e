// GET /v1/models/{name}/predictions on in-memory ports: a batch model's day paged with its summary, and the 404s of a
// night that has not run and of a model not served in batch.
import { PredictionsPage, PredictionsQuery, predictionKeys } from '../../shared/contracts/api.js';
import { NotFoundError, ValidationError } from '../../shared/errors.js';
import { getPredictions, type ModelConfig } from '../core.js';
import { FRAUD, world } from './memory.js';

const MERCHANT: ModelConfig = {
  name: 'merchant-risk',
  bootstrapVersion: 'merchant-risk-boot-1',
  stateMachineArn: 'arn:aws:states:eu-west-1:111111111111:stateMachine:merchant',
  championParameter: '/aims/dev/models/merchant-risk/champion',
  packageGroup: 'aims-dev-merchant-risk',
};
const DATE = '2026-12-06';
const keys = predictionKeys(MERCHANT.name, DATE);
const ROWS = 25;

function batchWorld(written = true) {
  const w = { ...world(), models: [FRAUD, MERCHANT], predictions: { bucket: 'lake', models: [MERCHANT.name] } };
  if (written) {
    const rows = Array.from({ length: ROWS }, (_, i) =>
      JSON.stringify({ id: `m-${i}/${DATE}`, score: i / 100, outcome: 'clear', request: { merchantId: `m-${i}` } }),
    );
    w.objects.objects.set(`s3://lake/${keys.rows}`, rows.join('\n'));
    w.objects.objects.set(`s3://lake/${keys.summary}`, {
      model: MERCHANT.name,
      version: 'bootstrap',
      date: DATE,
      rows: ROWS,
      outcomes: { clear: ROWS, watch: 0, 'block-review': 0 },
      thresholds: { watch: 0.3, blockReview: 0.7 },
      location: `s3://lake/${keys.rows}`,
      executionArn: 'arn:aws:states:eu-west-1:111111111111:execution:merchant:e-1',
      completedAt: '2026-12-07T00:41:00.000Z',
    });
  }
  return w;
}

const query = (over: Record<string, string> = {}) => PredictionsQuery.parse({ date: DATE, ...over });

describe('GIVEN a night of merchant-risk predictions', () => {
  test('WHEN read in pages of 10 THEN every prediction comes once, in order, with the summary on each page', async () => {
    const w = batchWorld();
    const ids: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = PredictionsPage.parse(
        await getPredictions(w, MERCHANT.name, query({ limit: '10', ...(token ? { nextToken: token } : {}) })),
      );
      expect(page.summary.rows).toBe(ROWS);
      ids.push(...page.predictions.map((p) => p.id));
      token = page.nextToken;
      pages++;
    } while (token && pages < 10);
    expect(pages).toBe(3);
    expect(ids).toEqual(Array.from({ length: ROWS }, (_, i) => `m-${i}/${DATE}`));
  });

  test('WHEN a token was not one this route returned THEN 400', async () => {
    await expect(getPredictions(batchWorld(), MERCHANT.name, query({ nextToken: 'bm9wZQ' }))).rejects.toThrow(
      ValidationError,
    );
  });

  test('WHEN that night has not run THEN 404 saying so', async () => {
    await expect(getPredictions(batchWorld(false), MERCHANT.name, query())).rejects.toThrow(
      new NotFoundError(
        `no predictions of merchant-risk for ${DATE}: that day's batch run has not completed (it runs after the day ends, UTC)`,
      ),
    );
  });

  test('WHEN the model is not served in batch, or unknown THEN 404', async () => {
    await expect(getPredictions(batchWorld(), FRAUD.name, query())).rejects.toThrow(/not served in batch/);
    await expect(getPredictions(batchWorld(), 'nope', query())).rejects.toThrow(NotFoundError);
  });

  test('WHEN the query is out of its bounds THEN the schema refuses it', () => {
    expect(PredictionsQuery.safeParse({ date: DATE, limit: '0' }).success).toBe(false);
    expect(PredictionsQuery.safeParse({ date: '2026-13-01' }).success).toBe(false);
    expect(PredictionsQuery.parse({ date: DATE }).limit).toBe(100);
  });
});
