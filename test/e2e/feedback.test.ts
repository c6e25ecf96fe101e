// End-to-end feedback on the local stage: labels from the API and from the bus → labels table and ground truth in S3.
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { FeedbackResponse, ScoreResponse } from '../../lambdas/shared/contracts/api.js';
import { AuditTrail, DecisionsPage, LiveStats, OverrideRecord } from '../../lambdas/shared/contracts/review.js';
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
  transaction,
} from './support.js';

let e2e: E2eStage;
let aws: SdkClients;
let chargebacks: Required<Caller>;
let analyst: Required<Caller>;
let gateway: Required<Caller>;
const run = runId('feedback');

beforeAll(async () => {
  e2e = await startE2eStage('feedback');
  aws = sdkClients(e2e.stage);
  chargebacks = await callerFor(e2e.stage, 'chargeback-feed');
  analyst = await callerFor(e2e.stage, 'analyst-console');
  gateway = await callerFor(e2e.stage, 'merchant-gateway');
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

// The review API on the same stage (issue 13): the queue fills from scored review decisions through the outbox, an
// override is a second audit record with its event, a label is readable and resolves the queue item, and the
// analysts' client is refused the admin routes.
describe('GIVEN review decisions scored through the API', () => {
  const reviewed: ScoreResponse[] = [];

  beforeAll(async () => {
    // A grid from plain to risky (category, hour, amount; online, no device, each a new customer): the scores of the
    // model in force cross the review band somewhere in it; the first two reviews are kept.
    const at = (hour: number) => {
      const d = new Date();
      d.setUTCHours(hour, 0, 0, 0);
      return d.toISOString();
    };
    const categories = ['electronics', 'travel', 'money_transfer', 'digital_goods', 'gambling'] as const;
    const candidates = categories.flatMap((merchantCategory, i) =>
      [14, 3].flatMap((hour) =>
        [100, 900, 3000].map((amount) => {
          const id = `${run}-rv-${i}-${hour}-${amount}`;
          const { deviceId: _d, ...t } = transaction(id, {
            amount,
            merchantCategory,
            channel: 'online',
            timestamp: at(hour),
          });
          return t;
        }),
      ),
    );
    for (const t of candidates) {
      const res = await call(e2e.stage, 'POST', '/v1/score', { caller: gateway, body: t });
      expect(res.status).toBe(200);
      const scored = ScoreResponse.parse(res.json);
      if (scored.decision === 'review') reviewed.push(scored);
      if (reviewed.length === 2) break;
    }
    // The outbox (the decisions stream's mapping) opens the review items.
    await e2e.stage.settle();
  });

  const queue = async () => {
    const res = await call(e2e.stage, 'GET', '/v1/review-queue?limit=100', { caller: analyst });
    expect(res.status).toBe(200);
    return DecisionsPage.parse(res.json).items.map((i) => i.transactionId);
  };

  it('WHEN the review queue is read THEN it holds them, newest first; the decisions list shows them too', async () => {
    expect(reviewed.map((r) => r.decision)).toEqual(['review', 'review']);
    const ids = reviewed.map((r) => r.transactionId);
    const pending = await queue();
    expect(pending.filter((id) => ids.includes(id))).toEqual([...ids].reverse());
    const list = await call(e2e.stage, 'GET', '/v1/decisions?decision=review&limit=100', { caller: analyst });
    expect(DecisionsPage.parse(list.json).items.map((i) => i.transactionId)).toEqual(expect.arrayContaining(ids));
  });

  it('WHEN one is overridden THEN the audit shows both records, DecisionOverridden is out and the queue drops it', async () => {
    const id = reviewed[0]?.transactionId as string;
    const res = await call(e2e.stage, 'POST', `/v1/decisions/${id}/overrides`, {
      caller: analyst,
      body: { decision: 'decline', note: 'customer denies the purchase' },
    });
    expect(res.status).toBe(201);
    const record = OverrideRecord.parse(res.json);
    expect(record).toMatchObject({ transactionId: id, previousDecision: 'review', decision: 'decline' });
    await e2e.stage.settle();
    const original = await call(e2e.stage, 'GET', `/v1/decisions/${id}`, { caller: analyst });
    expect(original.json).toMatchObject({ transactionId: id, decision: 'review' });
    const audit = AuditTrail.parse(
      (await call(e2e.stage, 'GET', `/v1/decisions/${id}/audit`, { caller: analyst })).json,
    );
    expect(audit).toMatchObject({
      overrides: [record],
      effectiveDecision: 'decline',
      review: { resolvedBy: 'override' },
    });
    const events = e2e.stage.services
      .archive()
      .filter((a) => a.event['detail-type'] === 'DecisionOverridden' && a.event.source === 'aims.review');
    expect(events.map((a) => (a.event.detail as { data: OverrideRecord }).data)).toContainEqual(record);
    expect(await queue()).not.toContain(id);
    const conflict = await call(e2e.stage, 'POST', `/v1/decisions/${id}/overrides`, {
      caller: analyst,
      body: { decision: 'decline', note: 'again' },
    });
    expect(conflict.status).toBe(409);
  });

  it('WHEN the other is labelled THEN the label is readable in its audit and the queue drops it', async () => {
    const id = reviewed[1]?.transactionId as string;
    const body = { transactionId: id, isFraud: false, reportedAt: new Date().toISOString(), source: 'analyst' };
    expect((await call(e2e.stage, 'POST', '/v1/feedback', { caller: analyst, body })).status).toBe(200);
    const audit = AuditTrail.parse(
      (await call(e2e.stage, 'GET', `/v1/decisions/${id}/audit`, { caller: analyst })).json,
    );
    expect(audit).toMatchObject({
      label: { transactionId: id, isFraud: false, source: 'analyst' },
      review: { status: 'resolved', resolvedBy: 'label' },
      effectiveDecision: 'review',
    });
    expect(await queue()).not.toContain(id);
  });

  it('WHEN the live figures are read THEN this minute counts the reviews', async () => {
    const res = await call(e2e.stage, 'GET', '/v1/stats/live?minutes=5', { caller: analyst });
    const stats = LiveStats.parse(res.json);
    expect(stats.minutes).toHaveLength(5);
    expect(stats.minutes.reduce((n, m) => n + m.review, 0)).toBeGreaterThanOrEqual(2);
  });

  it('WHEN the analysts client calls an admin route THEN 403, while the models page (read) is open to it', async () => {
    const retrain = await call(e2e.stage, 'POST', '/v1/models/fraud-detector/retrain', { caller: analyst, body: {} });
    expect(retrain.status).toBe(403);
    expect((await call(e2e.stage, 'GET', '/v1/models', { caller: analyst })).status).toBe(200);
  });
});
