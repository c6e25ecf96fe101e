// Runs the stateful local backends (dynalite, kinesalite, s3rver) in their own Node process, so LevelDB and their
// request handling never compete with the API emulator's event loop; the caller gets their loopback URLs.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Closable } from '../types.js';
import type { BackendsChildMessage, BackendsParentMessage } from './child.js';
// Types only: dynalite, kinesalite and s3rver load in the backends process, not here (about a second of start-up).
import type { BackendEndpoints, BackendServersConfig } from './servers.js';

export type { BackendEndpoints } from './servers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHILD_ENTRY = join(ROOT, 'local', 'backends', 'child.ts');

export interface LocalBackendsOptions {
  /** The local stage's data directory (`dynamodb/`, `kinesis/`, `s3/` under it). */
  readonly dataDir: string;
  /** Buckets to create (existing ones keep their objects). */
  readonly buckets: readonly string[];
  /** Account and region of the local table streams' ARNs (the template's). @default 000000000000 and us-east-1 */
  readonly account?: string;
  readonly region?: string;
  /** `process`: a child Node process (its own event loop and heap); `in-process`: this thread (debugging).
   *  @default 'process' */
  readonly isolation?: 'process' | 'in-process';
  /** The backends process's stdout and stderr. @default <dataDir>/logs/backends.log */
  readonly logFile?: string;
  /** How long the process may take to start (tsx compiles the entry; LevelDB opens). @default 60000 */
  readonly startTimeoutMs?: number;
  /** How long a clean stop may take before the process is killed. @default 20000 */
  readonly stopTimeoutMs?: number;
  /** Told once when the backends process dies while running. @default - the error is written to stderr */
  readonly onCrash?: (error: Error) => void;
}

export interface LocalBackends extends Closable {
  readonly endpoints: BackendEndpoints;
  /** Pid of the backends process (undefined in-process). */
  readonly pid: number | undefined;
  /** Its log file (undefined in-process). */
  readonly logFile: string | undefined;
  /** Why the backends process ended while it should have been running, if it did. */
  failure(): Error | undefined;
}

/** The last lines of a log, to put the cause of a failure into the error itself. */
function tailOf(file: string, bytes = 1500): string {
  try {
    const size = statSync(file).size;
    const text = readFileSync(file, 'utf8');
    const tail = text.slice(Math.max(0, text.length - bytes)).trim();
    return tail === '' ? '(the log is empty)' : `${size > bytes ? '…' : ''}${tail}`;
  } catch {
    return '(no log)';
  }
}

function nodeBinary(): string {
  // The project's Node (node@22 devDependency), as for the model server; else whatever runs us.
  const local = join(ROOT, 'node_modules', '.bin', 'node');
  return existsSync(local) ? local : process.execPath;
}

/** Starts the backends; resolves once every server listens. */
export async function startLocalBackends(options: LocalBackendsOptions): Promise<LocalBackends> {
  const config: BackendServersConfig = {
    dataDir: resolve(options.dataDir),
    buckets: [...options.buckets],
    ...(options.account ? { account: options.account } : {}),
    ...(options.region ? { region: options.region } : {}),
  };
  if ((options.isolation ?? 'process') === 'in-process') {
    const { startBackendServers } = await import('./servers.js');
    const servers = await startBackendServers(config);
    return {
      endpoints: servers.endpoints,
      pid: undefined,
      logFile: undefined,
      failure: () => undefined,
      close: servers.close,
    };
  }

  const logFile = options.logFile ?? join(config.dataDir, 'logs', 'backends.log');
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(nodeBinary(), ['--import', 'tsx', CHILD_ENTRY, JSON.stringify(config)], {
      cwd: ROOT,
      stdio: ['ignore', fd, fd, 'ipc'],
      // The stage's own NODE_OPTIONS (a profiler, a debugger) must not leak in; AIMS_BACKENDS_NODE_OPTIONS opts in.
      env: { ...process.env, NODE_OPTIONS: process.env.AIMS_BACKENDS_NODE_OPTIONS ?? '' },
    });
  } finally {
    closeSync(fd);
  }
  const what = `the local backends process (dynalite, kinesalite, s3rver; pid ${child.pid})`;

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitOf = () => exited;
  const exit = new Promise<void>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolveExit();
    });
  });

  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const endpoints = await new Promise<BackendEndpoints>((resolveReady, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start within ${startTimeoutMs} ms; its log ${logFile}:\n${tailOf(logFile)}`));
    }, startTimeoutMs);
    child.on('message', (message: BackendsChildMessage) => {
      if (message.type === 'ready') resolveReady(message.endpoints);
      else reject(new Error(`${what} failed to start: ${message.message}; its log: ${logFile}`));
    });
    child.once('error', (error) => reject(new Error(`${what} could not be started: ${error.message}`)));
    void exit.then(() =>
      reject(
        new Error(
          `${what} exited (${exited?.code ?? exited?.signal}) before it was ready; its log ${logFile}:\n${tailOf(logFile)}`,
        ),
      ),
    );
  }).finally(() => clearTimeout(timer));

  let closing: Promise<void> | undefined;
  let crash: Error | undefined;
  void exit.then(() => {
    if (closing) return;
    crash = new Error(
      `${what} exited unexpectedly (${exited?.code ?? exited?.signal}): DynamoDB, Kinesis and S3 calls now fail. ` +
        `Its log ${logFile}:\n${tailOf(logFile)}`,
    );
    if (options.onCrash) options.onCrash(crash);
    else process.stderr.write(`\n✖ ${crash.message}\n`);
  });

  const stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.send({ type: 'close' } satisfies BackendsParentMessage);
    let killTimer: NodeJS.Timeout | undefined;
    const killed = await Promise.race([
      exit.then(() => false),
      new Promise<boolean>((resolveKill) => {
        killTimer = setTimeout(() => resolveKill(true), stopTimeoutMs);
      }),
    ]).finally(() => clearTimeout(killTimer));
    if (killed) {
      child.kill('SIGKILL');
      await exit;
      throw new Error(`${what} did not stop within ${stopTimeoutMs} ms and was killed; its log: ${logFile}`);
    }
    // Read through a call: the early return above narrowed `exited` to undefined for the checker.
    const ended = exitOf();
    if (ended?.code !== 0) {
      throw new Error(`${what} stopped with ${ended?.code ?? ended?.signal}; its log ${logFile}:\n${tailOf(logFile)}`);
    }
  };

  return {
    endpoints,
    pid: child.pid,
    logFile,
    failure: () => crash,
    close: () => {
      closing ??= stop();
      return closing;
    },
  };
}
