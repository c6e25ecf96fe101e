// Finds (or installs, when allowed) a Python that can import torch and numpy, and runs train.py with it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's interpreter: the first `python3` on PATH is often a pyenv build without the Debian torch package. */
export const DEFAULT_PYTHON = '/usr/bin/python3';
export const TORCH_PACKAGES = ['python3-torch', 'python3-numpy'] as const;
export const INSTALL_LINE = `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${TORCH_PACKAGES.join(' ')}`;

/** Raised when no usable Python is found and the project cannot install one itself. */
export class TorchMissingError extends Error {
  override readonly name = 'TorchMissingError';
  constructor(
    message: string,
    /** The exact command the operator should run. */
    readonly installCommand: string,
  ) {
    super(message);
  }
}

export interface EnsureTorchOptions {
  /** Interpreter to check. @default - `AIMS_PYTHON` from `env`, else /usr/bin/python3 */
  python?: string;
  /** Environment to read `AIMS_PYTHON` from. @default - process.env */
  env?: NodeJS.ProcessEnv;
  /** Whether to run apt-get when torch is missing and we are root. @default true */
  allowInstall?: boolean;
  /** Where progress lines go. @default - stderr */
  log?: (line: string) => void;
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: readonly string[], inherit: boolean, env?: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** True when `python` exists and can import torch and numpy. */
export async function canImportTorch(python: string): Promise<boolean> {
  try {
    const outcome = await run(python, ['-c', 'import torch, numpy'], false);
    return outcome.code === 0;
  } catch {
    // ENOENT / EACCES: no such interpreter.
    return false;
  }
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

async function aptCandidateKnown(pkg: string): Promise<boolean> {
  const outcome = await run('apt-cache', ['policy', pkg], false).catch(() => undefined);
  // Without package lists apt-cache prints nothing or "Candidate: (none)": then we must `apt-get update` first.
  return outcome !== undefined && /Candidate: (?!\(none\))\S+/.test(outcome.stdout);
}

/**
 * Returns a Python executable that can `import torch, numpy`.
 *
 * When /usr/bin/python3 lacks them and we run as root with apt-get, installs Debian's python3-torch and
 * python3-numpy (running `apt-get update` only if the package lists do not know them). Otherwise throws a
 * {@link TorchMissingError} whose message ends with the exact install line.
 */
export async function ensureTorch(options: EnsureTorchOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const override = options.python ?? env.AIMS_PYTHON;
  const python = override ?? DEFAULT_PYTHON;
  if (await canImportTorch(python)) return python;

  if (override !== undefined) {
    // Installing Debian packages would not help a custom interpreter, so say what is wrong with it instead.
    const command = `${python} -m pip install torch numpy`;
    throw new TorchMissingError(
      `${python} (from ${options.python ? 'the python option' : 'AIMS_PYTHON'}) cannot import torch and numpy. ` +
        `Install them into it, e.g.: ${command} — or unset AIMS_PYTHON to use ${DEFAULT_PYTHON} with Debian's packages.`,
      command,
    );
  }

  const aptAvailable = existsSync('/usr/bin/apt-get');
  if ((options.allowInstall ?? true) && aptAvailable && isRoot()) {
    const installEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    log(`PyTorch is missing for ${python}; installing Debian's ${TORCH_PACKAGES.join(' ')} (about 620 MB)…`);
    const known = (await Promise.all(TORCH_PACKAGES.map(aptCandidateKnown))).every(Boolean);
    if (!known) {
      log('$ apt-get update');
      const update = await run('apt-get', ['update'], true, installEnv);
      if (update.code !== 0) throw new TorchMissingError(`apt-get update failed (exit ${update.code})`, INSTALL_LINE);
    }
    const args = ['install', '-y', '--no-install-recommends', ...TORCH_PACKAGES];
    log(`$ apt-get ${args.join(' ')}`);
    const install = await run('apt-get', args, true, installEnv);
    if (install.code !== 0) {
      throw new TorchMissingError(`apt-get install failed (exit ${install.code}); run: ${INSTALL_LINE}`, INSTALL_LINE);
    }
    if (await canImportTorch(python)) return python;
    throw new TorchMissingError(
      `installed ${TORCH_PACKAGES.join(' ')} but ${python} still cannot import torch; run: ${INSTALL_LINE}`,
      INSTALL_LINE,
    );
  }

  if (!aptAvailable) {
    const command = 'pip install torch numpy  # then: export AIMS_PYTHON=/path/to/that/python3';
    throw new TorchMissingError(
      `PyTorch is not available and this is not a Debian system with apt-get. Install torch and numpy for a Python 3 ` +
        `and point AIMS_PYTHON at it: ${command}`,
      command,
    );
  }
  throw new TorchMissingError(`PyTorch is not available to ${python}. Install it with:\n${INSTALL_LINE}`, INSTALL_LINE);
}

export interface RunPythonOptions {
  /** Interpreter. @default - the result of {@link ensureTorch} */
  python?: string;
  cwd?: string;
  /** Extra environment variables, merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /** Names the step in error messages. @default 'python' */
  label?: string;
}

/** Runs python with inherited stdio; rejects with a clear message when it exits non-zero or is killed. */
export async function runPython(args: readonly string[], opts: RunPythonOptions = {}): Promise<void> {
  const python = opts.python ?? (await ensureTorch());
  const label = opts.label ?? 'python';
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    const child = spawn(python, args, {
      stdio: 'inherit',
      cwd: opts.cwd,
      env: { ...process.env, PYTHONUNBUFFERED: '1', ...opts.env },
    });
    child.on('error', (err) => reject(new Error(`${label}: cannot start ${python}: ${err.message}`)));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  if (outcome.code !== 0) {
    const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
    throw new Error(`${label} failed: ${python} ${args.join(' ')} ${how} (see its output above)`);
  }
}
