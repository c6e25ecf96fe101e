// The Firehose decision log with the real SDK against a local PutRecordBatch endpoint: batches of at most 500
// records, refused records retried, a call the SDK gives up on failing only its own records.
import { firehoseClient } from '../../shared/aws.js';
import { startJsonServer } from '../../shared/test/local.js';
import { FirehoseDecisionLog, PUT_RECORD_BATCH_MAX_RECORDS } from '../adapters.js';
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
