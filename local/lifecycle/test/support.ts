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
} from 'node:fs';
import { join, relative } from 'node:path';
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
  // Stored by a rename once its synth succeeded: a folder under its digest is always a whole assembly.
  if (existsSync(join(assemblyDir, 'manifest.json'))) {
    // Touched when reused: pruning (by age) never takes an assembly a run still uses.
    utimesSync(assemblyDir, new Date(), new Date());
    return assemblyDir;
  }
  mkdirSync(ASSEMBLY_CACHE, { recursive: true });
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
    // Another suite stored the same inputs' assembly first: use that one.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(join(assemblyDir, 'manifest.json'))) throw error;
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
