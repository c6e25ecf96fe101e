// Local SNS: Publish over the AWS Query protocol (form-encoded in, XML out), messages kept per topic under
// `<dataDir>/sns/<topicName>.jsonl` so tests and the demo can read what would have been sent. Publish answers only
// once the message is fsync'd there.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { LocalTemplate } from '../types.js';
import { listen, type RunningServer, readBody } from './http.js';
import { AppendLog, trimTornLine } from './journal.js';

export interface SnsMessage {
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Subject?: string;
  readonly Message: string;
  readonly MessageAttributes: Readonly<Record<string, { DataType: string; StringValue?: string }>>;
  readonly Timestamp: string;
}

class SnsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class SnsStore {
  private readonly topics = new Map<string, string>();
  private readonly logs = new Map<string, AppendLog>();

  constructor(
    template: LocalTemplate,
    private readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true });
    for (const topic of template.ofType('AWS::SNS::Topic')) {
      this.topics.set(topic.ref, topic.attributes.TopicName ?? topic.ref.split(':').pop() ?? topic.logicalId);
    }
  }

  private file(topicArn: string): string {
    const name = this.topics.get(topicArn);
    if (name === undefined) throw new SnsError('NotFound', `Topic does not exist: ${topicArn}`, 404);
    return join(this.dir, `${name}.jsonl`);
  }

  topicArns(): string[] {
    return [...this.topics.keys()];
  }

  publish(
    topicArn: string,
    message: string,
    subject?: string,
    attributes: SnsMessage['MessageAttributes'] = {},
  ): SnsMessage {
    const file = this.file(topicArn);
    if (Buffer.byteLength(message) > 256 * 1024) {
      throw new SnsError('InvalidParameter', 'Invalid parameter: Message too long', 400);
    }
    const record: SnsMessage = {
      MessageId: randomUUID(),
      TopicArn: topicArn,
      ...(subject !== undefined ? { Subject: subject } : {}),
      Message: message,
      MessageAttributes: attributes,
      Timestamp: new Date().toISOString(),
    };
    this.log(file).append(`${JSON.stringify(record)}\n`);
    return record;
  }

  private log(file: string): AppendLog {
    let log = this.logs.get(file);
    if (!log) {
      trimTornLine(file);
      log = new AppendLog(file, { created: !existsSync(file) });
      this.logs.set(file, log);
    }
    return log;
  }

  /** Resolves once every message published so far is on disk. */
  async sync(): Promise<void> {
    await Promise.all([...this.logs.values()].map((log) => log.sync()));
  }

  async close(): Promise<void> {
    const logs = [...this.logs.values()];
    this.logs.clear();
    await Promise.all(logs.map((log) => log.close()));
  }

  /** Every message published to a topic, oldest first (persisted across restarts). */
  messages(topicArn: string): SnsMessage[] {
    const file = this.file(topicArn);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as SnsMessage);
  }
}

const xmlEscape = (text: string): string =>
  text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

/** `MessageAttributes.entry.N.Name/Value.DataType/Value.StringValue` → a record. */
function formAttributes(form: URLSearchParams): SnsMessage['MessageAttributes'] {
  const out: Record<string, { DataType: string; StringValue?: string }> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n += 1) {
    const name = form.get(`MessageAttributes.entry.${n}.Name`) ?? '';
    const stringValue = form.get(`MessageAttributes.entry.${n}.Value.StringValue`);
    out[name] = {
      DataType: form.get(`MessageAttributes.entry.${n}.Value.DataType`) ?? 'String',
      ...(stringValue !== null ? { StringValue: stringValue } : {}),
    };
  }
  return out;
}

export async function startSnsServer(store: SnsStore, port = 0): Promise<RunningServer> {
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    try {
      const form = new URLSearchParams(await readBody(req));
      const action = form.get('Action');
      if (action !== 'Publish')
        throw new SnsError('InvalidAction', `${action ?? '(none)'} is not supported locally`, 400);
      const topicArn = form.get('TopicArn') ?? form.get('TargetArn');
      const message = form.get('Message');
      if (!topicArn) throw new SnsError('InvalidParameter', 'Invalid parameter: TopicArn', 400);
      if (message === null || message === '')
        throw new SnsError('InvalidParameter', 'Invalid parameter: Empty message', 400);
      const record = store.publish(topicArn, message, form.get('Subject') ?? undefined, formAttributes(form));
      await store.sync();
      sendXml(
        res,
        200,
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${record.MessageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
      );
    } catch (error) {
      const known = error instanceof SnsError ? error : new SnsError('InternalError', String(error), 500);
      sendXml(
        res,
        known.status,
        `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${known.status < 500 ? 'Sender' : 'Receiver'}</Type><Code>${known.code}</Code><Message>${xmlEscape(known.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    }
  };
  return listen(handler, port);
}
