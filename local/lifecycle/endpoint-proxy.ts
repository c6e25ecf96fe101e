// The local SageMaker endpoint front: InvokeEndpoint is split between the serving fleet and, during a deployment, a
// canary fleet (two model-server processes); every sampled request/response pair is written as SageMaker data
// capture (JSON lines under <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/), and canary metrics feed the rollback
// alarms. With a shadow variant, every invocation is also sent to the shadow's model server after the caller has its
// answer (never delaying it), and the shadow's answer is captured under its own variant with the same inference id.
// The model server itself stays unchanged.
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, type RunningServer, readBody } from '../services/http.js';
import type { LocalS3 } from './s3.js';

export interface CaptureSettings {
  /** `s3://bucket/prefix` from the EndpointConfig's DataCaptureConfig.DestinationS3Uri. */
  readonly destination: string;
  readonly endpointName: string;
  readonly variantName: string;
  readonly samplingPercentage: number;
  readonly captureInput: boolean;
  readonly captureOutput: boolean;
}

/** What the rollback alarms read for one fleet over the canary window. */
export interface FleetMetrics {
  requests: number;
  errors5xx: number;
  /** Upstream (model) latency of each request, µs (SageMaker's ModelLatency unit). */
  readonly latenciesUs: number[];
  /** The served score of each request's first row. */
  readonly scores: number[];
}

/** An answer the endpoint gives instead of invoking its model (e.g. no capacity while it scales out from zero). */
export interface ProxyRefusal {
  readonly status: number;
  /** SageMaker's error type (the `x-amzn-errortype` header the SDK reads). */
  readonly errorType: string;
  readonly message: string;
}

export interface ProxyFaults {
  /** Canary answers this HTTP status instead of calling its model (a broken new version). */
  canaryStatus?: number;
  /** Extra latency added to canary answers, ms (a slow new version). */
  canaryDelayMs?: number;
}

const emptyMetrics = (): FleetMetrics => ({ requests: 0, errors5xx: 0, latenciesUs: [], scores: [] });
const pad = (n: number) => String(n).padStart(2, '0');

export class EndpointProxy {
  private server: RunningServer | undefined;
  private champion: () => string;
  private canary: { url: string; percent: number; metrics: FleetMetrics } | undefined;
  private readonly buffers = new Map<string, string[]>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  readonly faults: ProxyFaults = {};
  /** Requests per fleet since start ('champion' / 'canary' / 'shadow' copies), for tests and the console. */
  readonly served = { champion: 0, canary: 0, shadow: 0 };
  private shadow: { url: () => string; capture: CaptureSettings | undefined } | undefined;
  private readonly mirroring = new Set<Promise<void>>();
  /** Aborts mirrored requests still waiting when the proxy closes. */
  private readonly closing = new AbortController();
  /** Asked before each invocation: a refusal answers it instead of the model (see setAdmission). */
  private admission: (() => ProxyRefusal | undefined) | undefined;

  constructor(
    championUrl: () => string,
    private capture: CaptureSettings | undefined,
    private readonly s3: LocalS3,
    private readonly flushIntervalMs = 1000,
    /** How long a mirrored request may take before the shadow's copy is dropped (SageMaker's invocation limit). */
    private readonly shadowTimeoutMs = 60_000,
  ) {
    this.champion = championUrl;
  }

  get url(): string {
    if (!this.server) throw new Error('the endpoint proxy is not listening');
    return this.server.url;
  }

  async start(): Promise<void> {
    this.server = await listen((req, res) => this.handle(req, res));
    this.timer = setInterval(() => void this.flushCapture(), this.flushIntervalMs);
    this.timer.unref();
  }

  /** Every invocation first asks `admit`; a refusal is answered as SageMaker's error without reaching a model. */
  setAdmission(admit: (() => ProxyRefusal | undefined) | undefined): void {
    this.admission = admit;
  }

  setCapture(capture: CaptureSettings | undefined): void {
    this.capture = capture;
  }

  setChampion(url: () => string): void {
    this.champion = url;
  }

  /** Mirrors every invocation to `url` (the shadow variant), capturing its answers with `capture`; undefined stops it. */
  setShadow(url: (() => string) | undefined, capture?: CaptureSettings): void {
    this.shadow = url ? { url, capture } : undefined;
  }

  /** Resolves when every mirrored request sent so far has been answered (and captured). */
  async shadowIdle(): Promise<void> {
    while (this.mirroring.size > 0) await Promise.allSettled([...this.mirroring]);
  }

  /** Routes `percent` of invocations to `url` from now on and starts a fresh canary window. */
  startCanary(url: string, percent: number): void {
    this.canary = { url, percent, metrics: emptyMetrics() };
  }

  /** Ends the canary; returns its window's metrics. */
  endCanary(): FleetMetrics {
    const metrics = this.canary?.metrics ?? emptyMetrics();
    this.canary = undefined;
    return metrics;
  }

  canaryMetrics(): FleetMetrics | undefined {
    return this.canary?.metrics;
  }

  /** Answers one request to this endpoint (its own listener, or the router in front of every endpoint). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const body = await readBody(req);
    const invocation = req.method === 'POST' && /^\/endpoints\/[^/]+\/invocations$/.test(path);
    const refusal = invocation ? this.admission?.() : undefined;
    if (refusal) {
      const text = JSON.stringify({ message: refusal.message });
      res.writeHead(refusal.status, { 'content-type': 'application/json', 'x-amzn-errortype': refusal.errorType });
      res.end(text);
      return;
    }
    const canary = invocation && this.canary && Math.random() * 100 < this.canary.percent ? this.canary : undefined;
    if (canary && this.faults.canaryStatus !== undefined) {
      canary.metrics.requests++;
      if (this.faults.canaryStatus >= 500) canary.metrics.errors5xx++;
      const text = JSON.stringify({ error: `the canary fleet answered ${this.faults.canaryStatus} (injected fault)` });
      res.writeHead(this.faults.canaryStatus, { 'content-type': 'application/json' });
      res.end(text);
      return;
    }
    const target = canary ? canary.url : this.champion();
    const started = process.hrtime.bigint();
    let upstream: { status: number; headers: IncomingMessage['headers']; body: Buffer };
    try {
      upstream = await forward(target, { url: req.url ?? '/', method: req.method, headers: req.headers }, body);
    } catch {
      // An unreachable model is an unreachable endpoint: the caller sees the connection drop, as before the proxy.
      req.socket.destroy();
      return;
    }
    if (canary?.url && this.faults.canaryDelayMs) await new Promise((r) => setTimeout(r, this.faults.canaryDelayMs));
    const latencyUs = Number(process.hrtime.bigint() - started) / 1000;
    const headers = { ...upstream.headers };
    delete headers['transfer-encoding'];
    delete headers.connection;
    res.writeHead(upstream.status, headers);
    res.end(upstream.body);
    if (!invocation) return;
    this.served[canary ? 'canary' : 'champion']++;
    // Sampled once per request, so a sampled champion answer has its shadow answer to pair with.
    const sampled = Math.random() * 100;
    const meta = {
      contentType: String(req.headers['content-type'] ?? 'application/json'),
      inferenceId: req.headers['x-amzn-sagemaker-inference-id'],
    };
    if (this.shadow)
      this.mirror(this.shadow, { url: req.url ?? '/', method: req.method, headers: req.headers }, body, meta, sampled);
    const responseText = upstream.body.toString('utf8');
    if (canary) {
      const m = canary.metrics;
      m.requests++;
      if (upstream.status >= 500) m.errors5xx++;
      m.latenciesUs.push(latencyUs + (this.faults.canaryDelayMs ?? 0) * 1000);
      const score = firstScore(responseText);
      if (score !== undefined) m.scores.push(score);
    }
    if (upstream.status < 300) this.record(this.capture, meta, body, responseText, sampled);
  }

  /** The shadow's copy of a request: sent after the caller's answer, captured on success, never awaited by it. */
  private mirror(
    shadow: NonNullable<EndpointProxy['shadow']>,
    request: ForwardedRequest,
    body: string,
    meta: CaptureMeta,
    sampled: number,
  ): void {
    const done = (async () => {
      try {
        const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.shadowTimeoutMs)]);
        const answer = await forward(shadow.url(), request, body, signal);
        this.served.shadow++;
        if (answer.status < 300) this.record(shadow.capture, meta, body, answer.body.toString('utf8'), sampled);
      } catch {
        // A shadow that is down loses its copies, as on SageMaker; the caller never sees it.
      }
    })();
    this.mirroring.add(done);
    void done.finally(() => this.mirroring.delete(done));
  }

  private record(
    c: CaptureSettings | undefined,
    meta: CaptureMeta,
    input: string,
    output: string,
    sampled: number,
  ): void {
    if (!c || sampled >= c.samplingPercentage) return;
    const now = new Date();
    const { contentType, inferenceId } = meta;
    const line = {
      captureData: {
        ...(c.captureInput
          ? { endpointInput: { observedContentType: contentType, mode: 'INPUT', data: input, encoding: 'JSON' } }
          : {}),
        ...(c.captureOutput
          ? {
              endpointOutput: {
                observedContentType: 'application/json',
                mode: 'OUTPUT',
                data: output,
                encoding: 'JSON',
              },
            }
          : {}),
      },
      eventMetadata: {
        eventId: randomUUID(),
        ...(typeof inferenceId === 'string' ? { inferenceId } : {}),
        inferenceTime: now.toISOString(),
      },
      eventVersion: '0',
    };
    const base = c.destination.replace(/\/+$/, '');
    const hour = `${now.getUTCFullYear()}/${pad(now.getUTCMonth() + 1)}/${pad(now.getUTCDate())}/${pad(now.getUTCHours())}`;
    const prefix = `${base}/${c.endpointName}/${c.variantName}/${hour}/`;
    const lines = this.buffers.get(prefix) ?? [];
    lines.push(JSON.stringify(line));
    this.buffers.set(prefix, lines);
  }

  /** Writes the buffered capture lines to S3 now (SageMaker flushes every few minutes; locally every second). */
  flushCapture(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const batches = [...this.buffers.entries()];
      this.buffers.clear();
      for (const [prefix, lines] of batches) {
        const stamp = new Date().toISOString().replace(/[-:.]/g, '');
        await this.s3
          .put(`${prefix}${stamp}-${randomUUID()}.jsonl`, `${lines.join('\n')}\n`, 'application/jsonlines')
          .catch(() => {
            // Capture is best effort on SageMaker too: a failed write never fails an invocation.
          });
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.shadow = undefined;
    this.closing.abort();
    await this.shadowIdle();
    await this.flushCapture();
    await this.server?.close();
  }
}

function firstScore(text: string): number | undefined {
  try {
    const parsed = JSON.parse(text) as { outputs?: { data?: unknown[] }[] };
    const value = parsed.outputs?.[0]?.data?.[0];
    return typeof value === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

interface ForwardedRequest {
  readonly url: string;
  readonly method: string | undefined;
  readonly headers: IncomingMessage['headers'];
}

interface CaptureMeta {
  readonly contentType: string;
  readonly inferenceId: string | string[] | undefined;
}

function forward(
  base: string,
  req: ForwardedRequest,
  body: string,
  signal?: AbortSignal,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  const url = new URL(req.url || '/', base);
  const headers = { ...req.headers, host: url.host, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolvePromise, reject) => {
    const upstream = httpRequest(url, { method: req.method, headers, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolvePromise({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    upstream.on('error', reject);
    upstream.end(body);
  });
}
