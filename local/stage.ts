// The local stage: runs the synthesized dev stage on this machine — every table, stream, bucket, bus rule, route,
// event-source mapping and function taken from the template — with one model server per SageMaker endpoint.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiGatewayEndpoint, type LocalApi, restApiDefinition, startLocalApi } from './api/index.js';
import { LOCAL_ASSEMBLY_DIR, prepareAssembly } from './assembly.js';
import { DeferredInvoker } from './deferred-invoker.js';
import {
  type EventSourceMappings,
  type LambdaRuntime,
  startEventSourceMappings,
  startLambdaRuntime,
} from './lambda/index.js';
import type { Clock } from './lifecycle/idle.js';
import { type LocalLifecycle, startLocalLifecycle } from './lifecycle/index.js';
import type { LocalModelEndpoint } from './model-endpoint.js';
import { reservePort } from './net.js';
import { type LocalServices, startLocalServices } from './services/index.js';
import { loadLocalTemplate, servedModels, type TemplateModel } from './template/index.js';
import type { Closable, LocalEndpoints, LocalTemplate } from './types.js';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
export const STAGE_NAME = 'Dev';
/** Initialised environments of each function behind an API route before the stage says ready (see startLocalStage). */
export const REQUEST_PATH_ENVIRONMENTS = 2;

export interface LocalStageOptions {
  /** State of every emulator lives here; a restart with the same folder loses nothing. @default AIMS_DATA_DIR or .aims */
  readonly dataDir?: string;
  /** API port. @default AIMS_PORT or 3000 (0 = any free port) */
  readonly port?: number;
  /** Synthesize the dev stage first: `true` when an input changed since the assembly in `assemblyDir` was made (a
   *  fingerprint stored beside it says), `'always'` regardless, `false` never (run `assemblyDir` as it is).
   *  @default true */
  readonly synth?: boolean | 'always';
  /** The cloud assembly to run, holding the `Dev` stage. Tests point it at an assembly they synthesized from a
   *  changed environment config. @default <project>/cdk.out.local when synthesizing (the dev stage alone), else
   *  <project>/cdk.out (all stages, as `npm run synth` writes them) */
  readonly assemblyDir?: string;
  /** The folder holding the template's model folders (`<modelsDir>/<name>/`: manifest, bootstrap model, training
   *  CLI), for an assembly synthesized from another models root (a test's). @default <project>/models */
  readonly modelsDir?: string;
  /** Train the served model through its folder's CLI (`models/<name>/src/cli/train.ts`) when it has no trained
   *  artifact (else the committed bootstrap model is served). @default false */
  readonly train?: boolean;
  /** Enforce usage-plan and stage throttles as API Gateway does. @default true */
  readonly enforceLimits?: boolean;
  /** Progress lines (the CLI prints them; tests pass a no-op). @default stdout */
  readonly log?: (line: string) => void;
  /** Firehose buffer interval override in ms (tests flush fast).
   *  @default AIMS_FIREHOSE_BUFFER_SECONDS (what a test running `npm start` as a process can set), else the template's */
  readonly firehoseIntervalMs?: number;
  /** The model lifecycle's local timings (tests and demos shorten them). */
  readonly lifecycle?: {
    /** Canary bake of a models-stack update, s. @default AIMS_CANARY_BAKE_SECONDS, else the endpoint's */
    readonly canaryBakeSeconds?: number;
    /** The retraining state machine's Wait states, ms. @default 1000 */
    readonly waitMs?: number;
    /** The clock of the endpoints' idle timers (scale to zero; tests move it). @default the wall clock */
    readonly clock?: Clock;
    /** How often an idle timer looks by itself; 0: only when a test asks. @default see local/lifecycle/idle.ts */
    readonly idleCheckEveryMs?: number;
  };
}

export interface LocalStage extends Closable {
  readonly url: string;
  readonly dataDir: string;
  readonly template: LocalTemplate;
  readonly endpoints: LocalEndpoints;
  readonly services: LocalServices;
  readonly runtime: LambdaRuntime;
  readonly mappings: EventSourceMappings;
  readonly api: LocalApi;
  /** The primary model's SageMaker endpoint (the one the score route uses, else the first): `url` is its endpoint
   *  front (canary split, data capture); stop/start act on its serving model server (fault tests). Every endpoint:
   *  `lifecycle.endpoints`. */
  readonly model: LocalModelEndpoint;
  /** The primary model, as the template's metadata names it (its folder: `models/<name>/`). */
  readonly servedModel: { readonly name: string; readonly dir: string };
  /** Every model the template serves in real time, primary first, each with its endpoint name. */
  readonly servedModels: readonly { readonly name: string; readonly dir: string; readonly endpointName: string }[];
  /** Retraining, registry, champion pointer, models stack, drift job (see local/lifecycle). */
  readonly lifecycle: LocalLifecycle;
  /** Seconds from the start of the emulators (after synth and training) until the API answered. */
  readonly readySeconds: number;
  /** Waits until the stream consumers, the bus and Firehose have processed everything so far. */
  settle(): Promise<void>;
  /** What close() is doing now ('running' before it is called): what a forced exit abandons. */
  closingStep(): string;
}

/** Parts of the 5 s a stop may take (the rest is for the functions, model servers and emulators to end). */
export const SHUTDOWN_BUDGET = { apiDrainMs: 2_500, deliverMs: 1_000 } as const;

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function numberFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number of seconds, got '${raw}'`);
  return value;
}

export function defaultDataDir(): string {
  return resolve(process.env.AIMS_DATA_DIR ?? join(ROOT, '.aims'));
}

/** Runs a command of the project with its own Node (npm scripts' PATH), streaming its output to `log`. */
export function runProjectCommand(args: readonly string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(join(ROOT, 'node_modules', '.bin', args[0] as string), args.slice(1), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
        CDK_DISABLE_CLI_TELEMETRY: 'true',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim() && !line.includes('npm warn')) log(`  ${line}`);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`${args.join(' ')} exited with code ${code}`)),
    );
  });
}

/**
 * The models the local stage serves: every model with an endpoint in the template (found by its `aims:role` endpoint
 * metadata), the one the score route uses first (what `stage.model` and the single-model helpers mean), then the
 * others in the template's order.
 */
export function servedModelsInOrder(template: LocalTemplate, root: string, modelsDir?: string): TemplateModel[] {
  const served = servedModels(template, root, modelsDir);
  if (served.length === 0)
    throw new Error('the dev template has no resource tagged as a model endpoint: nothing to serve');
  const scorer = served.filter((m) => m.withRole('score').length > 0);
  return [...scorer, ...served.filter((m) => !scorer.includes(m))];
}

/** The served model's artifacts: trained ones (`models/<name>/artifacts/`) win, else the committed bootstrap; with
 *  `train`, a model without trained artifacts is trained first through its own folder's CLI. */
export async function modelArtifacts(
  model: Pick<TemplateModel, 'name' | 'dir'>,
  train: boolean,
  log: (line: string) => void,
): Promise<string> {
  const trained = join(model.dir, 'artifacts');
  if (hasTrainedArtifacts(model.dir)) return trained;
  if (!train) return join(model.dir, 'bootstrap');
  const cli = join(model.dir, 'src', 'cli', 'train.ts');
  if (!existsSync(cli)) throw new Error(`${model.name} has no training CLI at ${cli}: it cannot be trained at start`);
  log(`▶ training ${model.name} through ${join('models', model.name, 'src', 'cli', 'train.ts')}`);
  await runProjectCommand(['tsx', cli, '--out', trained], log);
  return trained;
}

/** Whether `models/<name>/artifacts/` holds a trained model (what the stage serves before the bootstrap). */
export function hasTrainedArtifacts(modelDir: string): boolean {
  const trained = join(modelDir, 'artifacts');
  return existsSync(join(trained, 'model.onnx')) && existsSync(join(trained, 'model-card.json'));
}

export async function startLocalStage(options: LocalStageOptions = {}): Promise<LocalStage> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dataDir = resolve(options.dataDir ?? defaultDataDir());
  mkdirSync(dataDir, { recursive: true });

  const synth = options.synth ?? true;
  const assemblyDir = resolve(options.assemblyDir ?? join(ROOT, synth === false ? 'cdk.out' : LOCAL_ASSEMBLY_DIR));
  if (synth !== false) {
    await prepareAssembly({
      root: ROOT,
      assemblyDir,
      stageName: STAGE_NAME,
      force: synth === 'always',
      env: process.env,
      run: runProjectCommand,
      log,
    });
  }

  let readyStarted = Date.now();
  const port = options.port ?? Number(process.env.AIMS_PORT ?? 3000);
  const reservation = port === 0 ? await reservePort() : undefined;
  const apiPort = reservation?.port ?? port;
  const apiBaseUrl = `http://127.0.0.1:${apiPort}`;
  const closables: Closable[] = [];
  const closeAll = async () => {
    await reservation?.release();
    for (const c of closables.reverse()) await c.close().catch((e: unknown) => log(`  error while stopping: ${e}`));
  };

  try {
    log('▶ starting the local stage from the synthesized template');
    const bootTemplate = loadLocalTemplate({ assemblyDir, stageName: STAGE_NAME, apiBaseUrl });
    const served = servedModelsInOrder(bootTemplate, ROOT, options.modelsDir);
    const sources = [];
    for (const m of served) {
      sources.push({
        name: m.name,
        manifestDir: m.dir,
        bootstrapModelDir: await modelArtifacts(m, options.train === true, log),
      });
    }
    const primary = served[0] as TemplateModel;
    readyStarted = Date.now();
    const invoker = new DeferredInvoker();
    const firehoseSeconds = numberFromEnv('AIMS_FIREHOSE_BUFFER_SECONDS');
    const firehoseIntervalMs =
      options.firehoseIntervalMs ?? (firehoseSeconds !== undefined ? firehoseSeconds * 1000 : undefined);
    const services = await startLocalServices({
      template: bootTemplate,
      dataDir,
      invoker,
      ...(firehoseIntervalMs !== undefined ? { firehoseIntervalMs } : {}),
    });
    closables.push(services);
    // aws-local-stepfunctions calls Lambda through the SDK for a Task without an override: a closed loopback port
    // makes such a task fail at once instead of reaching AWS.
    process.env.AWS_ENDPOINT_URL_LAMBDA ??= 'http://127.0.0.1:9';
    const bake = options.lifecycle?.canaryBakeSeconds ?? numberFromEnv('AIMS_CANARY_BAKE_SECONDS');
    const lifecycle = await startLocalLifecycle({
      template: bootTemplate,
      dataDir,
      s3Endpoint: services.endpoints.s3,
      eventBridge: services.eventBridge,
      invoker,
      root: ROOT,
      models: sources,
      ...(bake !== undefined ? { canaryBakeSeconds: bake } : {}),
      ...(options.lifecycle?.waitMs !== undefined ? { waitMs: options.lifecycle.waitMs } : {}),
      ...(options.lifecycle?.clock ? { clock: options.lifecycle.clock } : {}),
      ...(options.lifecycle?.idleCheckEveryMs !== undefined
        ? { idleCheckEveryMs: options.lifecycle.idleCheckEveryMs }
        : {}),
      log,
    });
    closables.push(lifecycle);
    invoker.setLifecycle(lifecycle);
    // Closed before the lifecycle: an execution's task waiting for a runtime that never started fails instead of
    // holding the stop (the bus stops waiting by itself and keeps its deliveries journaled).
    closables.push({ close: async () => invoker.abandon(new Error('the local stage stopped before it was ready')) });
    const model: LocalModelEndpoint = {
      get url() {
        return lifecycle.modelsStack.proxy.url;
      },
      get running() {
        return lifecycle.modelsStack.serving.running;
      },
      stop: () => lifecycle.modelsStack.serving.stop(),
      start: () => lifecycle.modelsStack.serving.start(),
      close: async () => {},
    };
    const endpoints: LocalEndpoints = { ...services.endpoints, sagemakerRuntime: lifecycle.endpointUrl };
    const template = loadLocalTemplate({ assemblyDir, stageName: STAGE_NAME, apiBaseUrl, endpoints });
    const servedList = lifecycle.endpoints.all().map((e) => ({
      name: e.model,
      dir: (served.find((m) => m.name === e.model) as TemplateModel).dir,
      endpointName: e.endpointName,
    }));
    for (const e of lifecycle.endpoints.all()) {
      const idle = e.idleScaler ? ` (scales to zero after ${e.idleScaler.afterMinutes} min idle)` : '';
      log(`  endpoint ${e.endpointName} serves ${e.model}${idle}`);
    }

    const runtime = await startLambdaRuntime({
      template,
      endpoints,
      dataDir,
      eager: true,
      // The authorizer finds a client's usage-plan key with GetApiKeys, which the local API serves.
      environmentOverrides: { ...lifecycle.environment, AWS_ENDPOINT_URL_API_GATEWAY: apiGatewayEndpoint(apiBaseUrl) },
    });
    closables.push(runtime);
    invoker.setRuntime(runtime);
    await runtime.warm();
    // The functions behind API routes start with a second initialised environment: a fresh environment runs its
    // first calls several times slower than later ones (bench/score-warmup.bench.ts), so one alone queues a steady
    // 30 req/s in the first seconds after ready. On AWS the score alias has provisioned concurrency for the same reason.
    await runtime.warm(
      [...new Set(restApiDefinition(template).operations.map((operation) => operation.functionArn))],
      REQUEST_PATH_ENVIRONMENTS,
    );

    const mappings = await startEventSourceMappings({ template, invoker: runtime, endpoints, dataDir });
    closables.push(mappings);

    await reservation?.release();
    const api = await startLocalApi({
      template,
      invoker: runtime,
      dataDir,
      port: apiPort,
      host: '127.0.0.1',
      enforceLimits: options.enforceLimits ?? true,
      ...(options.modelsDir ? { modelsDir: options.modelsDir } : {}),
    });
    closables.push(api);
    const health = await fetch(`${api.url}/v1/health`);
    if (!health.ok) throw new Error(`the API answered /v1/health with ${health.status}`);

    const readySeconds = (Date.now() - readyStarted) / 1000;
    let closing: Promise<void> | undefined;
    let step = 'running';
    return {
      url: api.url,
      dataDir,
      template,
      endpoints,
      services,
      runtime,
      mappings,
      api,
      model,
      servedModel: { name: primary.name, dir: primary.dir },
      servedModels: servedList,
      lifecycle,
      readySeconds,
      settle: async () => {
        await mappings.drain();
        await services.settle();
      },
      closingStep: () => step,
      close: () => {
        closing ??= (async () => {
          // Ordered: stop taking requests and answer those in flight, stop polling the stream, deliver what the bus
          // and Firehose hold while the functions they target still run, then stop the functions, the model
          // servers and the emulators (services last: the backends flush their stores as they stop).
          step = 'draining the API (requests in flight)';
          await api.close(SHUTDOWN_BUDGET.apiDrainMs).catch((e: unknown) => log(`  error while stopping: ${e}`));
          step = 'stopping the stream pollers';
          await mappings.close().catch((e: unknown) => log(`  error while stopping: ${e}`));
          step = 'delivering what the bus and Firehose hold';
          await withDeadline(services.settle(), SHUTDOWN_BUDGET.deliverMs).catch((e: unknown) =>
            log(`  delivery before stopping cut short (kept in the journal, delivered at the next start): ${e}`),
          );
          step = 'stopping the functions, model servers and emulators';
          for (const done of [api, mappings]) closables.splice(closables.indexOf(done), 1);
          await closeAll();
          step = 'stopped';
        })();
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
