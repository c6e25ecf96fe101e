// Local SageMaker training job for the Train step: the same train.py on CPU (/usr/bin/python3 has torch), with the
// job's train channel downloaded from local S3 into SM_CHANNEL_TRAIN and its hyperparameters in the file SageMaker
// writes; the model folder is tarred to <S3OutputPath>/<job>/output/model.tar.gz, as SageMaker uploads it.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeTarGz } from '../../lambdas/retraining/tar.js';
import type { LocalTemplate } from '../types.js';
import type { LocalS3 } from './s3.js';

export const PYTHON = '/usr/bin/python3';

/**
 * Runs a Python script so that it ends when the process that started it dies, even by SIGKILL: Linux's parent-death
 * signal (prctl PR_SET_PDEATHSIG = 1) asks for SIGTERM then; the parent pid check closes the race with a parent that
 * died before prctl ran. The script sees its path and arguments in sys.argv and its folder first on sys.path, as when
 * run directly.
 */
const PDEATHSIG_PRELUDE = [
  'import ctypes, os, runpy, signal, sys',
  'ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)',
  "os.getppid() == int(os.environ['AIMS_PARENT_PID']) or sys.exit('the local stage that started this job is gone')",
  'sys.argv = sys.argv[1:]',
  'sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))',
  "runpy.run_path(sys.argv[0], run_name='__main__')",
].join('\n');

/** The command and environment of a Python script that must not outlive this process (a stage's training job). */
export function pythonTiedToParent(script: string, args: readonly string[]) {
  return {
    command: [PYTHON, '-c', PDEATHSIG_PRELUDE, script, ...args],
    env: { AIMS_PARENT_PID: String(process.pid) },
  };
}

export interface TrainingJobInput {
  readonly TrainingJobName: string;
  readonly HyperParameters?: Readonly<Record<string, string>>;
  readonly InputDataConfig?: readonly {
    readonly ChannelName: string;
    readonly DataSource?: { readonly S3DataSource?: { readonly S3Uri?: string } };
  }[];
  readonly OutputDataConfig?: { readonly S3OutputPath?: string };
  readonly StoppingCondition?: { readonly MaxRuntimeInSeconds?: number };
}

export interface LocalTrainingOptions {
  readonly template: LocalTemplate;
  readonly s3: LocalS3;
  readonly dataDir: string;
  /** train.py of the model. */
  readonly script: string;
  /** Replaces the training command (fault injection: a job that fails like a crashing train.py). */
  readonly commandOverride?: () => readonly string[] | undefined;
}

/** A failed job, reported as Step Functions reports a failed `.sync` training task. */
export class TrainingJobFailed extends Error {
  override readonly name = 'States.TaskFailed';
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

export async function runTrainingJob(options: LocalTrainingOptions, input: TrainingJobInput) {
  const { s3, template } = options;
  const job = input.TrainingJobName;
  const arn = `arn:aws:sagemaker:${template.region}:${template.account}:training-job/${job.toLowerCase()}`;
  const home = join(options.dataDir, 'training', job);
  rmSync(home, { recursive: true, force: true });
  const modelDir = join(home, 'model');
  const outputDir = join(home, 'output', 'data');
  const configDir = join(home, 'input', 'config');
  for (const d of [modelDir, outputDir, configDir]) mkdirSync(d, { recursive: true });
  const channels: Record<string, string> = {};
  for (const channel of input.InputDataConfig ?? []) {
    const uri = channel.DataSource?.S3DataSource?.S3Uri;
    if (!uri) throw new TrainingJobFailed(`channel ${channel.ChannelName} has no S3Uri: ${JSON.stringify(channel)}`);
    const dir = join(home, 'input', 'data', channel.ChannelName);
    mkdirSync(dir, { recursive: true });
    const prefix = uri.endsWith('/') ? uri : `${uri}/`;
    const objects = await s3.list(prefix);
    if (objects.length === 0) throw new TrainingJobFailed(`channel ${channel.ChannelName}: no objects under ${uri}`);
    for (const o of objects) {
      const target = join(dir, o.uri.slice(prefix.length));
      mkdirSync(join(target, '..'), { recursive: true });
      writeFileSync(target, await s3.get(o.uri));
    }
    channels[channel.ChannelName] = dir;
  }
  const hyperparametersFile = join(configDir, 'hyperparameters.json');
  writeFileSync(hyperparametersFile, JSON.stringify(input.HyperParameters ?? {}));
  const output = input.OutputDataConfig?.S3OutputPath;
  if (!output) throw new TrainingJobFailed('OutputDataConfig.S3OutputPath is required');
  const maxSeconds = input.StoppingCondition?.MaxRuntimeInSeconds ?? 86_400;
  // The job ends with the stage, whatever way the stage ends (no orphaned training after a SIGKILL).
  const tied = pythonTiedToParent(options.script, ['--hyperparameters', hyperparametersFile]);
  const command = options.commandOverride?.() ?? tied.command;
  const logFile = join(options.dataDir, 'logs', `training-${job}.log`);
  mkdirSync(join(logFile, '..'), { recursive: true });
  const started = Date.now();
  const code = await new Promise<number | string>((resolvePromise) => {
    const log = createWriteStream(logFile);
    const child = spawn(command[0] as string, command.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? home,
        SM_MODEL_DIR: modelDir,
        SM_OUTPUT_DATA_DIR: outputDir,
        SM_TRAINING_ENV: JSON.stringify({ job_name: job }),
        ...Object.fromEntries(Object.entries(channels).map(([name, dir]) => [`SM_CHANNEL_${name.toUpperCase()}`, dir])),
        OMP_NUM_THREADS: '1',
        ...tied.env,
      },
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const timer = setTimeout(() => child.kill('SIGKILL'), maxSeconds * 1000);
    child.once('error', (e) => resolvePromise(e.message));
    // 'close', not 'exit': the process's output is fully read (and written to the log) only once its pipes close.
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      log.end(() => resolvePromise(exitCode ?? `signal ${signal}`));
    });
  });
  if (code !== 0) {
    const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
    throw new TrainingJobFailed(
      JSON.stringify({
        TrainingJobName: job,
        TrainingJobArn: arn,
        TrainingJobStatus: 'Failed',
        FailureReason: `AlgorithmError: training exited with ${code}: ${tail}`.slice(0, 1024),
      }),
    );
  }
  const entries = filesUnder(modelDir).map((path) => ({ path: relative(modelDir, path), data: readFileSync(path) }));
  const artifact = `${output.replace(/\/?$/, '/')}${job}/output/model.tar.gz`;
  const s3Artifact = artifact.startsWith('s3://') ? artifact : artifact.replace(/^https:\/\/[^/]+\//, 's3://');
  await s3.put(s3Artifact, writeTarGz(entries), 'application/gzip');
  return {
    TrainingJobName: job,
    TrainingJobArn: arn,
    TrainingJobStatus: 'Completed',
    SecondaryStatus: 'Completed',
    ModelArtifacts: { S3ModelArtifacts: s3Artifact },
    HyperParameters: input.HyperParameters ?? {},
    TrainingTimeInSeconds: Math.round((Date.now() - started) / 1000),
  };
}
