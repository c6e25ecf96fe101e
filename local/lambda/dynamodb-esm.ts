// DynamoDB table streams as a source of the local event-source mappings (./esm.ts): the change records the stream
// recorder journals (../backends/table-streams.ts), one shard per table, read in sequence order.
import { journalFile, LOCAL_SHARD_ID, StreamJournalReader } from '../backends/table-streams.js';
import type { ReadPosition, StreamSource } from './esm.js';

/** The stream of `table`, read from its journal under `dataDir`. The records are Lambda's DynamoDB event records as
 *  they are; FilterCriteria match against the whole record (`eventName`, `dynamodb.NewImage`…). */
export function tableStreamSource(dataDir: string, table: string): StreamSource {
  const file = journalFile(dataDir, table);
  return {
    batchInfoField: 'DDBStreamBatchInfo',
    shardIds: async () => [LOCAL_SHARD_ID],
    open(_shardId, from: ReadPosition) {
      const reader = new StreamJournalReader(file, from);
      return {
        read: async (limit) => ({
          closed: false,
          records: reader.read(limit).map(({ record, at }) => ({
            sequenceNumber: record.dynamodb.SequenceNumber,
            arrivalMs: at,
            event: record,
            filterSubject: record,
          })),
        }),
      };
    },
    close: () => undefined,
  };
}
