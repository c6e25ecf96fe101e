// Local SQS: a persisted store of the template's queues (the DLQs) and its AWS JSON protocol server (AmazonSQS.*).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalTemplate } from '../types.js';
import { AwsServiceError, awsJsonHandler, listen, type RunningServer, requireString } from './http.js';
import { writeFileDurably } from './journal.js';

export interface SqsMessageAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

export interface SqsMessage {
  readonly MessageId: string;
  readonly Body: string;
  readonly MD5OfBody: string;
  readonly MessageAttributes: Readonly<Record<string, SqsMessageAttribute>>;
  readonly SentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  visibleAt: number;
  receiptHandle?: string;
}

interface QueueState {
  readonly name: string;
  readonly arn: string;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  messages: SqsMessage[];
}

const md5 = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

/** SQS's MD5 of message attributes (name, type, transport byte and value, each length-prefixed, sorted by name). */
export function md5OfMessageAttributes(attributes: Readonly<Record<string, SqsMessageAttribute>>): string {
  const parts: Buffer[] = [];
  const withLength = (data: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    parts.push(length, data);
  };
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name];
    if (!attribute) continue;
    withLength(Buffer.from(name, 'utf8'));
    withLength(Buffer.from(attribute.DataType, 'utf8'));
    if (attribute.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      withLength(Buffer.from(attribute.BinaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      withLength(Buffer.from(attribute.StringValue ?? '', 'utf8'));
    }
  }
  return md5(Buffer.concat(parts));
}

/** The queues of the template, persisted one JSON file per queue under `<dataDir>/sqs/`. */
export class SqsStore {
  private readonly queues = new Map<string, QueueState>();
  private readonly waiters = new Set<() => void>();

  constructor(
    template: LocalTemplate,
    private readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true });
    for (const resource of template.ofType('AWS::SQS::Queue')) {
      const name = resource.attributes.QueueName ?? resource.ref;
      const file = this.file(name);
      const saved = existsSync(file)
        ? (JSON.parse(readFileSync(file, 'utf8')) as { messages: SqsMessage[] })
        : undefined;
      this.queues.set(name, {
        name,
        arn: resource.attributes.Arn ?? '',
        visibilityTimeoutSeconds: Number(resource.properties.VisibilityTimeout ?? 30),
        retentionSeconds: Number(resource.properties.MessageRetentionPeriod ?? 345_600),
        messages: saved?.messages ?? [],
      });
    }
  }

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  private persist(queue: QueueState): void {
    // Atomic (rename) and durable (fsync of the file and its directory) before the call that changed it answers.
    writeFileDurably(
      this.file(queue.name),
      JSON.stringify({ name: queue.name, arn: queue.arn, messages: queue.messages }),
    );
  }

  /** Accepts a queue URL (any host: only the last path segment counts), an ARN or a name. */
  queue(ref: string): QueueState {
    const name = ref.startsWith('arn:') ? ref.split(':').pop() : ref.split('/').pop();
    const queue = name === undefined ? undefined : this.queues.get(name);
    if (!queue) throw new AwsServiceError('QueueDoesNotExist', `The specified queue ${ref} does not exist.`);
    return queue;
  }

  names(): string[] {
    return [...this.queues.keys()];
  }

  send(ref: string, body: string, attributes: Record<string, SqsMessageAttribute> = {}, delaySeconds = 0): SqsMessage {
    const queue = this.queue(ref);
    const now = Date.now();
    const message: SqsMessage = {
      MessageId: randomUUID(),
      Body: body,
      MD5OfBody: md5(body),
      MessageAttributes: attributes,
      SentTimestamp: now,
      receiveCount: 0,
      visibleAt: now + delaySeconds * 1000,
    };
    queue.messages.push(message);
    this.persist(queue);
    for (const wake of this.waiters) wake();
    return message;
  }

  private expire(queue: QueueState, now: number): void {
    const before = queue.messages.length;
    queue.messages = queue.messages.filter((m) => now - m.SentTimestamp < queue.retentionSeconds * 1000);
    if (queue.messages.length !== before) this.persist(queue);
  }

  receive(ref: string, max = 1, visibilityTimeoutSeconds?: number): SqsMessage[] {
    const queue = this.queue(ref);
    const now = Date.now();
    this.expire(queue, now);
    const visible = queue.messages.filter((m) => m.visibleAt <= now).slice(0, Math.min(Math.max(max, 1), 10));
    for (const message of visible) {
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.visibleAt = now + (visibilityTimeoutSeconds ?? queue.visibilityTimeoutSeconds) * 1000;
      message.receiptHandle = `${message.MessageId}#${randomUUID()}`;
    }
    if (visible.length > 0) this.persist(queue);
    return visible;
  }

  /** Long polling: waits up to `waitSeconds` for a message, woken by sends. */
  async receiveWait(
    ref: string,
    max: number,
    visibility: number | undefined,
    waitSeconds: number,
  ): Promise<SqsMessage[]> {
    const deadline = Date.now() + Math.min(waitSeconds, 20) * 1000;
    for (;;) {
      const messages = this.receive(ref, max, visibility);
      const remaining = deadline - Date.now();
      if (messages.length > 0 || remaining <= 0) return messages;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        // Also wake on a timer: a message whose visibility timeout lapses becomes receivable without a send.
        const timer = setTimeout(wake, Math.min(remaining, 250));
        this.waiters.add(wake);
      });
    }
  }

  delete(ref: string, receiptHandle: string): void {
    const queue = this.queue(ref);
    const index = queue.messages.findIndex((m) => m.receiptHandle === receiptHandle);
    if (index < 0) {
      const known = queue.messages.some((m) => receiptHandle.startsWith(`${m.MessageId}#`));
      // SQS ignores a stale handle of a message that still exists; an unknown handle is an error.
      if (known) return;
      throw new AwsServiceError('ReceiptHandleIsInvalid', `The input receipt handle "${receiptHandle}" is not valid.`);
    }
    queue.messages.splice(index, 1);
    this.persist(queue);
  }

  purge(ref: string): void {
    const queue = this.queue(ref);
    queue.messages = [];
    this.persist(queue);
  }

  /** Every message of a queue, visible or not (for tests and the CLI). */
  peek(ref: string): readonly SqsMessage[] {
    return [...this.queue(ref).messages];
  }

  counts(ref: string): { visible: number; inFlight: number; delayed: number } {
    const queue = this.queue(ref);
    const now = Date.now();
    this.expire(queue, now);
    const received = (m: SqsMessage): boolean => m.receiveCount > 0;
    return {
      visible: queue.messages.filter((m) => m.visibleAt <= now).length,
      inFlight: queue.messages.filter((m) => m.visibleAt > now && received(m)).length,
      delayed: queue.messages.filter((m) => m.visibleAt > now && !received(m)).length,
    };
  }

  wakeAll(): void {
    for (const wake of this.waiters) wake();
  }
}

function attributesOf(input: unknown): Record<string, SqsMessageAttribute> {
  if (typeof input !== 'object' || input === null) return {};
  const out: Record<string, SqsMessageAttribute> = {};
  for (const [name, value] of Object.entries(input as Record<string, unknown>)) {
    if (typeof value !== 'object' || value === null) continue;
    const v = value as Record<string, unknown>;
    if (typeof v.DataType !== 'string')
      throw new AwsServiceError('InvalidParameterValue', `attribute ${name} has no DataType`);
    out[name] = {
      DataType: v.DataType,
      ...(typeof v.StringValue === 'string' ? { StringValue: v.StringValue } : {}),
      ...(typeof v.BinaryValue === 'string' ? { BinaryValue: v.BinaryValue } : {}),
    };
  }
  return out;
}

function messageOut(message: SqsMessage, wanted: unknown): Record<string, unknown> {
  const all = Array.isArray(wanted) && wanted.some((a) => a === 'All' || a === '.*');
  const names = Array.isArray(wanted) ? new Set(wanted.map(String)) : new Set<string>();
  const hasAttributes = Object.keys(message.MessageAttributes).length > 0;
  const attributes: Record<string, string> = {
    SentTimestamp: String(message.SentTimestamp),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp ?? message.SentTimestamp),
    SenderId: 'AIDALOCAL',
  };
  return {
    MessageId: message.MessageId,
    ReceiptHandle: message.receiptHandle,
    MD5OfBody: message.MD5OfBody,
    Body: message.Body,
    ...(hasAttributes
      ? {
          MessageAttributes: message.MessageAttributes,
          MD5OfMessageAttributes: md5OfMessageAttributes(message.MessageAttributes),
        }
      : {}),
    Attributes: Object.fromEntries(Object.entries(attributes).filter(([k]) => all || names.has(k))),
  };
}

/** Serves the store over the AWS JSON 1.0 protocol that SDK v3's SQS client speaks. */
export async function startSqsServer(store: SqsStore, baseAccount: string, port = 0): Promise<RunningServer> {
  let url = '';
  const queueUrl = (name: string): string => `${url}/${baseAccount}/${name}`;
  const server = await listen(
    awsJsonHandler(
      'AmazonSQS',
      'application/x-amz-json-1.0',
      {
        SendMessage: (input) => {
          const attributes = attributesOf(input.MessageAttributes);
          const message = store.send(
            requireString(input, 'QueueUrl'),
            requireString(input, 'MessageBody'),
            attributes,
            Number(input.DelaySeconds ?? 0),
          );
          return {
            MessageId: message.MessageId,
            MD5OfMessageBody: message.MD5OfBody,
            ...(Object.keys(attributes).length > 0
              ? { MD5OfMessageAttributes: md5OfMessageAttributes(attributes) }
              : {}),
          };
        },
        SendMessageBatch: (input) => {
          const queue = requireString(input, 'QueueUrl');
          const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : [];
          return {
            Successful: entries.map((entry) => {
              const attributes = attributesOf(entry.MessageAttributes);
              const message = store.send(
                queue,
                requireString(entry, 'MessageBody'),
                attributes,
                Number(entry.DelaySeconds ?? 0),
              );
              return {
                Id: entry.Id,
                MessageId: message.MessageId,
                MD5OfMessageBody: message.MD5OfBody,
                ...(Object.keys(attributes).length > 0
                  ? { MD5OfMessageAttributes: md5OfMessageAttributes(attributes) }
                  : {}),
              };
            }),
            Failed: [],
          };
        },
        ReceiveMessage: async (input) => {
          const queue = requireString(input, 'QueueUrl');
          const max = Number(input.MaxNumberOfMessages ?? 1);
          if (!Number.isInteger(max) || max < 1 || max > 10) {
            throw new AwsServiceError('InvalidParameterValue', 'MaxNumberOfMessages must be between 1 and 10');
          }
          const visibility = input.VisibilityTimeout === undefined ? undefined : Number(input.VisibilityTimeout);
          const messages = await store.receiveWait(queue, max, visibility, Number(input.WaitTimeSeconds ?? 0));
          const wanted = input.MessageSystemAttributeNames ?? input.AttributeNames;
          return messages.length === 0 ? {} : { Messages: messages.map((m) => messageOut(m, wanted)) };
        },
        DeleteMessage: (input) => {
          store.delete(requireString(input, 'QueueUrl'), requireString(input, 'ReceiptHandle'));
          return {};
        },
        DeleteMessageBatch: (input) => {
          const queue = requireString(input, 'QueueUrl');
          const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : [];
          for (const entry of entries) store.delete(queue, requireString(entry, 'ReceiptHandle'));
          return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
        },
        GetQueueAttributes: (input) => {
          const ref = requireString(input, 'QueueUrl');
          const queue = store.queue(ref);
          const counts = store.counts(ref);
          const all: Record<string, string> = {
            ApproximateNumberOfMessages: String(counts.visible),
            ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
            ApproximateNumberOfMessagesDelayed: String(counts.delayed),
            QueueArn: queue.arn,
            VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
            MessageRetentionPeriod: String(queue.retentionSeconds),
          };
          const names = Array.isArray(input.AttributeNames) ? input.AttributeNames.map(String) : ['All'];
          const pick = names.includes('All')
            ? all
            : Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
          return { Attributes: pick };
        },
        GetQueueUrl: (input) => {
          const name = requireString(input, 'QueueName');
          return { QueueUrl: queueUrl(store.queue(name).name) };
        },
        ListQueues: (input) => {
          const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
          return {
            QueueUrls: store
              .names()
              .filter((n) => n.startsWith(prefix))
              .map(queueUrl),
          };
        },
        PurgeQueue: (input) => {
          store.purge(requireString(input, 'QueueUrl'));
          return {};
        },
      },
      'com.amazonaws.sqs#',
    ),
    port,
  );
  url = server.url;
  return server;
}
