// End-to-end feedback on the local stage: labels from the API and from the bus → labels table and ground truth in S3.
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { FeedbackResponse } from '../../lambdas/shared/contracts/api.js';
import type { Label } from '../../models/shared/contracts/transaction.js';
import {
  type Caller,
  call,
  callerFor,
  type E2eStage,
  PATHS,
  refOf,
  ruleTargetsFor,
  runId,
  type SdkClients,
  STAGE_HOOK_TIMEOUT_MS,
  sdkClients,
  startE2eStage,
} from './support.js';

let e2e: E2eStage;
let aws: SdkClients;
let chargebacks: Required<Caller>;
const run = runId('feedback');

beforeAll(async () => {
  e2e = await startE2eStage('feedback');
  aws = sdkClients(e2e.stage);
  chargebacks = await callerFor(e2e.stage, 'chargeback-feed');
}, STAGE_HOOK_TIMEOUT_MS);

afterAll(async () => {
  aws?.destroy();
  await e2e?.close();
}, STAGE_HOOK_TIMEOUT_MS);

/** The environment the template gives the function behind POST /v1/feedback. */
function feedbackEnvironment(): Readonly<Record<string, string>> {
  const op = e2e.stage.api.definition.operations.find((o) => o.resourcePath === '/v1/feedback');
  const fn = op ? e2e.stage.runtime.resolve(op.functionArn) : undefined;
  if (!fn) throw new Error('no function serves POST /v1/feedback');
  return fn.environment;
}

async function storedLabel(transactionId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await aws.doc.send(
    new GetCommand({ TableName: refOf(e2e.stage, PATHS.labelsTable), Key: { transactionId }, ConsistentRead: true }),
  );
  return Item;
}

/** Ground-truth lines for a transaction under the hour folder `<prefix>/yyyy/mm/dd/hh/` of `at` (UTC). */
async function groundTruth(transactionId: string, at: Date): Promise<{ key: string; line: Record<string, unknown> }[]> {
  const env = feedbackEnvironment();
  const pad = (n: number) => String(n).padStart(2, '0');
  const hour = `${at.getUTCFullYear()}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())}/${pad(at.getUTCHours())}`;
  const prefix = `${env.GROUND_TRUTH_PREFIX?.replace(/^\/+|\/+$/g, '')}/${hour}/`;
  const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: env.GROUND_TRUTH_BUCKET, Prefix: prefix }));
  const found: { key: string; line: Record<string, unknown> }[] = [];
  for (const object of listed.Contents ?? []) {
    const got = await aws.s3.send(new GetObjectCommand({ Bucket: env.GROUND_TRUTH_BUCKET, Key: object.Key }));
    for (const text of (await got.Body?.transformToString('utf8'))?.split('\n') ?? []) {
      if (!text.trim()) continue;
      const line = JSON.parse(text) as { eventMetadata?: { eventId?: string } };
      if (line.eventMetadata?.eventId === transactionId) found.push({ key: object.Key as string, line });
    }
  }
  return found;
}

const labelEvents = (transactionId: string) =>
  e2e.stage.services
    .archive()
    .filter(
      (a) =>
        a.event['detail-type'] === 'LabelReported' &&
        (a.event.detail as { data?: { transactionId?: string } }).data?.transactionId === transactionId,
    );

describe('GIVEN the chargeback feed reports a fraud label through the API', () => {
  const label: Label = {
    transactionId: `${run}-cb`,
    isFraud: true,
    reportedAt: new Date().toISOString(),
    source: 'chargeback',
  };
  let answeredAt: Date;

  beforeAll(async () => {
    const response = await call(e2e.stage, 'POST', '/v1/feedback', { caller: chargebacks, body: label });
    answeredAt = new Date();
    expect(response.status).toBe(200);
    expect(FeedbackResponse.parse(response.json)).toMatchObject({ transactionId: label.transactionId, isFraud: true });
    await e2e.stage.settle();
  });

  it('WHEN the labels table is read THEN the label is stored', async () => {
    expect(await storedLabel(label.transactionId)).toMatchObject({
      transactionId: label.transactionId,
      isFraud: true,
      reportedAt: label.reportedAt,
      source: 'chargeback',
      reportedAtMs: Date.parse(label.reportedAt),
    });
  });

  it('WHEN the monitoring bucket is listed THEN a ground-truth line sits under the hour folder', async () => {
    expect(feedbackEnvironment().GROUND_TRUTH_BUCKET).toBe(refOf(e2e.stage, PATHS.monitoringBucket));
    // The label is filed under the hour it was collected; straddling an hour boundary the previous one holds it.
    const found = [
      ...(await groundTruth(label.transactionId, answeredAt)),
      ...(await groundTruth(label.transactionId, new Date(answeredAt.getTime() - 3_600_000))),
    ];
    expect(found).toHaveLength(1);
    expect(found[0]?.key).toMatch(/\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\.jsonl$/);
    expect(found[0]?.line).toEqual({
      groundTruthData: { data: '1', encoding: 'CSV' },
      eventMetadata: { eventId: label.transactionId },
      eventVersion: '0',
    });
  });

  it('WHEN the feedback service announces the label THEN its own LabelReported is not consumed again', () => {
    const events = labelEvents(label.transactionId);
    expect(events).toHaveLength(1);
    expect(events[0]?.event.source).toBe('aims.feedback');
    // The LabelReported rule exists (external labels reach it) but its anything-but pattern skips aims.feedback.
    expect(ruleTargetsFor(e2e.stage, 'LabelReported')).toHaveLength(1);
    const deliveries = e2e.stage.services.deliveries().filter((d) => d.eventId === events[0]?.event.id);
    expect(deliveries).toEqual([]);
  });
});

describe('GIVEN an external publisher puts LabelReported on the bus', () => {
  const label: Label = {
    transactionId: `${run}-ext`,
    isFraud: false,
    reportedAt: new Date().toISOString(),
    source: 'customer',
  };

  it('WHEN the rule delivers it THEN the label is stored and its ground truth written, without an echo', async () => {
    const put = await aws.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: refOf(e2e.stage, PATHS.bus),
            Source: 'partner.issuer-disputes',
            DetailType: 'LabelReported',
            Detail: JSON.stringify({ version: 1, data: label }),
          },
        ],
      }),
    );
    expect(put.FailedEntryCount ?? 0).toBe(0);
    const putAt = new Date();
    await e2e.stage.settle();

    const deliveries = e2e.stage.services.deliveries().filter((d) => d.eventId === put.Entries?.[0]?.EventId);
    expect(deliveries.map((d) => [d.targetArn, d.status])).toEqual(
      ruleTargetsFor(e2e.stage, 'LabelReported').map((arn) => [arn, 'delivered']),
    );
    expect(await storedLabel(label.transactionId)).toMatchObject({ isFraud: false, source: 'customer' });
    const found = [
      ...(await groundTruth(label.transactionId, putAt)),
      ...(await groundTruth(label.transactionId, new Date(putAt.getTime() - 3_600_000))),
    ];
    expect(found.map((f) => f.line.groundTruthData)).toEqual([{ data: '0', encoding: 'CSV' }]);
    // A label that came from the bus is not published again.
    expect(labelEvents(label.transactionId)).toHaveLength(1);
  });
});
