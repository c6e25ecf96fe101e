// POST /v1/models/<name>/labels (handler: middy, the model's own label schema, error mapper, env wiring) against
// s3rver with merchant-risk's module: the label lands in the lake as an EntityLabel, under its model and day.
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import merchantRisk from '../../../models/merchant-risk/src/module.js';
import { StoredEntityLabel } from '../../../models/shared/contracts/entity-label.js';
import type { AnyModelModule } from '../../../models/shared/module.js';
import { type LocalServer, startS3rver } from '../../features/test/local-servers.js';
import { S3JsonLinesSink } from '../../shared/adapters/jsonl-sink.js';
import { s3Client } from '../../shared/aws.js';
import { createPowertools } from '../../shared/powertools.js';
import { apiEvent } from '../../shared/test/apigw.js';
import { createLabelsHandler, labelsDepsFromEnv } from '../app.js';

const BUCKET = 'lake';
const context = { awsRequestId: 'req-ctx', functionName: 'labels' } as Context;
let s3server: LocalServer;

const labelsEvent = (body: unknown): APIGatewayProxyEvent =>
  apiEvent({ body, path: '/v1/models/merchant-risk/labels', authorizer: { clientId: 'c', scopes: 'aims/feedback' } });

async function lakeObjects(): Promise<Record<string, string>> {
  const s3 = s3Client(s3server.clientOptions);
  const list = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'entity-labels/' }));
  const out: Record<string, string> = {};
  for (const o of list.Contents ?? []) {
    const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key }));
    out[o.Key as string] = (await obj.Body?.transformToString()) ?? '';
  }
  s3.destroy();
  return out;
}

const handler = () =>
  createLabelsHandler({
    powertools: createPowertools({ serviceName: 'labels' }),
    lake: new S3JsonLinesSink(s3Client(s3server.clientOptions), BUCKET),
    schema: (merchantRisk.labels as NonNullable<typeof merchantRisk.labels>).schema,
    config: {
      modelName: merchantRisk.name,
      labels: merchantRisk.labels as NonNullable<AnyModelModule['labels']>,
    },
    now: () => new Date('2026-12-07T12:00:00Z'),
  });

beforeAll(async () => {
  s3server = await startS3rver();
  const s3 = s3Client(s3server.clientOptions);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
  Object.assign(process.env, {
    POWERTOOLS_SERVICE_NAME: 'labels',
    POWERTOOLS_METRICS_NAMESPACE: 'AimsTest',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_REGION: 'eu-west-1',
  });
});
afterAll(async () => {
  await s3server.close();
});

describe('POST /v1/models/merchant-risk/labels (handler)', () => {
  it('GIVEN a merchant label WHEN posted twice THEN 200 with the stored label, one object under its model and day', async () => {
    const label = {
      merchantId: 'm_000042',
      date: '2026-12-05',
      compromised: true,
      reportedAt: '2026-12-06T08:00:00+01:00',
    };

    const first = (await handler()(labelsEvent(label), context)) as APIGatewayProxyResult;
    const again = (await handler()(labelsEvent(label), context)) as APIGatewayProxyResult;

    expect(first.statusCode).toBe(200);
    const stored = StoredEntityLabel.parse(JSON.parse(first.body));
    expect(stored).toEqual({
      model: 'merchant-risk',
      entityId: 'm_000042',
      day: '2026-12-05',
      outcome: true,
      reportedAt: '2026-12-06T08:00:00+01:00',
      source: 'investigation',
      receivedAt: '2026-12-07T12:00:00.000Z',
    });
    expect(JSON.parse(again.body)).toEqual(stored);
    const objects = await lakeObjects();
    const keys = Object.keys(objects).filter((k) => k.includes('m_000042') || objects[k]?.includes('m_000042'));
    expect(keys).toEqual([
      expect.stringMatching(/^entity-labels\/model=merchant-risk\/dt=2026-12-05\/[0-9a-f]{32}\.json$/),
    ]);
    expect(JSON.parse(objects[keys[0] as string] as string)).toEqual(stored);
  });

  it('GIVEN a later report that the merchant was not compromised WHEN posted THEN kept beside the first (the query picks the latest)', async () => {
    const before = Object.keys(await lakeObjects()).length;
    const label = {
      merchantId: 'm_000042',
      date: '2026-12-05',
      compromised: false,
      reportedAt: '2026-12-07T09:00:00Z',
      source: 'acquirer',
    };

    const res = (await handler()(labelsEvent(label), context)) as APIGatewayProxyResult;

    expect(res.statusCode).toBe(200);
    expect(Object.keys(await lakeObjects())).toHaveLength(before + 1);
  });

  it.each([
    ['a transaction label', { transactionId: 't-1', isFraud: true, reportedAt: '2026-12-06T08:00:00Z' }],
    [
      'a day that is not a date',
      { merchantId: 'm_1', date: '2026-13-40', compromised: true, reportedAt: '2026-12-06T08:00:00Z' },
    ],
    [
      'an unknown source',
      {
        merchantId: 'm_1',
        date: '2026-12-05',
        compromised: true,
        reportedAt: '2026-12-06T08:00:00Z',
        source: 'rumour',
      },
    ],
  ])('GIVEN %s WHEN posted THEN 400 validation_error and nothing stored', async (_what, body) => {
    const before = Object.keys(await lakeObjects()).length;

    const res = (await handler()(labelsEvent(body), context)) as APIGatewayProxyResult;

    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('validation_error');
    expect(Object.keys(await lakeObjects())).toHaveLength(before);
  });
});

describe('labelsDepsFromEnv', () => {
  const env = {
    POWERTOOLS_SERVICE_NAME: 'labels',
    POWERTOOLS_METRICS_NAMESPACE: 'T',
    AWS_REGION: 'eu-west-1',
    LAKE_BUCKET: BUCKET,
  };

  it('GIVEN a module without labels THEN the cold start refuses it, naming the model', () => {
    const { labels: _none, ...unlabelled } = merchantRisk;
    expect(() => labelsDepsFromEnv(unlabelled as AnyModelModule, { ...env, MODEL_NAME: 'merchant-risk' })).toThrow(
      /merchant-risk declares no entity labels/,
    );
  });

  it('GIVEN MODEL_NAME naming another model THEN the cold start refuses the bundle', () => {
    expect(() => labelsDepsFromEnv(merchantRisk as AnyModelModule, { ...env, MODEL_NAME: 'fraud-detector' })).toThrow(
      /MODEL_NAME is 'fraud-detector' but the bundled module is 'merchant-risk'/,
    );
  });
});
