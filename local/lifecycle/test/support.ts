// Helpers the local lifecycle tests share.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { eventually } from '../../../test/support/eventually.js';
import { fingerprintInputs } from '../../assembly.js';
import { type LocalStage, ROOT, runProjectCommand, startLocalStage } from '../../stage.js';

const trained = existsSync(join(ROOT, 'models', 'fraud-detector', 'artifacts', 'model.onnx'));

/** A quiet local stage in `dir` from the synthesized cdk.out, with a 2 s canary bake and 200 ms Wait states. */
export function startLifecycleStage(dir: string): Promise<LocalStage> {
  return startLocalStage({
    dataDir: dir,
    port: 0,
    synth: false,
    train: !trained,
    log: () => {},
    lifecycle: { canaryBakeSeconds: 2, waitMs: 200 },
  });
}

/** The version the endpoint serves, as a v2 answer names it. */
export async function servedVersion(stage: LocalStage): Promise<string> {
  const res = await fetch(`${stage.model.url}/endpoints/x/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'features', shape: [1, 30], datatype: 'FP32', data: new Array(30).fill(0) }],
    }),
  });
  return ((await res.json()) as { model_version: string }).model_version;
}

/**
 * A lake of labelled, drifted history the bootstrap champion has not seen: a retraining run on it passes the gate and
 * trains in seconds.
 */
export const DRIFTED_HISTORY = {
  customers: 600,
  days: 18,
  drift: { fromDay: 0, newPatternShare: 0.5, amountShift: 2, newMerchantShare: 0.3 },
};

/**
 * The AwaitApproval timeout of the manual-approval assembly, one for every suite that runs it (this one's and the
 * console's), so that one synth serves both: long next to an approval that follows the parking at once, short
 * enough for a test to wait out.
 */
export const APPROVAL_TIMEOUT_SECONDS = 40;

/** Where synthesized manual-approval assemblies are kept, each in a folder named by the digest of its inputs. */
const ASSEMBLY_CACHE = join(ROOT, 'test', '.tmp', 'manual-approval');
/** The app that builds it: the dev stage with Prod's manual approval. */
const APP = join('local', 'lifecycle', 'test', 'manual-approval-app.ts');
/** Another run's assemblies older than this are removed once a new one is stored (none is in use that long). */
const PRUNE_AFTER_MS = 60 * 60_000;
/** How long a suite waits for another worker's synth of the same inputs: one takes under a minute, and this is within
 * the hook timeouts of the suites that call it. */
const SYNTH_WAIT_MS = 3 * 60_000;

/** Every file under `dir` with its digest, as sorted relative paths (nothing when `dir` is missing). */
function treeDigests(dir: string): Record<string, string> {
  const digests: Record<string, string> = {};
  if (!existsSync(join(ROOT, dir))) return digests;
  for (const entry of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
    if (entry.isFile())
      digests[relative(ROOT, join(entry.parentPath, entry.name))] = fileDigest(entry.parentPath, entry.name);
  }
  return digests;
}

function fileDigest(...path: string[]): string {
  return createHash('sha256')
    .update(readFileSync(join(...path)))
    .digest('hex');
}

/**
 * The digest of everything the manual-approval assembly is made from: what `npm start` keys its own assembly on
 * (bin, lib, lambdas, models, project files, the app's environment variables, node and tool versions, the command
 * with its context), plus the app itself and the built console its console stack deploys. Content, never mtimes:
 * an assembly made from other inputs is never reused.
 */
function inputsDigest(command: readonly string[]): string {
  const inputs = {
    ...fingerprintInputs({ root: ROOT, env: process.env, command }),
    [APP]: fileDigest(ROOT, APP),
    ...treeDigests(join('console', 'dist')),
  };
  const sorted = Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 32);
}

/**
 * The dev stage synthesized with Prod's manual approval (./manual-approval-app.ts) and the AwaitApproval timeout of
 * APPROVAL_TIMEOUT_SECONDS: the assembly a local stage runs to have a version wait for an operator. Synthesized once
 * per set of inputs into test/.tmp/manual-approval/<digest>/ and reused while they are unchanged, by every suite that
 * runs it; the local stage only reads an assembly. Returns its folder.
 */
export async function manualApprovalAssembly(): Promise<string> {
  // The CDK CLI reads cdk.json (context, feature flags) as for `npm run synth`; only the app entry differs.
  // The approval timeout is the environment's prop, given here as context: the template is used as synthesized.
  const command = [
    'cdk',
    'synth',
    '-q',
    'Dev/*',
    '--app',
    `tsx ${APP}`,
    '-c',
    `approvalTimeoutSeconds=${APPROVAL_TIMEOUT_SECONDS}`,
  ];
  const digest = inputsDigest(command);
  const assemblyDir = join(ASSEMBLY_CACHE, digest);
  mkdirSync(ASSEMBLY_CACHE, { recursive: true });
  // One synth per set of inputs even with suites in parallel workers: the one that takes the lock synthesizes, the
  // others wait for the assembly it stores (no event crosses the processes: a bounded poll of the folder).
  const lock = `${assemblyDir}.lock`;
  const ready = await eventually(
    `the manual-approval assembly another test worker synthesizes (${lock})`,
    () => (isStored(assemblyDir) ? 'stored' : takeLock(lock) ? 'locked' : undefined),
    SYNTH_WAIT_MS,
    500,
  );
  if (ready === 'stored') {
    // Touched when reused: pruning (by age) never takes an assembly a run still uses.
    utimesSync(assemblyDir, new Date(), new Date());
    return assemblyDir;
  }
  try {
    return await synthesize(command, digest, assemblyDir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Stored by a rename once its synth succeeded: a folder under its digest is always a whole assembly. */
function isStored(assemblyDir: string): boolean {
  return existsSync(join(assemblyDir, 'manifest.json'));
}

/** Takes the synth lock (a folder holding the taker's pid), or takes over one whose process is gone. */
function takeLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = Number(existsSync(join(lock, 'pid')) ? readFileSync(join(lock, 'pid'), 'utf8') : Number.NaN);
  try {
    if (Number.isInteger(holder)) process.kill(holder, 0);
  } catch (error) {
    // The holder died (an interrupted run): its lock is stale.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(lock, { recursive: true, force: true });
  }
  return false;
}

/** Synthesizes into a partial folder and stores it under `digest` unless an input changed meanwhile. */
async function synthesize(command: readonly string[], digest: string, assemblyDir: string): Promise<string> {
  const partial = mkdtempSync(`${assemblyDir}.partial-`);
  const output: string[] = [];
  try {
    await runProjectCommand([...command, '--output', partial], (line) => output.push(line));
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`synthesizing ${APP} failed: ${error}\n${output.slice(-20).join('\n')}`);
  }
  // An input edited while the synth ran: this assembly serves this run only and is never stored under a digest.
  if (inputsDigest(command) !== digest) return partial;
  try {
    renameSync(partial, assemblyDir);
  } catch (error) {
    // Stored meanwhile by a worker that took over a lock it thought stale: use that one.
    rmSync(partial, { recursive: true, force: true });
    if (!isStored(assemblyDir)) throw error;
  }
  pruneAssemblies(assemblyDir);
  return assemblyDir;
}

/** Removes the assemblies (and partial synths) of other inputs that are older than PRUNE_AFTER_MS. */
function pruneAssemblies(keep: string): void {
  const now = Date.now();
  for (const name of readdirSync(ASSEMBLY_CACHE)) {
    const path = join(ASSEMBLY_CACHE, name);
    if (path !== keep && now - statSync(path).mtimeMs > PRUNE_AFTER_MS) rmSync(path, { recursive: true, force: true });
  }
}
