// Local Firehose: PutRecord/PutRecordBatch over AWS JSON 1.1, buffered per delivery stream and written as objects
// to the destination bucket and prefix of the template (timestamp namespaces, GZIP) through the local S3.
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { LocalTemplate } from '../types.js';
import { AwsServiceError, awsJsonHandler, listen, type RunningServer, requireString } from './http.js';

interface DeliveryStream {
  readonly name: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly gzip: boolean;
  readonly maxBytes: number;
  readonly intervalMs: number;
  buffer: Buffer[];
  bytes: number;
  firstAt?: number;
  timer?: NodeJS.Timeout;
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

function streamsOf(template: LocalTemplate): DeliveryStream[] {
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
    return {
      name: resource.ref,
      bucket: destination.BucketARN.replace(/^arn:aws:s3:::/, ''),
      prefix,
      gzip: destination.CompressionFormat === 'GZIP',
      maxBytes: Number(hints.SizeInMBs ?? 5) * 1024 * 1024,
      intervalMs: Number(hints.IntervalInSeconds ?? 300) * 1000,
      buffer: [],
      bytes: 0,
    };
  });
}

export interface LocalFirehoseOptions {
  readonly template: LocalTemplate;
  readonly s3: S3Client;
  /** Overrides every stream's buffering interval (tests).
   *  @default - the stream's BufferingHints.IntervalInSeconds */
  readonly intervalMs?: number;
}

export class LocalFirehose {
  private readonly streams = new Map<string, DeliveryStream>();
  private readonly written: FirehoseObject[] = [];
  private pending = Promise.resolve();

  constructor(private readonly options: LocalFirehoseOptions) {
    for (const stream of streamsOf(options.template)) this.streams.set(stream.name, stream);
  }

  private stream(input: Record<string, unknown>): DeliveryStream {
    const name = requireString(input, 'DeliveryStreamName');
    const stream = this.streams.get(name);
    if (!stream) throw new AwsServiceError('ResourceNotFoundException', `Firehose ${name} not found under account.`);
    return stream;
  }

  private add(stream: DeliveryStream, record: unknown): string {
    const data = isRecord(record) ? record.Data : undefined;
    if (typeof data !== 'string') throw new AwsServiceError('ValidationException', 'Record.Data must be base64 text');
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length > 1000 * 1024) throw new AwsServiceError('ValidationException', 'Record size exceeds 1,000 KiB');
    stream.buffer.push(bytes);
    stream.bytes += bytes.length;
    stream.firstAt ??= Date.now();
    if (stream.bytes >= stream.maxBytes) void this.flushStream(stream);
    else if (!stream.timer) {
      stream.timer = setTimeout(() => void this.flushStream(stream), this.options.intervalMs ?? stream.intervalMs);
      stream.timer.unref();
    }
    return randomUUID().replace(/-/g, '');
  }

  private flushStream(stream: DeliveryStream): Promise<void> {
    if (stream.timer) clearTimeout(stream.timer);
    stream.timer = undefined;
    if (stream.buffer.length === 0) return this.pending;
    const records = stream.buffer;
    const at = new Date(stream.firstAt ?? Date.now());
    stream.buffer = [];
    stream.bytes = 0;
    stream.firstAt = undefined;
    const stamp = formatTimestamp('yyyy-MM-dd-HH-mm-ss', at);
    const key = `${expandPrefix(stream.prefix, at)}${stream.name}-1-${stamp}-${randomUUID()}${stream.gzip ? '.gz' : ''}`;
    const raw = Buffer.concat(records);
    const body = stream.gzip ? gzipSync(raw) : raw;
    // Writes are chained so flush() can await everything buffered before it.
    this.pending = this.pending.then(async () => {
      await this.options.s3.send(new PutObjectCommand({ Bucket: stream.bucket, Key: key, Body: body }));
      this.written.push({ stream: stream.name, bucket: stream.bucket, key, records: records.length });
    });
    return this.pending;
  }

  /** Writes every buffered record now (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => this.flushStream(s)));
    await this.pending;
  }

  /** Objects written since start. */
  objects(): readonly FirehoseObject[] {
    return [...this.written];
  }

  async start(port = 0): Promise<RunningServer> {
    const server = await listen(
      awsJsonHandler('Firehose_20150804', 'application/x-amz-json-1.1', {
        PutRecord: (input) => ({ RecordId: this.add(this.stream(input), input.Record), Encrypted: false }),
        PutRecordBatch: (input) => {
          const stream = this.stream(input);
          const records = Array.isArray(input.Records) ? input.Records : [];
          if (records.length < 1 || records.length > 500) {
            throw new AwsServiceError('ValidationException', 'Records must contain between 1 and 500 records');
          }
          return {
            FailedPutCount: 0,
            Encrypted: false,
            RequestResponses: records.map((record) => ({ RecordId: this.add(stream, record) })),
          };
        },
      }),
      port,
    );
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await this.flush();
      },
    };
  }
}
