// Parses the model server's command line and environment into `ModelServerOptions`.
import { parseArgs } from 'node:util';
import type { ModelServerOptions } from './server.js';

export const USAGE = `usage: model-server [serve] [options]

  --model-dir DIR            model.onnx + model-card.json (default: $MODEL_DIR or /opt/ml/model)
  --manifest-dir DIR         directory of model.json (default: the model dir if it has one, else its parent)
  --host HOST                bind address (default: $HOST or 127.0.0.1; the container sets 0.0.0.0)
  --port N                   (default: $SAGEMAKER_BIND_TO_PORT, else $PORT, else 8080; 0 = any free port)
  --max-batch-size N         rows per ORT run (default: manifest serving.maxBatchSize)
  --max-queue-delay-us N     batching wait while requests are arriving (default: manifest)
  --timeout-ms N             longest wait in the batch queue (default: manifest serving.timeoutMs)
  --max-body-bytes N         larger bodies get 413 (default: 6291456)
  --max-rows N               more rows per request get 400 (default: 4096)
  --variant NAME             x-Amzn-Invoked-Production-Variant (default: $SAGEMAKER_VARIANT or AllTraffic)
  --intra-op-threads N       ORT threads per run (default: 1)
  --log-requests             one log line per request
  -h, --help`;

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ModelServerOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'model-dir': { type: 'string' },
      'manifest-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'max-batch-size': { type: 'string' },
      'max-queue-delay-us': { type: 'string' },
      'timeout-ms': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'max-rows': { type: 'string' },
      variant: { type: 'string' },
      'intra-op-threads': { type: 'string' },
      'log-requests': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const unexpected = positionals.filter((p) => p !== 'serve');
  if (unexpected.length > 0)
    throw new Error(`unexpected argument(s) ${unexpected.join(' ')}: only 'serve' is accepted`);
  const port = integer('port', values.port ?? env.SAGEMAKER_BIND_TO_PORT ?? env.PORT, 0) ?? 8080;
  if (port > 65_535) throw new Error(`--port must be <= 65535, got ${port}`);
  const optional = {
    manifestDir: values['manifest-dir'],
    maxBatchSize: integer('max-batch-size', values['max-batch-size'], 1),
    maxQueueDelayMicroseconds: integer('max-queue-delay-us', values['max-queue-delay-us'], 0),
    timeoutMs: integer('timeout-ms', values['timeout-ms'], 1),
    maxBodyBytes: integer('max-body-bytes', values['max-body-bytes'], 1),
    maxRows: integer('max-rows', values['max-rows'], 1),
    intraOpNumThreads: integer('intra-op-threads', values['intra-op-threads'], 1),
  };
  return {
    modelDir: values['model-dir'] ?? env.MODEL_DIR ?? '/opt/ml/model',
    host: values.host ?? env.HOST ?? '127.0.0.1',
    port,
    variant: values.variant ?? env.SAGEMAKER_VARIANT ?? 'AllTraffic',
    logRequests: values['log-requests'] ?? false,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}
