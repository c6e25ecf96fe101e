// Local Firehose: PutRecord/PutRecordBatch over AWS JSON 1.1, journaled to disk before they are acknowledged,
// buffered per delivery stream and written as objects to the destination bucket and prefix of the template
// (timestamp namespaces, GZIP) through the local S3.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { LocalTemplate } from '../types.js';
import { AwsServiceError, awsJsonHandler, listen, type RunningServer, requireString } from './http.js';
import { AppendLog } from './journal.js';

interface DeliveryStream {
  readonly name: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly gzip: boolean;
  readonly maxBytes: number;
  readonly intervalMs: number;
  /** Where this stream's journal segments live: `<journalDir>/<stream name>/`. */
  readonly dir: string;
  /** The segment taking records (the buffer), if any record arrived since the last flush. */
  open?: Segment;
  /** Closed segments whose S3 object is not written yet (recovered at start, or a failed write). */
  undelivered: Segment[];
  nextSeq: number;
  timer?: NodeJS.Timeout;
}

/** One buffer's worth of records: a journal file while it fills, one S3 object once delivered, then deleted. */
interface Segment {
  /** Also the object's key suffix, so a redelivery after a crash overwrites the same object instead of adding one. */
  readonly id: string;
  readonly file: string;
  readonly firstAt: number;
  /** Open while the segment takes records; undefined once closed or when recovered from disk. */
  log?: AppendLog;
  readonly records: Buffer[];
  bytes: number;
}

export interface FirehoseObject {
  readonly stream: string;
  readonly bucket: string;
  readonly key: string;
  readonly records: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Java DateTimeFormatter letters Firehose documents for `!{timestamp:…}` (UTC). */
function formatTimestamp(format: string, at: Date): string {
  const values: Record<string, string> = {
    yyyy: String(at.getUTCFullYear()),
    MM: pad(at.getUTCMonth() + 1),
    dd: pad(at.getUTCDate()),
    HH: pad(at.getUTCHours()),
    mm: pad(at.getUTCMinutes()),
    ss: pad(at.getUTCSeconds()),
  };
  return format.replace(/yyyy|MM|dd|HH|mm|ss/g, (token) => values[token] ?? token);
}

/** Expands a Firehose prefix; without one Firehose uses `YYYY/MM/DD/HH/`. */
export function expandPrefix(prefix: string, at: Date): string {
  if (prefix === '') return formatTimestamp('yyyy/MM/dd/HH/', at);
  return prefix.replace(/!\{([^}]*)\}/g, (whole, expression: string) => {
    const [namespace, format] = expression.split(/:(.*)/s);
    if (namespace === 'timestamp' && format) return formatTimestamp(format, at);
    throw new Error(`prefix expression ${whole} is not supported locally (only !{timestamp:…})`);
  });
}

/** Journal frame: u32 length, u32 CRC-32 of the data, the data. A torn or corrupt tail (never acknowledged) ends a
 *  segment's records. */
const FRAME_HEADER = 8;

function frame(records: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const record of records) {
    const header = Buffer.alloc(FRAME_HEADER);
    header.writeUInt32BE(record.length, 0);
    header.writeUInt32BE(crc32(record), 4);
    parts.push(header, record);
  }
  return Buffer.concat(parts);
}

function unframe(bytes: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let offset = 0;
  while (offset + FRAME_HEADER <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const end = offset + FRAME_HEADER + length;
    if (end > bytes.length) break;
    const data = bytes.subarray(offset + FRAME_HEADER, end);
    if (crc32(data) !== bytes.readUInt32BE(offset + 4)) break;
    records.push(Buffer.from(data));
    offset = end;
  }
  return records;
}

/** `000000000007-1764790000000-<uuid>.seg`: order, first record time and id survive in the name. */
const SEGMENT_NAME = /^(\d{12})-(\d+)-([0-9a-f-]{36})\.seg$/;

function recoverSegments(dir: string): { segments: Segment[]; nextSeq: number } {
  const segments: Segment[] = [];
  let nextSeq = 0;
  for (const name of readdirSync(dir).sort()) {
    const match = SEGMENT_NAME.exec(name);
    if (!match) continue;
    const file = join(dir, name);
    nextSeq = Math.max(nextSeq, Number(match[1]) + 1);
    const records = unframe(readFileSync(file));
    if (records.length === 0) {
      unlinkSync(file);
      continue;
    }
    segments.push({
      id: match[3] as string,
      file,
      firstAt: Number(match[2]),
      records,
      bytes: records.reduce((sum, r) => sum + r.length, 0),
    });
  }
  return { segments, nextSeq };
}

function streamsOf(template: LocalTemplate, journalDir: string): DeliveryStream[] {
  return template.ofType('AWS::KinesisFirehose::DeliveryStream').map((resource) => {
    const p = resource.properties;
    const destination = isRecord(p.ExtendedS3DestinationConfiguration)
      ? p.ExtendedS3DestinationConfiguration
      : isRecord(p.S3DestinationConfiguration)
        ? p.S3DestinationConfiguration
        : undefined;
    if (!destination || typeof destination.BucketARN !== 'string') {
      throw new Error(`${resource.stackName}/${resource.logicalId}: only S3 destinations run locally`);
    }
    const prefix = typeof destination.Prefix === 'string' ? destination.Prefix : '';
    expandPrefix(prefix, new Date()); // fail at startup on a prefix we cannot expand
    const hints = isRecord(destination.BufferingHints) ? destination.BufferingHints : {};
    const dir = join(journalDir, resource.ref);
    mkdirSync(dir, { recursive: true });
    const { segments, nextSeq } = recoverSegments(dir);
    return {
      name: resource.ref,
      bucket: destination.BucketARN.replace(/^arn:aws:s3:::/, ''),
      prefix,
      gzip: destination.CompressionFormat === 'GZIP',
      maxBytes: Number(hints.SizeInMBs ?? 5) * 1024 * 1024,
      intervalMs: Number(hints.IntervalInSeconds ?? 300) * 1000,
      dir,
      undelivered: segments,
      nextSeq,
    };
  });
}

export interface LocalFirehoseOptions {
  readonly template: LocalTemplate;
  readonly s3: S3Client;
  /** Where acknowledged records are journaled until their S3 object is written (one folder per stream). */
  readonly journalDir: string;
  /** Overrides every stream's buffering interval (tests).
   *  @default - the stream's BufferingHints.IntervalInSeconds */
  readonly intervalMs?: number;
}

/**
 * Firehose's promise, locally: a record is acknowledged only once it is fsync'd in the stream's journal, and its
 * journal segment is deleted only after the S3 object holding it is written. Segments left by a crash are
 * delivered when the next instance starts (or flushes), each to the key it would have had, so a crash between the
 * object write and the deletion rewrites the same object rather than adding a duplicate. Duplicates remain where
 * Firehose has them too: a client retrying a call whose answer it lost.
 */
export class LocalFirehose {
  private readonly streams = new Map<string, DeliveryStream>();
  private readonly written: FirehoseObject[] = [];
  private pending = Promise.resolve();

  constructor(private readonly options: LocalFirehoseOptions) {
    for (const stream of streamsOf(options.template, options.journalDir)) this.streams.set(stream.name, stream);
  }

  private stream(input: Record<string, unknown>): DeliveryStream {
    const name = requireString(input, 'DeliveryStreamName');
    const stream = this.streams.get(name);
    if (!stream) throw new AwsServiceError('ResourceNotFoundException', `Firehose ${name} not found under account.`);
    return stream;
  }

  private static decode(record: unknown): Buffer {
    const data = isRecord(record) ? record.Data : undefined;
    if (typeof data !== 'string') throw new AwsServiceError('ValidationException', 'Record.Data must be base64 text');
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length > 1000 * 1024) throw new AwsServiceError('ValidationException', 'Record size exceeds 1,000 KiB');
    return bytes;
  }

  /** Journals the records in one write; resolves once they are on disk (one fdatasync for the whole request). */
  private add(stream: DeliveryStream, records: readonly Buffer[]): Promise<void> {
    let segment = stream.open;
    if (!segment) {
      const id = randomUUID();
      const firstAt = Date.now();
      const file = join(stream.dir, `${String(stream.nextSeq).padStart(12, '0')}-${firstAt}-${id}.seg`);
      stream.nextSeq += 1;
      segment = { id, file, firstAt, log: new AppendLog(file, { created: true }), records: [], bytes: 0 };
      stream.open = segment;
    }
    const log = segment.log as AppendLog;
    log.append(frame(records));
    // Taken before a flush can close the segment: the flush waits for this same sync before closing the file.
    const durable = log.sync();
    for (const record of records) {
      segment.records.push(record);
      segment.bytes += record.length;
    }
    if (segment.bytes >= stream.maxBytes) void this.flushStream(stream).catch(() => undefined);
    else if (!stream.timer) {
      stream.timer = setTimeout(
        () => void this.flushStream(stream).catch(() => undefined),
        this.options.intervalMs ?? stream.intervalMs,
      );
      stream.timer.unref();
    }
    return durable;
  }

  async putRecord(input: Record<string, unknown>): Promise<{ RecordId: string; Encrypted: boolean }> {
    const stream = this.stream(input);
    await this.add(stream, [LocalFirehose.decode(input.Record)]);
    return { RecordId: recordId(), Encrypted: false };
  }

  async putRecordBatch(input: Record<string, unknown>): Promise<{
    FailedPutCount: number;
    Encrypted: boolean;
    RequestResponses: { RecordId: string }[];
  }> {
    const stream = this.stream(input);
    const records = Array.isArray(input.Records) ? input.Records : [];
    if (records.length < 1 || records.length > 500) {
      throw new AwsServiceError('ValidationException', 'Records must contain between 1 and 500 records');
    }
    await this.add(stream, records.map(LocalFirehose.decode));
    return { FailedPutCount: 0, Encrypted: false, RequestResponses: records.map(() => ({ RecordId: recordId() })) };
  }

  /** Closes the stream's open segment and writes every closed segment out; rejects if an object write failed. */
  private flushStream(stream: DeliveryStream): Promise<void> {
    if (stream.timer) clearTimeout(stream.timer);
    stream.timer = undefined;
    if (stream.open) {
      stream.undelivered.push(stream.open);
      stream.open = undefined;
    }
    const batches = stream.undelivered.splice(0);
    return Promise.all(batches.map((segment) => this.deliver(stream, segment))).then(() => undefined);
  }

  private deliver(stream: DeliveryStream, segment: Segment): Promise<void> {
    const at = new Date(segment.firstAt);
    const stamp = formatTimestamp('yyyy-MM-dd-HH-mm-ss', at);
    const key = `${expandPrefix(stream.prefix, at)}${stream.name}-1-${stamp}-${segment.id}${stream.gzip ? '.gz' : ''}`;
    // Writes are chained so flush() can await everything buffered before it.
    const run = this.pending.then(async () => {
      if (segment.log) {
        await segment.log.close();
        segment.log = undefined;
      }
      const raw = Buffer.concat(segment.records);
      const body = stream.gzip ? gzipSync(raw) : raw;
      try {
        await this.options.s3.send(new PutObjectCommand({ Bucket: stream.bucket, Key: key, Body: body }));
      } catch (error) {
        // The segment stays journaled: the next flush of this stream (or the next start) tries again.
        stream.undelivered.push(segment);
        throw new Error(`firehose ${stream.name}: writing s3://${stream.bucket}/${key}: ${(error as Error).message}`);
      }
      // Deleted only after the object is written: a crash in between redelivers to the same key.
      unlinkSync(segment.file);
      this.written.push({ stream: stream.name, bucket: stream.bucket, key, records: segment.records.length });
    });
    this.pending = run.catch((error: unknown) => {
      process.stderr.write(`local firehose: ${(error as Error).message}\n`);
    });
    return run;
  }

  /** Writes every buffered record now, and what a previous instance left undelivered (tests, start, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => this.flushStream(s)));
    await this.pending;
  }

  /** Records journaled and not yet written to S3, per stream (tests, diagnostics). */
  pendingRecords(): Record<string, number> {
    return Object.fromEntries(
      [...this.streams.values()].map((s) => [
        s.name,
        [...s.undelivered, ...(s.open ? [s.open] : [])].reduce((sum, seg) => sum + seg.records.length, 0),
      ]),
    );
  }

  /** Objects written since start. */
  objects(): readonly FirehoseObject[] {
    return [...this.written];
  }

  async start(port = 0): Promise<RunningServer> {
    const server = await listen(
      awsJsonHandler('Firehose_20150804', 'application/x-amz-json-1.1', {
        PutRecord: (input) => this.putRecord(input),
        PutRecordBatch: (input) => this.putRecordBatch(input),
      }),
      port,
    );
    // What a crashed instance acknowledged is delivered now; a failure is logged and retried at the next flush.
    for (const stream of this.streams.values()) {
      if (stream.undelivered.length > 0) void this.flushStream(stream).catch(() => undefined);
    }
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await this.flush();
      },
    };
  }
}

const recordId = (): string => randomUUID().replace(/-/g, '');
