// The Firehose decision log with the real SDK against a local PutRecordBatch endpoint: batches of at most 500
// records, refused records retried, a call the SDK gives up on failing only its own records. The SQS dead letters
// likewise against a local SendMessageBatch endpoint.
import { createHash } from 'node:crypto';
import { firehoseClient, sqsClient } from '../../shared/aws.js';
import { startJsonServer } from '../../shared/test/local.js';
import {
  FirehoseDecisionLog,
  PUT_RECORD_BATCH_MAX_RECORDS,
  SEND_MESSAGE_BATCH_MAX,
  SqsDeadLetters,
} from '../adapters.js';
import { decisionLogRecord } from '../core.js';
import { decision } from './fakes.js';

type Batch = { DeliveryStreamName: string; Records: { Data: string }[] };
const idOf = (r: { Data: string }) => JSON.parse(Buffer.from(r.Data, 'base64').toString('utf8')).transactionId;

/** A PutRecordBatch endpoint that refuses the records `refuse` names (by transactionId) and accepts the rest. */
const firehose = (refuse: (id: string) => { ErrorCode: string; ErrorMessage: string } | undefined) =>
  startJsonServer(({ body }) => {
    const responses = (JSON.parse(body) as Batch).Records.map((r) => refuse(idOf(r)) ?? { RecordId: `r-${idOf(r)}` });
    const failed = responses.filter((r) => 'ErrorCode' in r).length;
    return { status: 200, body: { FailedPutCount: failed, Encrypted: false, RequestResponses: responses } };
  });
const logAt = (endpoint: { clientOptions: Parameters<typeof firehoseClient>[0] }, maxAttempts = 3) =>
  new FirehoseDecisionLog({
    client: firehoseClient(endpoint.clientOptions),
    deliveryStreamName: 'aims-decisions',
    maxAttempts,
    baseDelayMs: 1,
  });

describe('FirehoseDecisionLog', () => {
  it('GIVEN 501 lines and one record refused once WHEN appending THEN two calls of ≤ 500, and only the refused one again', async () => {
    const seen = new Map<string, number>();
    const server = await firehose((id) => {
      seen.set(id, (seen.get(id) ?? 0) + 1);
      return id === 't-7' && seen.get(id) === 1
        ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'busy' }
        : undefined;
    });
    try {
      const log = logAt(server);
      const lines = Array.from({ length: 501 }, (_, i) => decisionLogRecord(decision(i)));
      const out = await log.appendEach(lines);
      expect(out.every((f) => f === undefined)).toBe(true);
      const calls = server.requests.map((r) => JSON.parse(r.body) as Batch);
      // The two batches go concurrently; the retry of the refused record comes after its batch answered.
      expect(calls.map((c) => c.Records.length).sort((a, b) => b - a)).toEqual([PUT_RECORD_BATCH_MAX_RECORDS, 1, 1]);
      expect(calls.at(-1)?.Records.map(idOf)).toEqual(['t-7']);
      expect(seen.get('t-7')).toBe(2);
      expect(calls.every((c) => c.DeliveryStreamName === 'aims-decisions')).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('GIVEN a record refused on every attempt WHEN appending THEN its failure is returned and the others are accepted', async () => {
    const server = await firehose((id) =>
      id === 't-1' ? { ErrorCode: 'InternalFailure', ErrorMessage: 'no' } : undefined,
    );
    try {
      const log = logAt(server, 2);
      const out = await log.appendEach([0, 1, 2].map((i) => decisionLogRecord(decision(i))));
      expect(out).toEqual([undefined, { errorCode: 'InternalFailure', errorMessage: 'no' }, undefined]);
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('GIVEN the endpoint fails the whole call WHEN appending THEN every record of the call reports the error', async () => {
    const server = await startJsonServer(() => ({
      status: 400,
      body: { __type: 'ResourceNotFoundException', message: 'no such stream' },
    }));
    try {
      const log = new FirehoseDecisionLog({ client: firehoseClient(server.clientOptions), deliveryStreamName: 'gone' });
      const out = await log.appendEach([decisionLogRecord(decision(1)), decisionLogRecord(decision(2))]);
      expect(out).toEqual([
        { errorCode: 'ResourceNotFoundException', errorMessage: 'no such stream' },
        { errorCode: 'ResourceNotFoundException', errorMessage: 'no such stream' },
      ]);
    } finally {
      await server.close();
    }
  });
});

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');
type MessageBatch = { QueueUrl: string; Entries: { Id: string; MessageBody: string }[] };
const QUEUE_URL = 'http://127.0.0.1/000000000000/outbox-dlq';
/** A SendMessageBatch endpoint that fails the messages `refuse` names (by sequence number). */
const sqs = (refuse: (sequenceNumber: string) => boolean) =>
  startJsonServer(({ body }) => {
    const entries = (JSON.parse(body) as MessageBatch).Entries;
    const seq = (e: { MessageBody: string }) =>
      (JSON.parse(e.MessageBody) as { sequenceNumber: string }).sequenceNumber;
    // One verdict per entry per call (`refuse` may count calls).
    const refused = new Set(entries.filter((e) => refuse(seq(e))).map((e) => e.Id));
    return {
      status: 200,
      body: {
        Successful: entries
          .filter((e) => !refused.has(e.Id))
          .map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: md5(e.MessageBody) })),
        Failed: entries
          .filter((e) => refused.has(e.Id))
          .map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' })),
      },
    };
  });
const poison = (i: number) => ({
  recordId: String(1000 + i),
  reason: 'not a DecisionRecord',
  image: { transactionId: { S: `t-${i}` } },
});

describe('SqsDeadLetters', () => {
  it('GIVEN 12 poison records, one refused once WHEN parked THEN batches of ≤ 10 carry each image, the refused one again', async () => {
    const seen = new Map<string, number>();
    const server = await sqs((seq) => {
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
      return seq === '1003' && seen.get(seq) === 1;
    });
    try {
      const dead = new SqsDeadLetters({ client: sqsClient(server.clientOptions), queueUrl: QUEUE_URL, baseDelayMs: 1 });
      await dead.park(Array.from({ length: 12 }, (_, i) => poison(i)));
      const calls = server.requests.map((r) => JSON.parse(r.body) as MessageBatch);
      expect(calls.map((c) => c.Entries.length).sort((a, b) => b - a)).toEqual([SEND_MESSAGE_BATCH_MAX, 2, 1]);
      expect(calls.every((c) => c.QueueUrl === QUEUE_URL)).toBe(true);
      const bodies = calls.flatMap((c) => c.Entries.map((e) => JSON.parse(e.MessageBody)));
      expect(bodies.find((b) => b.sequenceNumber === '1011')).toEqual({
        kind: 'PoisonDecisionRecord',
        sequenceNumber: '1011',
        reason: 'not a DecisionRecord',
        image: { transactionId: { S: 't-11' } },
      });
      expect(seen.get('1003')).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('GIVEN a message refused on every attempt WHEN parked THEN park throws naming it, so the stream retries the record', async () => {
    const server = await sqs((seq) => seq === '1001');
    try {
      const dead = new SqsDeadLetters({
        client: sqsClient(server.clientOptions),
        queueUrl: QUEUE_URL,
        maxAttempts: 2,
        baseDelayMs: 1,
      });
      await expect(dead.park([poison(0), poison(1)])).rejects.toThrow(
        /1 poison record\(s\) not parked: 1001: InternalError/,
      );
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
