// Shared harness of the local-stage end-to-end suite: a real stage per test file, real SDK clients, real HTTP calls.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ErrorBody } from '../../lambdas/shared/errors.js';
import { localCredentials } from '../../local/api/index.js';
import { type LocalStage, type LocalStageOptions, startLocalStage } from '../../local/stage.js';
import type { LocalTemplate } from '../../local/types.js';
import type { Transaction } from '../../models/shared/contracts/transaction.js';

/** Starting a stage (15 workers importing their bundles) and closing it take seconds; on a busy 2-core box, more. */
export const STAGE_HOOK_TIMEOUT_MS = 180_000;

/** The dev stage's construct paths of what the tests read directly with the SDK. */
export const PATHS = {
  featuresTable: 'Dev/Data/FeaturesTable/Resource',
  decisionsTable: 'Dev/Data/DecisionsTable/Resource',
  labelsTable: 'Dev/Data/LabelsTable/Resource',
  stream: 'Dev/Data/TransactionStream/Resource',
  lakeBucket: 'Dev/Data/LakeBucket/Resource',
  monitoringBucket: 'Dev/Data/MonitoringBucket/Resource',
  featuresDlq: 'Dev/Services/FeaturesDeadLetterQueue/Resource',
  eventsDlq: 'Dev/Services/EventsDeadLetterQueue/Resource',
  alertsTopic: 'Dev/Services/AlertsTopic/Resource',
  bus: 'Dev/Data/Bus/Resource',
} as const;

export interface E2eStage {
  readonly stage: LocalStage;
  readonly dataDir: string;
  /** Closes the stage and deletes its data directory (unless `keepData`). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/** A temp data dir for a stage (kept when a test wants to restart on it). */
export const tempDataDir = (label: string): string => mkdtempSync(join(tmpdir(), `aims-e2e-${label}-`));

/**
 * Starts the real local stage on a free port. `npm test` synthesizes first, and the stage serves the trained model
 * when there is one, else the committed bootstrap model, so neither synth nor training runs here.
 */
export async function startE2eStage(
  label: string,
  options: Omit<LocalStageOptions, 'port' | 'synth' | 'log'> = {},
): Promise<E2eStage> {
  const dataDir = options.dataDir ?? tempDataDir(label);
  const start = () => startLocalStage({ ...options, dataDir, port: 0, synth: false, log: () => {} });
  let stage: LocalStage;
  try {
    try {
      stage = await start();
    } catch (error) {
      // The runtime warms every function at once under Lambda's 10 s init limit; on a saturated 2-core machine that
      // can time out although nothing is wrong. One more try (files now cached) tells load from a real failure.
      if (!String(error).includes('Runtime.InitTimeout')) throw error;
      process.stderr.write(`e2e ${label}: the stage timed out warming its functions (machine busy?); retrying once\n`);
      stage = await start();
    }
  } catch (error) {
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    stage,
    dataDir,
    async close(o = {}) {
      await stage.close();
      if (!o.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What `Ref` gives for the template resource at a construct path (a table or bucket name, a queue URL, a topic ARN). */
export function refOf(stage: { readonly template: LocalTemplate }, path: string): string {
  const found = stage.template.resources.find((r) => r.path === path);
  if (!found) throw new Error(`the dev template has no resource at ${path}`);
  return found.ref;
}

/** The target ARNs of the bus rules whose pattern names `detailType` (what the template says should receive it). */
export function ruleTargetsFor(stage: LocalStage, detailType: string): string[] {
  return stage.template.ofType('AWS::Events::Rule').flatMap((rule) => {
    const pattern = rule.properties.EventPattern as { 'detail-type'?: unknown } | undefined;
    const types = Array.isArray(pattern?.['detail-type']) ? pattern['detail-type'] : [];
    if (!types.includes(detailType)) return [];
    const targets = (rule.properties.Targets ?? []) as { Arn?: string }[];
    return targets.map((t) => String(t.Arn));
  });
}

const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Real SDK v3 clients pointed at the stage's local servers, as an application would configure them. */
export function sdkClients(stage: LocalStage) {
  const region = stage.template.region;
  const common = { region, credentials: FAKE_CREDENTIALS };
  const dynamo = new DynamoDBClient({ ...common, endpoint: stage.endpoints.dynamodb });
  return {
    dynamo,
    doc: DynamoDBDocumentClient.from(dynamo),
    // kinesalite speaks HTTP/1.1 only.
    kinesis: new KinesisClient({
      ...common,
      endpoint: stage.endpoints.kinesis,
      requestHandler: new NodeHttpHandler(),
    }),
    s3: new S3Client({ ...common, endpoint: stage.endpoints.s3, forcePathStyle: true }),
    events: new EventBridgeClient({ ...common, endpoint: stage.endpoints.eventbridge }),
    destroy(): void {
      for (const c of [this.doc, this.dynamo, this.kinesis, this.s3, this.events]) c.destroy();
    },
  };
}
export type SdkClients = ReturnType<typeof sdkClients>;

export interface ClientCredentials {
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly apiKey: string;
  readonly tokenUrl: string;
}

/** A client's id, secret, API key and token URL as the stage persisted them. */
export function credentialsOf(stage: LocalStage, name: string): ClientCredentials {
  const client = stage.api.credentials().clients.find((c) => c.name === name);
  if (!client) throw new Error(`the local stage has no client '${name}'`);
  if (!client.apiKey) throw new Error(`client '${name}' has no API key`);
  return { ...client, apiKey: client.apiKey };
}

/** OAuth2 client_credentials with HTTP Basic client authentication (RFC 6749 §2.3.1), as a real client does. */
export async function fetchToken(client: ClientCredentials, scopes?: readonly string[]): Promise<string> {
  const basic = Buffer.from(
    `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
  ).toString('base64');
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scopes) form.set('scope', scopes.join(' '));
  const response = await fetch(client.tokenUrl, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const body = (await response.json()) as { access_token?: string; token_type?: string; error?: string };
  if (response.status !== 200 || !body.access_token) {
    throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
  }
  if (body.token_type !== 'Bearer') throw new Error(`expected a Bearer token, got ${body.token_type}`);
  return body.access_token;
}

export interface Caller {
  readonly token?: string;
  /** The client's usage-plan key: never sent (the authorizer supplies it), kept to read the client's quota. */
  readonly apiKey?: string;
}

/** A client that holds a token (its one credential), the way an integrating service calls the API. */
export async function callerFor(stage: LocalStage, name: string): Promise<Required<Caller>> {
  const creds = credentialsOf(stage, name);
  return { token: await fetchToken(creds), apiKey: creds.apiKey };
}

/** The same for a stage running as its own process: its clients as it persisted them in its data directory. */
export async function callerOfDataDir(dataDir: string, name: string): Promise<Required<Caller>> {
  const client = localCredentials(dataDir).clients.find((c) => c.name === name);
  if (!client?.apiKey) throw new Error(`no client ${name} with an API key in ${dataDir}`);
  return { token: await fetchToken({ ...client, apiKey: client.apiKey }), apiKey: client.apiKey };
}

/** How one request ended for the client: an answer (status, parsed body), or the network error it saw instead. */
export interface RequestOutcome {
  readonly status?: number;
  readonly body?: unknown;
  /** ECONNRESET, ECONNREFUSED, …: no answer came. */
  readonly error?: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body, or undefined when it is not JSON. */
  readonly json: unknown;
}

export interface RequestOptions {
  readonly caller?: Caller;
  /** A JSON value (serialized) or a raw string body. */
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

/** One HTTP call to the stage's API. */
export function call(stage: LocalStage, method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse> {
  return callUrl(`${stage.url}${path}`, method, o);
}

/** One HTTP call to a URL (of a stage running as its own process, say). */
export async function callUrl(url: string, method: string, o: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.caller?.token) headers.authorization = `Bearer ${o.caller.token}`;
  const body = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** POSTs a JSON body as an integrating client does; a reset or a refused connection is an outcome, not a throw. */
export async function postJson(url: string, caller: Caller, body: unknown): Promise<RequestOutcome> {
  try {
    const response = await callUrl(url, 'POST', { caller, body });
    return { status: response.status, body: response.json };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { error: cause?.code ?? cause?.message ?? String(error) };
  }
}

/** Asserts the one error JSON shape `{ error: { code, message, details? }, requestId }` and returns it. */
export function expectErrorBody(response: ApiResponse, status: number, code?: string): ErrorBody {
  const parsed = ErrorBody.safeParse(response.json);
  if (!parsed.success || response.status !== status || (code !== undefined && parsed.data.error.code !== code)) {
    throw new Error(
      `expected ${status}${code ? ` ${code}` : ''} with the error JSON, got ${response.status}: ${response.text.slice(0, 500)}`,
    );
  }
  expect(parsed.data.requestId.length).toBeGreaterThan(0);
  expect(parsed.data.error.message.length).toBeGreaterThan(0);
  return parsed.data;
}

/** A unique id prefix per test file run, so ids never collide with another run's (or another file's) data. */
export const runId = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

/** A valid, ordinary card-present transaction; `over` changes fields. */
export function transaction(id: string, over: Partial<Transaction> = {}): Transaction {
  return {
    transactionId: id,
    customerId: `cust-${id}`,
    merchantId: 'merch-grocer-1',
    merchantCategory: 'grocery',
    amount: 42.5,
    currency: 'EUR',
    country: 'DE',
    channel: 'card_present',
    deviceId: 'dev-1',
    timestamp: new Date().toISOString(),
    ...over,
  };
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
