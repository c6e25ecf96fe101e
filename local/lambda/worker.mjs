// Worker-thread entry of the local Lambda runtime: loads one function's bundle and serves invocations one at a time.
// Plain ESM JavaScript so it runs as-is under Node, tsx and jest alike (a .ts entry would need a loader in the worker).
import { openSync, writeSync } from 'node:fs';
import module from 'node:module';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * @typedef {{ modulePath: string, exportName: string, handler: string, functionName: string, functionArn: string,
 *   memorySize: number, version: string, logGroupName: string, logStreamName: string, logFile?: string,
 *   compileCacheDir?: string }} WorkerConfig
 */

/** @type {WorkerConfig} */
const config = workerData;
const port = parentPort;
if (!port) throw new Error('local/lambda/worker.mjs must run inside a worker thread');

/** @type {string | undefined} the request being served; console lines and crash reports carry it. */
let currentRequestId;
let maxHeapMb = 0;

// Log lines go straight to the function's log file (append mode, so lines of several workers never tear): a worker's
// process.stdout is relayed through the parent thread, which would put every log line on the API's event loop.
if (config.logFile) {
  const fd = openSync(config.logFile, 'a');
  const direct = (chunk, encoding, callback) => {
    writeSync(fd, typeof chunk === 'string' ? chunk : Buffer.from(chunk));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
  process.stdout.write = direct;
  process.stderr.write = direct;
}

// Lambda's Node runtime prefixes console output with timestamp, request id and level; Powertools writes JSON itself.
const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
for (const [method, level] of Object.entries(levels)) {
  const stream = level === 'ERROR' || level === 'WARN' ? process.stderr : process.stdout;
  console[method] = (...args) => {
    const line = format(...args).replaceAll('\n', '\r');
    stream.write(`${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${line}\n`);
  };
}

/** Lambda's error payload for anything thrown (an Error or not). */
function toErrorPayload(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name || error.constructor?.name || 'Error',
      errorMessage: error.message,
      stackTrace: (error.stack ?? '')
        .split('\n')
        .slice(1)
        .map((line) => line.trim()),
    };
  }
  return { errorType: typeof error, errorMessage: String(error) };
}

function heapMb() {
  const used = Math.ceil(getHeapStatistics().used_heap_size / (1024 * 1024));
  if (used > maxHeapMb) maxHeapMb = used;
  return maxHeapMb;
}

// An exception nobody awaits ends the execution environment, as on Lambda; the parent replaces the worker.
process.on('uncaughtException', (error) => {
  port.postMessage({ type: 'crash', requestId: currentRequestId, error: toErrorPayload(error) });
  process.exit(129);
});
process.on('unhandledRejection', (reason) => {
  const error = toErrorPayload(reason);
  port.postMessage({
    type: 'crash',
    requestId: currentRequestId,
    error: {
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: `${error.errorType}: ${error.errorMessage}`,
    },
  });
  process.exit(128);
});

const initStart = performance.now();
// V8's compiled code of the bundle, kept on disk by content: an unchanged bundle's next init skips parse and compile
// (about half of an init here). Node < 22.1 has no compile cache; the import works the same without it.
if (config.compileCacheDir) module.enableCompileCache?.(config.compileCacheDir);
/** @type {((event: unknown, context: object) => unknown) | undefined} */
let handler;
try {
  let mod;
  try {
    mod = await import(pathToFileURL(config.modulePath).href);
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes(config.modulePath)) {
      throw Object.assign(new Error(`Cannot find module '${config.modulePath}'`), {
        name: 'Runtime.ImportModuleError',
      });
    }
    throw error;
  }
  // Written now, not at exit: a worker ends by terminate(), which would lose it.
  if (config.compileCacheDir) module.flushCompileCache?.();
  handler = mod[config.exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${config.handler} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
} catch (error) {
  port.postMessage({ type: 'initError', error: toErrorPayload(error), initMs: performance.now() - initStart });
  // The parent terminates this worker; nothing else to do.
}
const initMs = performance.now() - initStart;
let firstInvoke = true;

if (handler) {
  port.on('message', async (message) => {
    if (message?.type !== 'invoke') return;
    const { requestId, eventJson, deadline } = message;
    currentRequestId = requestId;
    const started = performance.now();
    process.stdout.write(`START RequestId: ${requestId} Version: ${config.version}\n`);
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: config.functionName,
      functionVersion: config.version,
      invokedFunctionArn: config.functionArn,
      memoryLimitInMB: String(config.memorySize),
      awsRequestId: requestId,
      logGroupName: config.logGroupName,
      logStreamName: config.logStreamName,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => {
        throw new Error('context.done is not supported by the nodejs24.x runtime');
      },
      fail: () => {
        throw new Error('context.fail is not supported by the nodejs24.x runtime');
      },
      succeed: () => {
        throw new Error('context.succeed is not supported by the nodejs24.x runtime');
      },
    };
    let reply;
    try {
      // Lambda hands the handler a fresh JSON value and serialises what it returns (undefined → null).
      const result = await handler(JSON.parse(eventJson), context);
      reply = { type: 'result', requestId, ok: true, payloadJson: JSON.stringify(result ?? null) };
    } catch (error) {
      reply = { type: 'result', requestId, ok: false, error: toErrorPayload(error) };
    }
    const duration = performance.now() - started;
    const init = firstInvoke ? `\tInit Duration: ${initMs.toFixed(2)} ms` : '';
    firstInvoke = false;
    process.stdout.write(
      `END RequestId: ${requestId}\nREPORT RequestId: ${requestId}\tDuration: ${duration.toFixed(2)} ms\t` +
        `Billed Duration: ${Math.ceil(duration)} ms\tMemory Size: ${config.memorySize} MB\t` +
        `Max Memory Used: ${heapMb()} MB${init}\n`,
    );
    currentRequestId = undefined;
    port.postMessage({ ...reply, durationMs: duration });
  });
  port.postMessage({ type: 'ready', initMs });
}
