// Process helpers the tests that stop or kill local processes share: the local stage run as `npm start` runs it, in
// its own process group, and the signals a shell or a crash would send it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (where `npm start` runs); not imported from local/stage.ts, which loads the whole stage. */
const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starting takes most of a stage's life in a test (15 functions warm on 2 shared cores). */
export const STAGE_START_TIMEOUT_MS = 90_000;

export interface StageExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** When it ended (epoch ms). */
  readonly at: number;
}

export interface StageProcess {
  readonly child: ChildProcess;
  /** Its pid, which is also its process group id. */
  readonly pid: number;
  readonly url: string;
  /** Seconds from spawn to the ready banner. */
  readonly startSeconds: number;
  /** Everything it printed (stdout and stderr). */
  output(): string;
  /** Resolves with how it ended and when. */
  readonly exited: Promise<StageExit>;
}

export interface StageProcessOptions {
  /** Variables added to the environment (test hooks such as AIMS_FIREHOSE_BUFFER_SECONDS). */
  readonly env?: Readonly<Record<string, string>>;
  /** @default STAGE_START_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

/**
 * `npm start`'s command on `dataDir`, in its own process group (as a shell runs a foreground job), on a free port,
 * running the dev stage `npm run synth` left in cdk.out (`--no-synth`); resolves once it prints its ready banner.
 */
export async function startStageProcess(dataDir: string, options: StageProcessOptions = {}): Promise<StageProcess> {
  const timeoutMs = options.timeoutMs ?? STAGE_START_TIMEOUT_MS;
  const spawned = Date.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join('local', 'start.ts'), '--port', '0', '--data-dir', dataDir, '--no-synth'],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', ...options.env },
    },
  );
  const pid = child.pid as number;
  let text = '';
  const exited = new Promise<StageExit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(pid);
      reject(new Error(`the stage was not ready within ${timeoutMs} ms:\n${text.slice(-2000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const ready = /ready in[\s\S]*?API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the stage exited (${code ?? signal}) before it was ready:\n${text.slice(-2000)}`));
    });
  });
  return { child, pid, url, startSeconds: (Date.now() - spawned) / 1000, output: () => text, exited };
}

/** SIGKILL to a whole process group (a crash, or cleanup); quiet when it is already gone. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Pids of the process group (the stage, its backends, model servers, esbuild services). */
export function groupPids(pgid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => pid > 0);
  } catch {
    return []; // ps exits 1 when no process matches.
  }
}
