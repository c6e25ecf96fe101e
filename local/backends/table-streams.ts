// The local DynamoDB streams' journal: its files, line format and change-record shape, and the reader the stream
// event-source mappings poll. Written by ./stream-recorder.ts in the backends process; read by local/lambda in the
// stage process (no dynalite here, so the stage never loads it).
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

export type StreamViewType = 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';
export const STREAM_VIEW_TYPES: readonly StreamViewType[] = [
  'KEYS_ONLY',
  'NEW_IMAGE',
  'OLD_IMAGE',
  'NEW_AND_OLD_IMAGES',
];

/** An item or key in DynamoDB's AttributeValue JSON (`{"id":{"S":"a"}}`). */
export type AttributeMap = Record<string, unknown>;

/** One change record, in the shape DynamoDB Streams (and Lambda's `Records[]`) give it. */
export interface StreamRecord {
  readonly eventID: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly eventVersion: '1.1';
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  readonly dynamodb: {
    /** Seconds since the epoch (a number, as Lambda's event carries it). */
    readonly ApproximateCreationDateTime: number;
    readonly Keys: AttributeMap;
    readonly NewImage?: AttributeMap;
    readonly OldImage?: AttributeMap;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: StreamViewType;
  };
  readonly eventSourceARN: string;
}

/** A streamed table as the recorder remembers it (`<dataDir>/dynamodb-streams/tables.json`). */
export interface StreamedTable {
  readonly viewType: StreamViewType;
  readonly streamArn: string;
}

/**
 * Lines of a table's journal. An intent is appended before dynalite sees a write (with the images of the keys it
 * may change); the change records follow once the write has been applied; `done` closes the intent. An intent without
 * `done` at start-up is a write cut short by a crash: recovery compares the keys' current items with `old`.
 */
export type JournalLine =
  | { readonly t: 'intent'; readonly id: number; readonly keys: AttributeMap[]; readonly old: (AttributeMap | null)[] }
  | { readonly t: 'record'; readonly id: number; readonly at: number; readonly record: StreamRecord }
  | { readonly t: 'done'; readonly id: number };

/** DynamoDB Streams keep records for 24 hours. */
export const STREAM_RETENTION_MS = 24 * 60 * 60 * 1000;
/** The one shard of a local table stream (named like AWS's, for the on-failure record). */
export const LOCAL_SHARD_ID = 'shardId-00000000000000000000-00000001';
const SEQUENCE_DIGITS = 21;

export function streamsDir(dataDir: string): string {
  return join(dataDir, 'dynamodb-streams');
}

export function registryFile(dataDir: string): string {
  return join(streamsDir(dataDir), 'tables.json');
}

export function journalFile(dataDir: string, tableName: string): string {
  return join(streamsDir(dataDir), `${tableName}.jsonl`);
}

/** The streamed tables recorded so far (an absent file: none). */
export function readRegistry(dataDir: string): Record<string, StreamedTable> {
  const file = registryFile(dataDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, StreamedTable>) : {};
}

const STREAM_ARN = /^arn:aws[^:]*:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\/.+$/;

/** The table a DynamoDB stream ARN belongs to, or undefined when the ARN is not a table stream's. */
export function tableOfStreamArn(arn: string): string | undefined {
  return STREAM_ARN.exec(arn)?.[1];
}

/** Fixed-width decimal, so string order is numeric order (the ESM compares them as strings). */
export function formatSequenceNumber(n: number): string {
  return String(n).padStart(SEQUENCE_DIGITS, '0');
}

/** The change one write made to one key, or undefined when it changed nothing (DynamoDB then writes no record). */
export function changeRecord(input: {
  readonly keys: AttributeMap;
  readonly oldItem: AttributeMap | null;
  readonly newItem: AttributeMap | null;
  readonly viewType: StreamViewType;
  readonly sequenceNumber: string;
  readonly streamArn: string;
  readonly region: string;
  readonly at: number;
}): StreamRecord | undefined {
  const { oldItem, newItem, viewType } = input;
  if (isDeepStrictEqual(oldItem, newItem)) return undefined;
  const eventName = oldItem === null ? 'INSERT' : newItem === null ? 'REMOVE' : 'MODIFY';
  const withNew = newItem !== null && (viewType === 'NEW_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES');
  const withOld = oldItem !== null && (viewType === 'OLD_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES');
  const images = { ...(withNew ? { NewImage: newItem } : {}), ...(withOld ? { OldImage: oldItem } : {}) };
  return {
    eventID: crypto.randomUUID().replaceAll('-', ''),
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: input.region,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(input.at / 1000),
      Keys: input.keys,
      ...images,
      SequenceNumber: input.sequenceNumber,
      // Approximate: the JSON size of keys and images (AWS counts the record's item bytes).
      SizeBytes: Buffer.byteLength(JSON.stringify({ Keys: input.keys, ...images })),
      StreamViewType: viewType,
    },
    eventSourceARN: input.streamArn,
  };
}

/** Where a reader starts when it has no checkpoint. */
export type ReaderStart =
  | { readonly after: string }
  | { readonly at: 'TRIM_HORIZON' }
  | { readonly at: 'LATEST' }
  | { readonly atTimestampMs: number };

export interface JournaledRecord {
  readonly record: StreamRecord;
  /** When the record was journaled (ms since the epoch): record age and retention count from here. */
  readonly at: number;
}

/**
 * Reads a table's change records in sequence order, incrementally (each call reads only what was appended since).
 * A journal compacted by the recorder (a new file) is read again from its start, skipping what was already returned.
 */
export class StreamJournalReader {
  private offset = 0;
  private inode: number | undefined;
  private partial = '';
  private lastSeq: string | undefined;
  private startMs: number | undefined;
  private readonly ready: JournaledRecord[] = [];

  constructor(
    readonly file: string,
    start: ReaderStart,
    private readonly now: () => number = Date.now,
  ) {
    if ('after' in start) this.lastSeq = start.after;
    else if ('atTimestampMs' in start) this.startMs = start.atTimestampMs;
    else if (start.at === 'LATEST') {
      // Everything journaled so far is behind us.
      this.fill();
      this.lastSeq = this.ready.at(-1)?.record.dynamodb.SequenceNumber ?? this.lastSeq;
      this.ready.length = 0;
    }
  }

  /** Up to `limit` records after the last one returned (fewer, or none, when the journal has no more yet). */
  read(limit: number): JournaledRecord[] {
    if (this.ready.length < limit) this.fill();
    const out = this.ready.splice(0, limit);
    const last = out.at(-1);
    if (last) this.lastSeq = last.record.dynamodb.SequenceNumber;
    return out;
  }

  private fill(): void {
    if (!existsSync(this.file)) return;
    const stat = statSync(this.file);
    if (this.inode !== undefined && (stat.ino !== this.inode || stat.size < this.offset)) {
      // Compacted: read the new file from its start; sequence numbers skip what was returned.
      this.offset = 0;
      this.partial = '';
      this.ready.length = 0;
    }
    this.inode = stat.ino;
    if (stat.size <= this.offset) return;
    const fd = openSync(this.file, 'r');
    try {
      const size = Math.min(fstatSync(fd).size, this.offset + 8 * 1024 * 1024);
      const buffer = Buffer.alloc(size - this.offset);
      const read = readSync(fd, buffer, 0, buffer.length, this.offset);
      this.offset += read;
      const text = this.partial + buffer.subarray(0, read).toString('utf8');
      const end = text.lastIndexOf('\n');
      this.partial = text.slice(end + 1);
      const oldest = this.now() - STREAM_RETENTION_MS;
      const queuedLast = this.ready.at(-1)?.record.dynamodb.SequenceNumber ?? this.lastSeq;
      for (const line of end < 0 ? [] : text.slice(0, end).split('\n')) {
        if (!line.startsWith('{"t":"record"')) continue;
        const parsed = JSON.parse(line) as Extract<JournalLine, { t: 'record' }>;
        const seq = parsed.record.dynamodb.SequenceNumber;
        if (queuedLast !== undefined && seq <= queuedLast) continue;
        if (parsed.at < oldest || (this.startMs !== undefined && parsed.at < this.startMs)) continue;
        this.ready.push({ record: parsed.record, at: parsed.at });
      }
    } finally {
      closeSync(fd);
    }
  }
}
