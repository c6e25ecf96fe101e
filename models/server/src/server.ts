// The model server: SageMaker's container contract and the Open Inference Protocol v2 over node:http, with
// micro-batching, hot reload and graceful shutdown. `startModelServer` is the programmatic entry point.
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BatchResult, MicroBatcher } from './batcher.js';
import { HttpError, ModelLoadError } from './errors.js';
import { errorFields, jsonLogger, type Logger } from './log.js';
import { LoadedModel } from './model.js';
import {
  errorJson,
  type InferExpectation,
  inferResponseHead,
  inferResponseWithHead,
  parseInferBody,
} from './protocol.js';

export const SERVER_NAME = 'aims-model-server';
export const SERVER_VERSION = '1.0.0';

export interface ModelServerOptions {
  /** Directory with `model.onnx` and `model-card.json`. */
  modelDir: string;
  /** Directory with the manifest `model.json`. @default - `modelDir` if it has one, else its parent */
  manifestDir?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8080 */
  port?: number;
  /** Overrides the manifest's `serving.maxBatchSize`. */
  maxBatchSize?: number;
  /** Overrides the manifest's `serving.maxQueueDelayMicroseconds`. */
  maxQueueDelayMicroseconds?: number;
  /** Overrides the manifest's `serving.timeoutMs` (longest a request may wait in the batch queue). */
  timeoutMs?: number;
  /** Larger bodies get 413. @default 6 MiB, SageMaker's real-time payload limit */
  maxBodyBytes?: number;
  /** More rows in one request get 400. @default 4096 */
  maxRows?: number;
  /** Reported in `x-Amzn-Invoked-Production-Variant`. @default 'AllTraffic' */
  variant?: string;
  /** @default - JSON lines on stdout */
  logger?: Logger;
  /** Log one line per request (off by default: it costs more than inference). @default false */
  logRequests?: boolean;
  /** ORT threads per run. @default 1 */
  intraOpNumThreads?: number;
  /** ORT runs in flight at once. @default 1 */
  maxConcurrentBatches?: number;
  /** How long `close()` waits for in-flight requests before cutting connections. @default 10000 */
  drainTimeoutMs?: number;
}

export interface ReloadOptions {
  /** The model card must state this version, or the reload is refused. */
  version?: string;
  /** Manifest directory for the new version. @default - as for startup */
  manifestDir?: string;
}

export interface LoadedModelInfo {
  name: string;
  version: string;
  modelDir: string;
  features: readonly string[];
}

export interface ModelServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting, drains in-flight requests, releases the session. */
  close(): Promise<void>;
  /** Loads a new version (default: the current directory again), then swaps it in atomically. */
  reload(modelDir?: string, options?: ReloadOptions): Promise<LoadedModelInfo>;
  /** The version now serving. */
  current(): LoadedModelInfo;
}

const JSON_TYPE = 'application/json';
const MiB = 1024 * 1024;

type InferRoute = { kind: 'v2'; name: string; version?: string } | { kind: 'sagemaker'; endpoint?: string };
const SAGEMAKER_ROUTE: InferRoute = { kind: 'sagemaker' };

const info = (m: LoadedModel): LoadedModelInfo => ({
  name: m.name,
  version: m.version,
  modelDir: m.modelDir,
  features: m.manifest.features,
});

const decode = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** Starts listening, loads the model (`/ping` is 503 until then), and resolves once it serves; rejects if it cannot. */
export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const log = options.logger ?? jsonLogger;
  const maxBodyBytes = options.maxBodyBytes ?? 6 * MiB;
  const maxRows = options.maxRows ?? 4096;
  const variant = options.variant ?? 'AllTraffic';
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const modelDir = options.modelDir;

  let model: LoadedModel | undefined;
  let draining = false;
  let arriving = 0;
  let reloadChain: Promise<unknown> = Promise.resolve();

  const requireModel = (): LoadedModel => {
    if (model === undefined) throw new HttpError(503, 'no model is loaded yet');
    return model;
  };

  const batcherOptions = (m: LoadedModel) => ({
    maxBatchSize: options.maxBatchSize ?? m.manifest.serving.maxBatchSize,
    maxQueueDelayMicroseconds: options.maxQueueDelayMicroseconds ?? m.manifest.serving.maxQueueDelayMicroseconds,
    timeoutMs: options.timeoutMs ?? m.manifest.serving.timeoutMs,
    maxConcurrentBatches: options.maxConcurrentBatches ?? 1,
  });
  let batcher: MicroBatcher | undefined;

  const loadModel = async (dir: string, reload?: ReloadOptions): Promise<LoadedModel> => {
    const started = process.hrtime.bigint();
    const manifestDir = reload?.manifestDir ?? options.manifestDir;
    const loaded = await LoadedModel.load({
      modelDir: dir,
      ...(manifestDir === undefined ? {} : { manifestDir }),
      ...(reload?.version === undefined ? {} : { expectVersion: reload.version }),
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
    });
    log('info', 'model_loaded', {
      model: loaded.name,
      version: loaded.version,
      modelDir: loaded.modelDir,
      manifestDir: loaded.manifestDir,
      features: loaded.width,
      ortRun: loaded.runsSynchronously ? 'native' : 'public-api',
      loadMs: Number(process.hrtime.bigint() - started) / 1e6,
    });
    return loaded;
  };

  const swapIn = (next: LoadedModel): void => {
    const previous = model;
    if (previous !== undefined && previous.name !== next.name) {
      void next.retire();
      throw new ModelLoadError(next.modelDir, `it is model '${next.name}' but this server serves '${previous.name}'`);
    }
    model = next;
    if (batcher === undefined) {
      batcher = new MicroBatcher(
        () => requireModel(),
        batcherOptions(next),
        () => arriving,
      );
    } else {
      batcher.configure(batcherOptions(next));
    }
    if (previous !== undefined) {
      log('info', 'model_swapped', { model: next.name, from: previous.version, to: next.version });
      void previous
        .retire()
        .then(() => log('info', 'session_released', { model: previous.name, version: previous.version }));
    }
  };

  const reload = (dir?: string, reloadOptions?: ReloadOptions): Promise<LoadedModelInfo> => {
    // Reloads run one at a time so two swaps never interleave.
    const run = reloadChain.then(async () => {
      const target = dir ?? model?.modelDir ?? modelDir;
      log('info', 'reload_started', {
        modelDir: target,
        ...(reloadOptions?.version ? { version: reloadOptions.version } : {}),
      });
      try {
        const next = await loadModel(target, reloadOptions);
        swapIn(next);
        return info(next);
      } catch (err) {
        log('error', 'reload_failed', { modelDir: target, ...errorFields(err) });
        throw err;
      }
    });
    reloadChain = run.catch(() => {});
    return run;
  };

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    if (draining) res.setHeader('Connection', 'close');
    res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };

  const sendError = (res: ServerResponse, route: InferRoute | undefined, err: unknown): void => {
    const status = err instanceof HttpError ? err.status : 500;
    const message = err instanceof HttpError ? err.message : `internal error: ${(err as Error).message ?? String(err)}`;
    if (status >= 500) log('error', 'request_failed', { status, ...errorFields(err) });
    const headers = err instanceof HttpError ? { ...err.headers } : {};
    if (route?.kind === 'sagemaker' && route.endpoint !== undefined) {
      // What SageMaker's front end does with a container error: 424 ModelError wrapping the container's reply.
      const original = errorJson(message);
      const body = JSON.stringify({
        ErrorCode: status < 500 ? 'CLIENT_ERROR_FROM_MODEL' : 'SERVER_ERROR_FROM_MODEL',
        Message: `Received ${status < 500 ? 'client' : 'server'} error (${status}) from primary with message "${message}".`,
        OriginalMessage: original,
        OriginalStatusCode: status,
      });
      send(res, 424, body, { ...headers, 'x-amzn-ErrorType': 'ModelError' });
      return;
    }
    send(res, status, errorJson(message), headers);
  };

  /** Collects a request body as text. Exactly one callback runs: `onError` with a 413 past `maxBodyBytes`, or with
   * the stream's error. Callbacks rather than a promise: this runs for every request and adds no microtask hop. */
  const collectBody = (req: IncomingMessage, onBody: (text: string) => void, onError: (err: unknown) => void): void => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    const tooLarge = () => new HttpError(413, `request body exceeds ${maxBodyBytes} bytes`, { Connection: 'close' });
    if (declared > maxBodyBytes) {
      req.resume();
      onError(tooLarge());
      return;
    }
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        done = true;
        onError(tooLarge());
        return;
      }
      if (first === undefined) first = chunk;
      else if (chunks === undefined) chunks = [first, chunk];
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      if (chunks !== undefined) onBody(Buffer.concat(chunks).toString('utf8'));
      else onBody(first === undefined ? '' : first.toString('utf8'));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      onError(err);
    });
  };

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => collectBody(req, resolve, reject));

  /** What the infer hot path needs of a model, computed once per loaded model rather than per request. */
  interface InferParts {
    expectation: InferExpectation;
    /** The model-dependent part of every response (see `inferResponseHead`). */
    head: string;
    /** The route of `inferPath`, shared by every request to it. */
    v2Route: InferRoute;
  }
  const partsCache = new WeakMap<LoadedModel, InferParts>();
  const partsFor = (m: LoadedModel): InferParts => {
    let parts = partsCache.get(m);
    if (parts === undefined) {
      parts = {
        expectation: { inputName: m.inputName, outputName: m.outputName, width: m.width, maxRows },
        head: inferResponseHead({ modelName: m.name, modelVersion: m.version, outputName: m.outputName }),
        v2Route: { kind: 'v2', name: m.name },
      };
      partsCache.set(m, parts);
    }
    return parts;
  };

  const failInfer = (res: ServerResponse, route: InferRoute, err: unknown): void => {
    // An arriving request that failed may be what a queued batch was waiting for.
    batcher?.poke();
    if (!res.headersSent) sendError(res, route, err);
  };

  const sendInfer = (res: ServerResponse, route: InferRoute, id: string | undefined, rows: number, r: BatchResult) => {
    try {
      const body = inferResponseWithHead(partsFor(r.model).head, id, rows, r.model.outputWidth, r.values);
      const headers: OutgoingHttpHeaders = { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(body) };
      if (route.kind === 'sagemaker') headers['x-Amzn-Invoked-Production-Variant'] = variant;
      if (draining) headers.Connection = 'close';
      // Status line, headers and body leave in one write.
      res.writeHead(200, headers);
      res.end(body);
    } catch (err) {
      failInfer(res, route, err);
    }
  };

  /**
   * Scores one infer request. Once its body is in, a lone request is validated, run and answered in that same
   * event-loop turn (`MicroBatcher.tryRunNow`); otherwise it queues for the next batch. No async function or
   * promise is involved on the lone path. Errors are answered here, so callers need not wait for it.
   */
  const inferNow = (req: IncomingMessage, res: ServerResponse, route: InferRoute): void => {
    arriving++;
    collectBody(
      req,
      (text) => {
        arriving--;
        scoreBody(res, route, text);
      },
      (err) => {
        arriving--;
        failInfer(res, route, err);
      },
    );
  };

  const scoreBody = (res: ServerResponse, route: InferRoute, text: string): void => {
    try {
      const m = requireModel();
      if (route.kind === 'v2') {
        if (route.name !== m.name)
          throw new HttpError(404, `unknown model '${route.name}'; this server serves '${m.name}'`);
        if (route.version !== undefined && route.version !== m.version) {
          throw new HttpError(
            404,
            `version '${route.version}' of model '${m.name}' is not loaded (serving '${m.version}')`,
          );
        }
      }
      const parsed = parseInferBody(text, partsFor(m).expectation);
      const active = batcher;
      if (active === undefined) throw new HttpError(503, 'no model is loaded yet');
      const now = active.tryRunNow(parsed.rows, parsed.width, parsed.data);
      if (now !== undefined) {
        sendInfer(res, route, parsed.id, parsed.rows, now);
        return;
      }
      active.submit(parsed.rows, parsed.width, parsed.data).then(
        (r) => sendInfer(res, route, parsed.id, parsed.rows, r),
        (err: unknown) => failInfer(res, route, err),
      );
    } catch (err) {
      failInfer(res, route, err);
    }
  };

  const modelMetadata = (m: LoadedModel) => ({
    name: m.name,
    versions: [m.version],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: m.inputName, datatype: 'FP32', shape: [-1, m.width] }],
    outputs: [{ name: m.outputName, datatype: 'FP32', shape: [-1, m.outputWidth] }],
    parameters: { features: m.manifest.features },
  });

  const modelStats = (m: LoadedModel) => {
    const s = m.stats;
    return {
      model_stats: [
        {
          name: m.name,
          version: m.version,
          last_inference: s.lastInferenceMs,
          inference_count: s.rows,
          execution_count: s.batches,
          inference_stats: {
            success: { count: s.requests, ns: s.computeNs + s.queueNs },
            fail: { count: s.failures, ns: 0 },
            queue: { count: s.requests, ns: s.queueNs },
            compute_infer: { count: s.batches, ns: s.computeNs },
          },
        },
      ],
    };
  };

  const methodNotAllowed = (allowed: string, method: string | undefined) =>
    new HttpError(405, `method ${method ?? '?'} is not allowed here; use ${allowed}`, { Allow: allowed });

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<InferRoute | undefined> => {
    const method = req.method;
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const parts = path
      .split('/')
      .filter((p) => p.length > 0)
      .map(decode);
    const expect = (allowed: string) => {
      if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) throw methodNotAllowed(allowed, method);
    };

    if (path === '/ping') {
      expect('GET');
      if (model === undefined || draining)
        throw new HttpError(503, draining ? 'shutting down' : 'no model is loaded yet');
      send(res, 200, JSON.stringify({ status: 'Healthy', model_name: model.name, model_version: model.version }));
      return undefined;
    }
    if (path === '/invocations' || (parts.length === 3 && parts[0] === 'endpoints' && parts[2] === 'invocations')) {
      const r: InferRoute =
        parts.length === 3 ? { kind: 'sagemaker', endpoint: parts[1] as string } : { kind: 'sagemaker' };
      if (method !== 'POST') throw methodNotAllowed('POST', method);
      inferNow(req, res, r);
      return r;
    }
    if (parts[0] !== 'v2') throw new HttpError(404, `no route ${method ?? ''} ${path}`);

    if (parts.length === 1) {
      expect('GET');
      send(
        res,
        200,
        JSON.stringify({ name: SERVER_NAME, version: SERVER_VERSION, extensions: ['model_repository', 'statistics'] }),
      );
      return undefined;
    }
    if (parts[1] === 'health' && parts.length === 3 && (parts[2] === 'live' || parts[2] === 'ready')) {
      expect('GET');
      const ok = parts[2] === 'live' ? !draining : model !== undefined && !draining;
      if (!ok) throw new HttpError(503, draining ? 'shutting down' : 'no model is loaded yet');
      send(res, 200, JSON.stringify({ [parts[2]]: true }));
      return undefined;
    }
    if (parts[1] === 'models' && parts.length >= 3) {
      const name = parts[2] as string;
      let rest = parts.slice(3);
      let version: string | undefined;
      if (rest[0] === 'versions' && rest.length >= 2) {
        version = rest[1];
        rest = rest.slice(2);
      }
      if (rest.length === 1 && rest[0] === 'infer') {
        const r: InferRoute = version === undefined ? { kind: 'v2', name } : { kind: 'v2', name, version };
        if (method !== 'POST') throw methodNotAllowed('POST', method);
        inferNow(req, res, r);
        return r;
      }
      const m = requireModel();
      if (name !== m.name) throw new HttpError(404, `unknown model '${name}'; this server serves '${m.name}'`);
      if (version !== undefined && version !== m.version) {
        throw new HttpError(404, `version '${version}' of model '${name}' is not loaded (serving '${m.version}')`);
      }
      if (rest.length === 0) {
        expect('GET');
        send(res, 200, JSON.stringify(modelMetadata(m)));
        return undefined;
      }
      if (rest.length === 1 && rest[0] === 'ready') {
        expect('GET');
        send(res, 200, JSON.stringify({ name: m.name, version: m.version, ready: !draining }));
        return undefined;
      }
      if (rest.length === 1 && rest[0] === 'stats') {
        expect('GET');
        send(res, 200, JSON.stringify(modelStats(m)));
        return undefined;
      }
    }
    if (parts[1] === 'repository') {
      if (parts.length === 3 && parts[2] === 'index') {
        // Triton uses POST; GET is accepted too for curl-friendliness.
        if (method !== 'GET' && method !== 'POST') throw methodNotAllowed('GET, POST', method);
        if (method === 'POST') await readBody(req);
        const entries =
          model === undefined ? [] : [{ name: model.name, version: model.version, state: 'READY', reason: '' }];
        send(res, 200, JSON.stringify(entries));
        return undefined;
      }
      if (parts.length === 5 && parts[2] === 'models' && parts[4] === 'load') {
        if (method !== 'POST') throw methodNotAllowed('POST', method);
        const name = parts[3] as string;
        const text = await readBody(req);
        const parameters = parseLoadParameters(text);
        const m = requireModel();
        if (name !== m.name) throw new HttpError(404, `unknown model '${name}'; this server serves '${m.name}'`);
        let loaded: LoadedModelInfo;
        try {
          loaded = await reload(
            parameters.path,
            parameters.version === undefined ? {} : { version: parameters.version },
          );
        } catch (err) {
          // A refused artifact is the caller's request failing, not the server: the old version keeps serving.
          if (err instanceof ModelLoadError) throw new HttpError(400, err.message);
          throw err;
        }
        send(
          res,
          200,
          JSON.stringify({ model_name: loaded.name, model_version: loaded.version, model_dir: loaded.modelDir }),
        );
        return undefined;
      }
    }
    throw new HttpError(404, `no route ${method ?? ''} ${path}`);
  };

  const logWhenDone = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    // 'close' fires whether the response finished or the connection went away first.
    res.once('close', () =>
      log('info', 'request', {
        method: req.method,
        path: req.url,
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      }),
    );
  };

  const server = createServer((req, res) => {
    if (options.logRequests) logWhenDone(req, res);
    // The two infer paths clients use skip the general routing below (and its async function).
    const m = model;
    if (req.method === 'POST' && m !== undefined) {
      const url = req.url;
      if (url === '/invocations') {
        inferNow(req, res, SAGEMAKER_ROUTE);
        return;
      }
      if (url === m.inferPath) {
        inferNow(req, res, partsFor(m).v2Route);
        return;
      }
    }
    route(req, res).catch((err: unknown) => {
      batcher?.poke();
      const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
      const isSageMakerEndpoint = /^\/endpoints\/[^/]+\/invocations$/.test(path);
      if (!res.headersSent) sendError(res, isSageMakerEndpoint ? { kind: 'sagemaker', endpoint: 'x' } : undefined, err);
    });
  });
  // SageMaker's front end keeps connections open for up to 60 s; outlive it so it never hits a closed socket.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  log('info', 'listening', { url, host: address.address, port: address.port });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      log('info', 'shutdown_started', { inFlight: batcher?.pending ?? 0 });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), drainTimeoutMs);
      await closed;
      clearTimeout(deadline);
      await batcher?.drained();
      await reloadChain;
      await model?.retire();
      log('info', 'shutdown_complete', {});
    })();
    return closing;
  };

  try {
    swapIn(await loadModel(modelDir));
  } catch (err) {
    log('error', 'model_load_failed', { modelDir, ...errorFields(err) });
    await close();
    throw err;
  }

  return {
    url,
    port: address.port,
    close,
    reload,
    current: () => info(requireModel()),
  };
}

/** Triton's repository load body: `{"parameters": {"version"?: string, "path"?: string}}`, all optional. */
function parseLoadParameters(text: string): { version?: string; path?: string } {
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'request body must be a JSON object');
  const parameters = (body as { parameters?: unknown }).parameters;
  if (parameters === undefined) return {};
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
    throw new HttpError(400, "'parameters' must be an object");
  }
  const { version, path } = parameters as { version?: unknown; path?: unknown };
  if (version !== undefined && typeof version !== 'string' && typeof version !== 'number') {
    throw new HttpError(400, "'parameters.version' must be a string");
  }
  if (path !== undefined && typeof path !== 'string') throw new HttpError(400, "'parameters.path' must be a string");
  return {
    ...(version === undefined ? {} : { version: String(version) }),
    ...(path === undefined ? {} : { path }),
  };
}
