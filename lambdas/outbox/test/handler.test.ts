// The outbox handler: the middy + Powertools batch stack with fake ports (partial failures, poison, a batch that fails
// whole), then the deployed entry (handler.ts) wired from env to a local PutEvents / PutRecordBatch / SendMessageBatch
// endpoint.
import { createHash } from 'node:crypto';
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { createPowertools } from '../../shared/powertools.js';
import { lambdaContext, quietPowertools } from '../../shared/test/apigw.js';
import { startJsonServer } from '../../shared/test/local.js';
import { createOutboxHandler } from '../app.js';
import { decision, inserts, ports, streamEvent, streamRecord } from './fakes.js';

quietPowertools();

function stack() {
  const p = ports();
  const handler = createOutboxHandler({ powertools: createPowertools({ serviceName: 'outbox' }), ports: p });
  return { p, call: (event: ReturnType<typeof streamEvent>) => handler(event, lambdaContext('outbox')) };
}

describe('outbox handler', () => {
  it('GIVEN a batch whose second record’s event is refused WHEN invoked THEN only that sequence number is reported', async () => {
    const { p, call } = stack();
    p.bus.failFor.add('t-2');
    const out = await call(streamEvent(inserts([decision(1), decision(2), decision(3)], 500)));
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: '501' }] });
    expect(p.log.lines).toHaveLength(3);
  });

  it('GIVEN a poison record in the batch WHEN invoked THEN it is parked, not reported, and the rest is relayed', async () => {
    const { p, call } = stack();
    const poison = streamRecord('9', 'INSERT', { transactionId: { S: 't-x' }, decision: { S: 'perhaps' } });
    const out = await call(streamEvent([...inserts([decision(1)], 8), poison]));
    expect(out).toEqual({ batchItemFailures: [] });
    expect(p.dead.parked.map((r) => [r.recordId, r.image])).toEqual([['9', poison.dynamodb?.NewImage]]);
    expect(p.log.lines).toHaveLength(1);
  });

  it('GIVEN every record fails WHEN invoked THEN the invocation fails, so the mapping bisects and retries', async () => {
    const { p, call } = stack();
    p.log.failFor.add('t-1').add('t-2');
    await expect(call(streamEvent(inserts([decision(1), decision(2)])))).rejects.toThrow(FullBatchFailureError);
  });
});

describe('lambdas/outbox/handler.ts as deployed', () => {
  it('GIVEN env pointing at a local bus and Firehose WHEN 12 declined decisions arrive THEN ≤ 10 events a call, refused entries retried, one line each', async () => {
    let refuseOnce = true;
    const aws = await startJsonServer(({ headers, body }) => {
      const target = String(headers['x-amz-target'] ?? '');
      const request = JSON.parse(body);
      if (target.endsWith('PutEvents')) {
        // The first call refuses its first entry once (throttled): only that entry is sent again.
        const refuse = refuseOnce;
        refuseOnce = false;
        return {
          status: 200,
          body: {
            FailedEntryCount: refuse ? 1 : 0,
            Entries: request.Entries.map((_: unknown, i: number) =>
              refuse && i === 0
                ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }
                : { EventId: `e${i}` },
            ),
          },
        };
      }
      if (target.endsWith('PutRecordBatch')) {
        return {
          status: 200,
          body: {
            FailedPutCount: 0,
            Encrypted: false,
            RequestResponses: request.Records.map((_: unknown, i: number) => ({ RecordId: `r${i}` })),
          },
        };
      }
      if (target.endsWith('SendMessageBatch')) {
        return {
          status: 200,
          body: {
            Successful: request.Entries.map((e: { Id: string; MessageBody: string }) => ({
              Id: e.Id,
              MessageId: `m${e.Id}`,
              MD5OfMessageBody: createHash('md5').update(e.MessageBody, 'utf8').digest('hex'),
            })),
            Failed: [],
          },
        };
      }
      return { status: 400, body: { message: `unexpected ${target}` } };
    });
    Object.assign(process.env, {
      POWERTOOLS_SERVICE_NAME: 'outbox',
      POWERTOOLS_METRICS_NAMESPACE: 'aims-test',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_FIREHOSE: aws.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: aws.endpoint,
      AWS_ENDPOINT_URL_SQS: aws.endpoint,
      EVENT_BUS_NAME: 'aims-bus',
      DECISION_LOG_STREAM: 'aims-decisions',
      DEAD_LETTER_QUEUE_URL: `${aws.endpoint}/000000000000/outbox-dlq`,
      // Declines only: no review item is written (the review writes are tested in core.test.ts and on the stage).
      DECISIONS_TABLE: 'decisions',
    });
    try {
      const { handler } = await import('../handler.js');
      const records = Array.from({ length: 12 }, (_, i) => decision(i, { decision: 'decline', score: 0.99 }));
      const poison = streamRecord('9999', 'INSERT', { transactionId: { S: 't-x' }, decision: { S: 'perhaps' } });
      const out = await handler(streamEvent([...inserts(records), poison]), lambdaContext('outbox'));
      expect(out).toEqual({ batchItemFailures: [] });

      const bodies = (suffix: string) =>
        aws.requests.filter((r) => String(r.headers['x-amz-target']).endsWith(suffix)).map((r) => JSON.parse(r.body));
      const putEvents = bodies('PutEvents');
      // Three calls go concurrently (10, 10, 4 entries); the refused entry is sent alone after its call answered.
      expect(putEvents.map((b) => b.Entries.length).sort((a, b) => b - a)).toEqual([10, 10, 4, 1]);
      const published = putEvents.flatMap((b) => b.Entries);
      expect(published.every((e: { EventBusName: string }) => e.EventBusName === 'aims-bus')).toBe(true);
      // 24 accepted events: each decision's TransactionScored and FraudSuspected, the refused one exactly once more.
      expect(putEvents.at(-1).Entries).toEqual([putEvents[0].Entries[0]]);
      expect(published).toHaveLength(25);

      const batches = bodies('PutRecordBatch');
      expect(batches).toHaveLength(1);
      expect(batches[0].DeliveryStreamName).toBe('aims-decisions');
      const lines = batches[0].Records.map((r: { Data: string }) => Buffer.from(r.Data, 'base64').toString('utf8'));
      expect(lines.every((l: string) => l.endsWith('\n') && !l.trim().includes('\n'))).toBe(true);
      expect(lines.map((l: string) => JSON.parse(l).transactionId)).toEqual(records.map((r) => r.transactionId));

      // The poison record is parked in the dead-letter queue with its image, and not reported for retry.
      const parked = bodies('SendMessageBatch');
      expect(parked).toHaveLength(1);
      expect(parked[0].QueueUrl).toBe(`${aws.endpoint}/000000000000/outbox-dlq`);
      expect(JSON.parse(parked[0].Entries[0].MessageBody)).toMatchObject({
        kind: 'PoisonDecisionRecord',
        sequenceNumber: '9999',
        image: poison.dynamodb?.NewImage,
      });
    } finally {
      await aws.close();
    }
  });
});
