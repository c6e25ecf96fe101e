// Benchmark of the predict route of merchant-risk, in process: the deployed wiring (env → adapters → core inside the
// middy stack) against dynalite and the real local model server serving merchant-risk's bootstrap, next to the bare
// calls it makes on its request path (features BatchGetItem, the endpoint's batched occlusion call, the audit PutItem)
// measured in the same run on the same servers. No API emulator or Lambda worker: what the route itself adds.
// Run: npx tsx bench/predict.bench.ts   (about 30 s; writes bench/results/predict.json)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createPredictHandler, predictDepsFromEnv } from '../lambdas/predict/app.js';
import { putAuditItemOnce } from '../lambdas/shared/adapters/decision-store.js';
import { DynamoFeatureReader } from '../lambdas/shared/adapters/feature-reader.js';
import { SageMakerModelEndpoint } from '../lambdas/shared/adapters/model-endpoint.js';
import { sageMakerRuntimeClient } from '../lambdas/shared/aws.js';
import { aggregateKey } from '../lambdas/shared/contracts/features.js';
import { occlusionRows } from '../lambdas/shared/inference.js';
import { createTable, startBootstrapEndpoint, startDynalite, TABLES } from '../lambdas/shared/test/local.js';
import { emptyHistory, foldDay, type MerchantDay } from '../models/merchant-risk/src/features.js';
import merchantRisk, { type MerchantStates } from '../models/merchant-risk/src/module.js';
import { type Figure, info, median, printTable, round, writeResult } from './support/figures.js';

const MERCHANTS = 200;
const WARM_UP = 50;
const REQUESTS = 400;
const say = (line: string) => process.stdout.write(`${line}\n`);
const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
};

const day = (m: number, date: string, over: Partial<MerchantDay> = {}): MerchantDay => ({
  merchantId: `bench-m-${m}`,
  date,
  count: 9 + (m % 7),
  amountSum: 420 + m,
  amountMax: 90,
  smallCount: m % 3,
  distinctCustomers: 9,
  newCustomers: 3,
  nightCount: m % 5,
  crossBorderCount: 0,
  onlineCount: m % 4,
  ...over,
});

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'aims-bench-predict-'));
  const [dynamo, endpoint] = await Promise.all([startDynalite(), startBootstrapEndpoint('merchant-risk', dir)]);
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: endpoint.url,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  const client = new DynamoDBClient(dynamo.clientOptions);
  const doc = DynamoDBDocumentClient.from(client);
  try {
    for (const t of [TABLES.features('features'), TABLES.decisions('decisions')]) await createTable(client, t);
    for (let m = 0; m < MERCHANTS; m++) {
      const week = [1, 2, 3, 4, 5, 6, 7].reduce((s, d) => foldDay(s, day(m, `2026-11-2${d}`)), emptyHistory());
      await doc.send(
        new PutCommand({
          TableName: 'features',
          Item: { pk: aggregateKey('merchantHistory', `bench-m-${m}`), state: week },
        }),
      );
    }
    const env = {
      ...process.env,
      POWERTOOLS_SERVICE_NAME: 'predict',
      POWERTOOLS_METRICS_NAMESPACE: 'aims-bench',
      FEATURES_TABLE: 'features',
      DECISIONS_TABLE: 'decisions',
      MODEL_ENDPOINT_NAME: 'aims-dev-merchant-risk',
      MODEL_NAME: 'merchant-risk',
      // The dev stage's timeout: a slower answer would be a baseline fallback, counted below.
      MODEL_TIMEOUT_MS: '200',
      MODEL_THRESHOLDS: '{"watch":0.07,"blockReview":0.25}',
      DECISION_TTL_DAYS: '30',
    };
    const handler = createPredictHandler(predictDepsFromEnv(merchantRisk, env));
    const context = { awsRequestId: 'bench', functionName: 'predict', getRemainingTimeInMillis: () => 10_000 };
    const request = (i: number, tag: string) => ({
      resource: '/v1/models/merchant-risk/predict',
      path: '/v1/models/merchant-risk/predict',
      httpMethod: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `${tag}-${i}` },
      body: JSON.stringify(day(i % MERCHANTS, '2026-11-28', { nightCount: i % 9 })),
      isBase64Encoded: false,
      requestContext: { requestId: `${tag}-${i}` },
    });
    let degraded = 0;
    let non200 = 0;
    const call = async (i: number, tag: string) => {
      const res = (await handler(request(i, tag) as never, context as never)) as { statusCode: number; body: string };
      if (res.statusCode !== 200) non200++;
      else if ((JSON.parse(res.body) as { degraded: boolean }).degraded) degraded++;
    };
    say(`▶ warm-up: ${WARM_UP} predictions`);
    for (let i = 0; i < WARM_UP; i++) await call(i, 'warm');
    degraded = 0;
    non200 = 0;
    const reader = new DynamoFeatureReader(doc, 'features', merchantRisk.entities);
    const model = new SageMakerModelEndpoint({
      client: sageMakerRuntimeClient({ requestTimeoutMs: 1_000 }),
      endpointName: 'aims-dev-merchant-risk',
      modelName: 'merchant-risk',
    });
    const sample = day(1, '2026-11-28');
    const vector = merchantRisk.features.compute(sample, (await reader.read(sample)) as unknown as MerchantStates);
    const rows = occlusionRows(vector, merchantRisk.explanation.reference);
    // The audit write as the route makes it: a real prediction record (same size), under fresh keys.
    const { Item: record } = await doc.send(
      new GetCommand({ TableName: 'decisions', Key: { transactionId: 'prediction#merchant-risk#warm-0' } }),
    );
    if (!record) throw new Error('the first prediction left no audit record');
    // Interleaved (one prediction, then each bare call once), so both see the same moment of this noisy machine.
    say(`▶ ${REQUESTS} predictions, one at a time, each followed by the bare calls`);
    const route: number[] = [];
    const bare: Record<string, number[]> = {
      'features BatchGetItem': [],
      'endpoint invoke (15 rows)': [],
      'audit PutItem': [],
    };
    for (let i = 0; i < REQUESTS; i++) {
      route.push(await timed(() => call(i, 'run')));
      const d = day(i % MERCHANTS, '2026-11-28');
      bare['features BatchGetItem']?.push(await timed(() => reader.read(d)));
      bare['endpoint invoke (15 rows)']?.push(
        await timed(() => model.invoke(rows, { inferenceId: `bare-${i}`, signal: new AbortController().signal })),
      );
      bare['audit PutItem']?.push(
        await timed(() => putAuditItemOnce(doc, 'decisions', { ...record, transactionId: `prediction#bare#${i}` })),
      );
    }
    const sumAt = (q: number) => Object.values(bare).reduce((sum, v) => sum + quantile(v, q), 0);
    const p50 = quantile(route, 0.5);
    const p99 = quantile(route, 0.99);
    const against = (name: string, value: number, sum: number, factor: number, q: string): Figure => ({
      name,
      value: round(value, 2),
      unit: 'ms',
      target: `<= ${factor} × bare-call sum ${q}`,
      baseline: round(sum, 2),
      ratio: round(value / sum, 2),
      pass: value <= factor * sum && non200 === 0,
    });
    const figures: Figure[] = [
      against('merchant-risk predict p50 (in process)', p50, sumAt(0.5), 1.5, 'p50'),
      against('merchant-risk predict p99 (in process)', p99, sumAt(0.99), 2, 'p99'),
      {
        name: 'predictions the baseline answered (model timeout 200 ms)',
        value: degraded,
        unit: 'predictions',
        target: '0',
        baseline: null,
        ratio: null,
        pass: degraded === 0,
      },
      info('predict rate, one request at a time', REQUESTS / (route.reduce((a, b) => a + b, 0) / 1000), 'req/s'),
      info('predict median (mean of middle two)', median(route), 'ms'),
      ...Object.entries(bare).map(([name, v]) => info(`bare ${name} p50`, quantile(v, 0.5), 'ms')),
      info('bare-call sum p99', sumAt(0.99), 'ms'),
    ];
    printTable(figures);
    const file = writeResult('predict', started, figures, { requests: REQUESTS, non200, degraded });
    say(`\nwrote ${file}`);
  } finally {
    client.destroy();
    await Promise.all([endpoint.close(), dynamo.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
