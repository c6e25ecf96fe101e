// DynamoDB Streams for dynalite, which has none: a loopback proxy in front of it that turns every write to a table
// with a StreamSpecification into change records in that table's journal (./table-streams.ts), fsync'd before the
// write is answered. Writes to a streamed table are serialized per key, so records are in order per key.
//
// Crash safety: an intent (the keys and their current images) is appended before dynalite sees the write, and closed
// once the records are journaled. A SIGKILL in between leaves the intent open; the next start compares each key's
// item with the intent's image before accepting requests, and journals the change the write made, if it made one.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { crc32 } from 'node:zlib';
import { AppendLog, trimTornLine, writeFileDurably } from '../services/journal.js';
import { tableStreamArn } from '../template/naming.js';
import {
  type AttributeMap,
  changeRecord,
  formatSequenceNumber,
  type JournalLine,
  journalFile,
  readRegistry,
  registryFile,
  STREAM_RETENTION_MS,
  STREAM_VIEW_TYPES,
  type StreamedTable,
  type StreamViewType,
  streamsDir,
} from './table-streams.js';

export interface StreamRecorderOptions {
  /** dynalite's own URL (loopback, known only to the recorder). */
  readonly upstream: string;
  readonly dataDir: string;
  /** Account and region of the local stage: stream ARNs are `arn:aws:dynamodb:<region>:<account>:table/<t>/stream/…`. */
  readonly account: string;
  readonly region: string;
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const API = 'DynamoDB_20120810';
/** dynalite checks the form of a signature, not its value: internal calls carry a well-formed fake one. */
const INTERNAL_HEADERS = {
  'content-type': 'application/x-amz-json-1.0',
  authorization:
    'AWS4-HMAC-SHA256 Credential=test/20240101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
  'x-amz-date': '20240101T000000Z',
};
/** Compact a journal at start-up once it is this large (drops closed intents and expired records). */
const COMPACT_BYTES = 16 * 1024 * 1024;

/**
 * Test hook: `AIMS_TEST_STREAM_CRASH=<table>:before-write|after-write` makes the backends process SIGKILL itself on
 * the first write to `<table>`, after its intent is journaled and before (or after) dynalite applies it.
 */
function crashPoint(): { table: string; when: 'before-write' | 'after-write' } | undefined {
  const [table, when] = (process.env.AIMS_TEST_STREAM_CRASH ?? '').split(':');
  return table && (when === 'before-write' || when === 'after-write') ? { table, when } : undefined;
}

function dynamoError(status: number, type: string, message: string): Reply {
  return jsonReply(status, { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message });
}

function jsonReply(status: number, body: unknown, headers: IncomingHttpHeaders = {}): Reply {
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    status,
    headers: {
      ...headers,
      'content-type': 'application/x-amz-json-1.0',
      'content-length': String(bytes.length),
      // The SDK may check dynalite's CRC32 of the body: a rewritten body needs its own.
      'x-amz-crc32': String(crc32(bytes)),
    },
    body: bytes,
  };
}

/** Serializes work per key: `run(keys, fn)` waits for every earlier holder of any of `keys`. */
class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)].sort();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const before = unique.map((key) => {
      const previous = this.tails.get(key) ?? Promise.resolve();
      this.tails.set(key, mine);
      return previous;
    });
    try {
      await Promise.all(before);
      return await fn();
    } finally {
      release();
      for (const key of unique) if (this.tails.get(key) === mine) this.tails.delete(key);
    }
  }
}

/** One streamed table's journal: intents, records and their closing lines, with monotonic sequence numbers. */
class TableJournal {
  private nextIntent = 1;
  private nextSequence = 1;
  private readonly log: AppendLog;

  constructor(
    readonly table: string,
    readonly file: string,
  ) {
    trimTornLine(file);
    this.log = new AppendLog(file, { created: true });
  }

  /** The open intents (a crash cut their writes short) and the highest ids seen, from the journal's lines. */
  scan(): { open: Map<number, { keys: AttributeMap[]; old: (AttributeMap | null)[]; recorded: AttributeMap[] }> } {
    const open = new Map<number, { keys: AttributeMap[]; old: (AttributeMap | null)[]; recorded: AttributeMap[] }>();
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return { open };
    }
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      const line = JSON.parse(raw) as JournalLine;
      this.nextIntent = Math.max(this.nextIntent, line.id + 1);
      if (line.t === 'intent') open.set(line.id, { keys: line.keys, old: line.old, recorded: [] });
      else if (line.t === 'record') {
        this.nextSequence = Math.max(this.nextSequence, Number(line.record.dynamodb.SequenceNumber) + 1);
        open.get(line.id)?.recorded.push(line.record.dynamodb.Keys);
      } else open.delete(line.id);
    }
    return { open };
  }

  /** Rewrites the journal without closed intents and without records past the stream's retention. */
  compact(now: number): void {
    const keep: string[] = [];
    const closed = new Set<number>();
    const lines = readFileSync(this.file, 'utf8').split('\n').filter(Boolean);
    for (const raw of lines) {
      const line = JSON.parse(raw) as JournalLine;
      if (line.t === 'done') closed.add(line.id);
    }
    for (const raw of lines) {
      const line = JSON.parse(raw) as JournalLine;
      if (line.t === 'record' && line.at >= now - STREAM_RETENTION_MS) keep.push(raw);
      else if (line.t === 'intent' && !closed.has(line.id)) keep.push(raw);
    }
    this.log.rewrite(keep.length > 0 ? `${keep.join('\n')}\n` : '');
  }

  intent(keys: AttributeMap[], old: (AttributeMap | null)[]): number {
    const id = this.nextIntent++;
    this.append({ t: 'intent', id, keys, old });
    return id;
  }

  /** Journals the changes of intent `id` (skipping keys that changed nothing) and closes it; resolves once on disk. */
  async record(
    id: number,
    changes: { keys: AttributeMap; oldItem: AttributeMap | null; newItem: AttributeMap | null }[],
    stream: StreamedTable,
    region: string,
  ): Promise<number> {
    let written = 0;
    for (const change of changes) {
      const at = Date.now();
      const record = changeRecord({
        ...change,
        viewType: stream.viewType,
        streamArn: stream.streamArn,
        region,
        at,
        sequenceNumber: formatSequenceNumber(this.nextSequence),
      });
      if (!record) continue;
      this.nextSequence++;
      written++;
      this.append({ t: 'record', id, at, record });
    }
    this.append({ t: 'done', id });
    await this.log.sync();
    return written;
  }

  private append(line: JournalLine): void {
    this.log.append(`${JSON.stringify(line)}\n`);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

/** Which table keys a write request may change, per table. */
function keysOfWrite(
  operation: string,
  input: Record<string, unknown>,
): Map<string, { put?: AttributeMap; key?: AttributeMap }[]> {
  const out = new Map<string, { put?: AttributeMap; key?: AttributeMap }[]>();
  const add = (table: unknown, entry: { put?: AttributeMap; key?: AttributeMap }) => {
    if (typeof table !== 'string') return;
    out.set(table, [...(out.get(table) ?? []), entry]);
  };
  if (operation === 'PutItem') add(input.TableName, { put: input.Item as AttributeMap });
  else if (operation === 'UpdateItem' || operation === 'DeleteItem')
    add(input.TableName, { key: input.Key as AttributeMap });
  else if (operation === 'BatchWriteItem') {
    const requests = (input.RequestItems ?? {}) as Record<
      string,
      { PutRequest?: { Item: AttributeMap }; DeleteRequest?: { Key: AttributeMap } }[]
    >;
    for (const [table, writes] of Object.entries(requests)) {
      for (const w of Array.isArray(writes) ? writes : []) {
        if (w.PutRequest?.Item) add(table, { put: w.PutRequest.Item });
        else if (w.DeleteRequest?.Key) add(table, { key: w.DeleteRequest.Key });
      }
    }
  }
  return out;
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
const TABLE_CALLS = new Set(['CreateTable', 'UpdateTable', 'DeleteTable', 'DescribeTable']);

export interface StreamRecorder {
  readonly url: string;
  /** Writes whose intents were still open at start-up and that recovery journaled a change for. */
  readonly recovered: number;
  close(): Promise<void>;
}

/** Starts the recorder on a loopback port; first journals what a crash left open (before taking any request). */
export async function startStreamRecorder(options: StreamRecorderOptions): Promise<StreamRecorder> {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const dir = streamsDir(options.dataDir);
  mkdirSync(dir, { recursive: true });
  const registry: Record<string, StreamedTable> = readRegistry(options.dataDir);
  const journals = new Map<string, TableJournal>();
  const keySchemas = new Map<string, string[]>();
  const locks = new KeyLocks();
  const crash = crashPoint();

  const journalOf = (table: string): TableJournal => {
    let journal = journals.get(table);
    if (!journal) {
      journal = new TableJournal(table, journalFile(options.dataDir, table));
      journals.set(table, journal);
    }
    return journal;
  };

  const saveRegistry = () => writeFileDurably(registryFile(options.dataDir), `${JSON.stringify(registry, null, 2)}\n`);

  const forward = (headers: IncomingHttpHeaders, body: Buffer): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: 'POST',
          path: '/',
          agent,
          headers: { ...headers, host: upstream.host, 'content-length': String(body.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const call = async (operation: string, input: unknown): Promise<Reply> =>
    forward({ ...INTERNAL_HEADERS, 'x-amz-target': `${API}.${operation}` }, Buffer.from(JSON.stringify(input)));

  const parse = (reply: Reply): Record<string, unknown> => JSON.parse(reply.body.toString('utf8') || '{}');

  const keySchemaOf = async (table: string): Promise<string[]> => {
    const known = keySchemas.get(table);
    if (known) return known;
    const reply = await call('DescribeTable', { TableName: table });
    if (reply.status !== 200) throw new Error(`DescribeTable ${table}: ${reply.body.toString()}`);
    const schema = ((parse(reply).Table as { KeySchema: { AttributeName: string }[] }).KeySchema ?? []).map(
      (k) => k.AttributeName,
    );
    keySchemas.set(table, schema);
    return schema;
  };

  const getItem = async (table: string, key: AttributeMap): Promise<AttributeMap | null> => {
    const reply = await call('GetItem', { TableName: table, Key: key, ConsistentRead: true });
    if (reply.status !== 200) throw new Error(`GetItem ${table}: ${reply.body.toString()}`);
    return (parse(reply).Item as AttributeMap | undefined) ?? null;
  };

  const keyOf = (schema: string[], entry: { put?: AttributeMap; key?: AttributeMap }): AttributeMap | undefined => {
    const source = entry.put ?? entry.key;
    if (!source) return undefined;
    const key: AttributeMap = {};
    for (const name of schema) {
      if (source[name] === undefined) return undefined;
      key[name] = source[name];
    }
    return key;
  };

  /** A write touching streamed tables: lock its keys, journal the intent, apply it, journal what changed. */
  const recordedWrite = async (
    operation: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    input: Record<string, unknown>,
  ): Promise<Reply> => {
    const perTable = [...keysOfWrite(operation, input).entries()].filter(([table]) => registry[table]);
    if (perTable.length === 0) return forward(headers, body);
    const targets: { table: string; keys: AttributeMap[] }[] = [];
    for (const [table, entries] of perTable) {
      const schema = await keySchemaOf(table);
      const keys = entries.map((e) => keyOf(schema, e));
      // A malformed key: dynalite rejects the whole request, so nothing can change.
      if (keys.some((k) => k === undefined)) return forward(headers, body);
      targets.push({ table, keys: keys as AttributeMap[] });
    }
    const lockKeys = targets.flatMap((t) =>
      t.keys.map((k) => `${t.table}\u0000${JSON.stringify(k, Object.keys(k).sort())}`),
    );
    return locks.run(lockKeys, async () => {
      const intents: { table: string; keys: AttributeMap[]; old: (AttributeMap | null)[]; id: number }[] = [];
      for (const t of targets) {
        const old = await Promise.all(t.keys.map((k) => getItem(t.table, k)));
        intents.push({ ...t, old, id: journalOf(t.table).intent(t.keys, old) });
      }
      const crashHere = crash && targets.some((t) => t.table === crash.table);
      if (crashHere && crash?.when === 'before-write') process.kill(process.pid, 'SIGKILL');
      // Whatever dynalite answers (a BatchWriteItem can fail half-way), the items now tell what changed.
      const reply = await forward(headers, body);
      if (crashHere && crash?.when === 'after-write') process.kill(process.pid, 'SIGKILL');
      // A single-item write that failed changed nothing, and one that deleted left nothing: no need to read back.
      const unchanged = operation !== 'BatchWriteItem' && reply.status !== 200;
      const deleted = operation === 'DeleteItem' && reply.status === 200;
      await Promise.all(
        intents.map(async (intent) => {
          const current = await Promise.all(
            intent.keys.map((k, i) =>
              unchanged ? (intent.old[i] ?? null) : deleted ? null : getItem(intent.table, k),
            ),
          );
          const stream = registry[intent.table];
          const changes = intent.keys.map((keys, i) => ({
            keys,
            oldItem: intent.old[i] ?? null,
            newItem: current[i] ?? null,
          }));
          // A stream disabled meanwhile: close the intent without records.
          await journalOf(intent.table).record(
            intent.id,
            stream ? changes : [],
            stream ?? { viewType: 'KEYS_ONLY', streamArn: '' },
            options.region,
          );
        }),
      );
      return reply;
    });
  };

  const describeWithStream = (table: Record<string, unknown>): Record<string, unknown> => {
    const name = String(table.TableName ?? '');
    const stream = registry[name];
    const { StreamSpecification: _s, LatestStreamArn: _a, LatestStreamLabel: _l, ...rest } = table;
    if (!stream) return rest;
    return {
      ...rest,
      StreamSpecification: { StreamEnabled: true, StreamViewType: stream.viewType },
      LatestStreamArn: stream.streamArn,
      LatestStreamLabel: stream.streamArn.split('/stream/')[1],
    };
  };

  const streamArnOf = (table: string) =>
    tableStreamArn(`arn:aws:dynamodb:${options.region}:${options.account}:table/${table}`);

  /** Validates a StreamSpecification as DynamoDB does; returns the view type to enable, null to disable. */
  const streamSetting = (spec: unknown): StreamViewType | null | Reply => {
    const s = (spec ?? {}) as { StreamEnabled?: unknown; StreamViewType?: unknown };
    if (s.StreamEnabled === false) return null;
    if (s.StreamEnabled !== true || !STREAM_VIEW_TYPES.includes(s.StreamViewType as StreamViewType)) {
      return dynamoError(400, 'ValidationException', `invalid StreamSpecification ${JSON.stringify(spec)}`);
    }
    return s.StreamViewType as StreamViewType;
  };

  const tableCall = async (
    operation: string,
    headers: IncomingHttpHeaders,
    input: Record<string, unknown>,
  ): Promise<Reply> => {
    const table = String(input.TableName ?? '');
    if (operation === 'DescribeTable' || operation === 'DeleteTable') {
      const reply = await forward(headers, Buffer.from(JSON.stringify(input)));
      if (reply.status !== 200) return reply;
      const body = parse(reply);
      const field = operation === 'DescribeTable' ? 'Table' : 'TableDescription';
      const described = describeWithStream(body[field] as Record<string, unknown>);
      if (operation === 'DeleteTable' && registry[table]) {
        // The journal stays (AWS keeps a deleted table's stream readable for 24 h); no new records.
        delete registry[table];
        keySchemas.delete(table);
        saveRegistry();
      }
      return jsonReply(200, { ...body, [field]: described }, reply.headers);
    }
    const { StreamSpecification: spec, ...rest } = input;
    const setting = spec === undefined ? undefined : streamSetting(spec);
    if (setting !== undefined && setting !== null && typeof setting === 'object') return setting;
    if (operation === 'CreateTable') {
      const reply = await forward(headers, Buffer.from(JSON.stringify(rest)));
      if (reply.status !== 200) return reply;
      if (setting) registry[table] = { viewType: setting, streamArn: streamArnOf(table) };
      else delete registry[table];
      saveRegistry();
      const body = parse(reply);
      return jsonReply(
        200,
        { ...body, TableDescription: describeWithStream(body.TableDescription as Record<string, unknown>) },
        reply.headers,
      );
    }
    // UpdateTable: the stream part is ours, the rest (if any) dynalite's.
    if (setting === undefined) return forward(headers, Buffer.from(JSON.stringify(input)));
    if (setting && registry[table])
      return dynamoError(
        400,
        'ValidationException',
        `Table already has an enabled stream: ${registry[table].streamArn}`,
      );
    if (setting === null && !registry[table])
      return dynamoError(400, 'ValidationException', 'Table does not have a stream to disable');
    const hasOtherChanges = Object.keys(rest).some((k) => k !== 'TableName');
    const reply = hasOtherChanges
      ? await forward(headers, Buffer.from(JSON.stringify(rest)))
      : await forward(
          { ...INTERNAL_HEADERS, 'x-amz-target': `${API}.DescribeTable` },
          Buffer.from(JSON.stringify({ TableName: table })),
        );
    if (reply.status !== 200) return reply;
    // Wait for writes in flight on the table? Writes check the registry after their intent: a toggle mid-write only
    // decides whether that write's record is kept, as on AWS where enabling races with writes.
    if (setting) registry[table] = { viewType: setting, streamArn: streamArnOf(table) };
    else delete registry[table];
    saveRegistry();
    const body = parse(reply);
    const description = (body.TableDescription ?? body.Table) as Record<string, unknown>;
    return jsonReply(200, { TableDescription: describeWithStream(description) }, reply.headers);
  };

  const send = (res: ServerResponse, reply: Reply) => {
    const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...headers } = reply.headers;
    res.writeHead(reply.status, headers);
    res.end(reply.body);
  };

  const pipeThrough = (req: IncomingMessage, res: ServerResponse) => {
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        agent,
        headers: { ...req.headers, host: upstream.host },
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 500, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', (error) => {
      if (!res.headersSent) send(res, dynamoError(500, 'InternalServerError', `dynalite: ${error.message}`));
      else res.destroy(error);
    });
    req.pipe(up);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const [api, operation = ''] = String(req.headers['x-amz-target'] ?? '').split('.');
    if (req.method !== 'POST' || api !== API || !(WRITES.has(operation) || TABLE_CALLS.has(operation))) {
      pipeThrough(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      send(res, await forward(req.headers, body));
      return;
    }
    const reply = WRITES.has(operation)
      ? await recordedWrite(operation, req.headers, body, input)
      : await tableCall(operation, req.headers, input);
    send(res, reply);
  };

  // Recovery, before the first request: a write whose intent is open may or may not have reached dynalite.
  let recovered = 0;
  for (const [table, stream] of Object.entries(registry)) {
    const journal = journalOf(table);
    const { open } = journal.scan();
    for (const [id, intent] of open) {
      const pending = intent.keys
        .map((keys, i) => ({ keys, oldItem: intent.old[i] ?? null }))
        .filter((c) => !intent.recorded.some((k) => isDeepStrictEqual(k, c.keys)));
      const changes = await Promise.all(pending.map(async (c) => ({ ...c, newItem: await getItem(table, c.keys) })));
      recovered += await journal.record(id, changes, stream, options.region);
    }
    if (statSync(journal.file).size > COMPACT_BYTES) journal.compact(Date.now());
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, dynamoError(500, 'InternalServerError', `stream recorder: ${String(error)}`));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    recovered,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
      for (const journal of journals.values()) await journal.close();
    },
  };
}
