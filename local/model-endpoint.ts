// The local stand-in for the SageMaker endpoint: the model server (same ONNX artifact, same v2 protocol) in its own
// process, so inference never competes with the API's event loop and can be stopped and restarted (fault tests).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Closable } from './types.js';

export interface LocalModelEndpointOptions {
  /** The repository root (where node_modules and models/ are). */
  readonly root: string;
  /** Folder holding model.onnx and model-card.json. */
  readonly modelDir: string;
  /** Folder holding model.json. */
  readonly manifestDir: string;
  /** Log file of the server process. */
  readonly logFile: string;
  /** @default 0 (any free port; kept across restarts) */
  readonly port?: number;
  /** @default 20000 */
  readonly readyTimeoutMs?: number;
}

export interface LocalModelEndpoint extends Closable {
  /** The server's URL: AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME points here. */
  readonly url: string;
  readonly running: boolean;
  /** Stops the server (the endpoint becomes unreachable: scorers fall back to rules). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

export async function startLocalModelEndpoint(options: LocalModelEndpointOptions): Promise<LocalModelEndpoint> {
  mkdirSync(join(options.logFile, '..'), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  let port = options.port ?? 0;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      join(options.root, 'node_modules', '.bin', 'node'),
      [
        '--import',
        'tsx',
        join(options.root, 'models', 'server', 'src', 'main.ts'),
        'serve',
        '--model-dir',
        options.modelDir,
        '--manifest-dir',
        options.manifestDir,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
      ],
      {
        cwd: options.root,
        // stdin is the server's lifeline: closing it stops the server, and it closes when this process dies (even by
        // SIGKILL), so no server outlives the stage; it ignores the signals a Ctrl-C sends to the whole group.
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, NODE_OPTIONS: '', MODEL_SERVER_STOP_ON_STDIN_END: '1' },
      },
    );
    proc.stdin?.on('error', () => undefined);
    child = proc;
    proc.stderr?.pipe(log, { end: false });
    const listening = new Promise<number>((resolve, reject) => {
      let buffered = '';
      proc.once('exit', (code, signal) =>
        reject(new Error(`model server exited (${code ?? signal}) before it listened; see ${options.logFile}`)),
      );
      proc.stdout?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.includes('"listening"')) continue;
          const parsed = JSON.parse(line) as { port?: number };
          if (parsed.port) resolve(parsed.port);
        }
      });
    });
    port = await withTimeout(listening, options.readyTimeoutMs ?? 20_000, 'model server did not listen');
    const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
    while (Date.now() < deadline) {
      // The server listens before its model loads; a model that fails to load ends the process, so say so now
      // rather than after the whole ready timeout.
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(
          `model server exited (${proc.exitCode ?? proc.signalCode}) before it was ready; see ${options.logFile}`,
        );
      }
      const ok = await fetch(`http://127.0.0.1:${port}/ping`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`model server did not become ready; see ${options.logFile}`);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.stdin?.end();
    // Its drain is bounded by its in-flight inferences (milliseconds); past 2 s it is hung: kill it.
    await withTimeout(exited, 2_000, 'model server did not stop').catch(async () => {
      proc.kill('SIGKILL');
      await exited;
    });
  };

  await launch();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get running() {
      return child !== undefined && child.exitCode === null;
    },
    stop,
    start: launch,
    close: async () => {
      await stop();
      await new Promise<void>((resolve) => log.end(() => resolve()));
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
