// The local stage's cloud assembly: the dev stage alone, synthesized into its own folder and reused while every
// input that can change it (sources, models, config, lockfile, AIMS_<STAGE>_* variables, tool versions) is unchanged.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, posix } from 'node:path';
import { appEnvironment, STAGES_CONTEXT_KEY } from '../lib/config/app-inputs.js';

/** Where `npm start` synthesizes the dev stage: not `cdk.out`, which `npm run synth` fills with every stage. */
export const LOCAL_ASSEMBLY_DIR = 'cdk.out.local';
/** The fingerprint of the inputs an assembly was synthesized from, written beside it once its synth succeeded. */
export const INPUTS_FILE = 'aims-local-inputs.json';

/** Folders holding what the app builds from: its code, the lambdas it bundles, the models and their assets. */
const SOURCE_DIRS = ['bin', 'lib', 'lambdas', 'models'] as const;
/** Project files that change what the CLI synthesizes or what esbuild bundles. */
const PROJECT_FILES = ['cdk.json', 'cdk.context.json', 'package.json', 'package-lock.json', 'tsconfig.json'] as const;
/** Folders nothing synthesized reads: tests, trained artifacts (the local stage serves those itself), caches. */
const SKIPPED_DIRS = new Set([
  'node_modules',
  'test',
  '__tests__',
  '__snapshots__',
  'artifacts',
  '__pycache__',
  'dist',
]);
const SKIPPED_FILE = /(\.test\.ts|\.md|\.pyc)$/;
/** The installed tools whose versions shape the assembly (node_modules can differ from the lockfile). */
const TOOL_PACKAGES = ['aws-cdk-lib', 'aws-cdk', 'constructs', 'cdk-nag', 'esbuild', 'tsx'] as const;
const RECORD_VERSION = 1;

/** Input name → digest: a project-relative path (`lib/app.ts`), `$VARIABLE`, `node`, `<package> version`, `synth`. */
export type Fingerprint = Readonly<Record<string, string>>;

export interface FingerprintOptions {
  /** The project root. */
  readonly root: string;
  /** The environment the synth runs with; only the variables the app reads count. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The synth command line: another command makes another assembly. */
  readonly command: readonly string[];
  /** Where the CDK CLI's user settings (`~/.cdk.json`, which may hold context) live. @default os.homedir() */
  readonly home?: string;
}

function digest(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under the source folders that can reach the assembly, as sorted posix paths relative to `root`. */
export function sourceFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      const path = posix.join(relative, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(path);
      } else if (entry.isFile() && !SKIPPED_FILE.test(entry.name)) {
        files.push(path);
      }
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) walk(dir);
  return files.sort();
}

function installedVersion(root: string, pkg: string): string {
  const manifest = join(root, 'node_modules', pkg, 'package.json');
  if (!existsSync(manifest)) return 'not installed';
  return String((JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version);
}

/** The fingerprint of everything the dev assembly is made from. */
export function fingerprintInputs(options: FingerprintOptions): Fingerprint {
  const { root } = options;
  const inputs: Record<string, string> = {};
  for (const file of sourceFiles(root)) inputs[file] = digest(readFileSync(join(root, file)));
  for (const file of PROJECT_FILES) {
    if (existsSync(join(root, file))) inputs[file] = digest(readFileSync(join(root, file)));
  }
  const userSettings = join(options.home ?? homedir(), '.cdk.json');
  if (existsSync(userSettings)) inputs['~/.cdk.json'] = digest(readFileSync(userSettings));
  // Hashed: the values need not be written to disk to be compared.
  for (const [name, value] of Object.entries(appEnvironment(options.env))) inputs[`$${name}`] = digest(value);
  inputs.node = process.version;
  for (const pkg of TOOL_PACKAGES) inputs[`${pkg} version`] = installedVersion(root, pkg);
  inputs.synth = options.command.join(' ');
  return inputs;
}

/**
 * A digest of the synthesized assembly itself (its manifests, the stage's templates, the asset folders' names): a
 * synth by other means into the same folder, an interrupted one, or a deleted asset makes it differ from the
 * recorded one.
 */
export function assemblyDigest(assemblyDir: string, stageName: string): string | undefined {
  const stageDir = join(assemblyDir, `assembly-${stageName}`);
  const manifest = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifest) || !existsSync(join(stageDir, 'manifest.json'))) return undefined;
  const hash = createHash('sha256').update(readFileSync(manifest));
  for (const entry of readdirSync(stageDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isFile()) hash.update(`\0${entry.name}\0`).update(readFileSync(join(stageDir, entry.name)));
  }
  for (const name of readdirSync(assemblyDir).sort()) if (name.startsWith('asset.')) hash.update(`\0${name}`);
  return hash.digest('hex');
}

/** What is written beside an assembly after its synth succeeded. */
export interface AssemblyRecord {
  readonly version: number;
  readonly inputs: Fingerprint;
  readonly assembly: string;
}

export function readAssemblyRecord(assemblyDir: string): AssemblyRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(join(assemblyDir, INPUTS_FILE), 'utf8')) as Partial<AssemblyRecord>;
    if (record.version !== RECORD_VERSION || typeof record.assembly !== 'string') return undefined;
    if (typeof record.inputs !== 'object' || record.inputs === null) return undefined;
    return record as AssemblyRecord;
  } catch {
    return undefined;
  }
}

export interface SynthDecision {
  readonly synth: boolean;
  /** Why, for the progress line: `inputs unchanged`, `lib/app.ts changed`, `lambdas/x.ts and 2 more added`, … */
  readonly reason: string;
}

/** The inputs that differ between two fingerprints, each with what happened to it. */
export function changedInputs(before: Fingerprint, after: Fingerprint): { input: string; change: string }[] {
  const changes: { input: string; change: string }[] = [];
  for (const input of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = before[input];
    const is = after[input];
    if (was === is) continue;
    changes.push({ input, change: was === undefined ? 'added' : is === undefined ? 'removed' : 'changed' });
  }
  return changes.sort((a, b) => a.input.localeCompare(b.input));
}

/**
 * Synthesize again, or reuse the assembly? Reuse only when a record exists, the assembly is the one the record
 * describes, and every input is as it was.
 */
export function decideSynth(args: {
  readonly force: boolean;
  readonly record: AssemblyRecord | undefined;
  readonly current: Fingerprint;
  /** `assemblyDigest()` of the folder now; undefined when it holds no assembly of the stage. */
  readonly assembly: string | undefined;
}): SynthDecision {
  if (args.force) return { synth: true, reason: 'asked to (--synth)' };
  if (args.assembly === undefined) return { synth: true, reason: 'no dev assembly yet' };
  if (args.record === undefined) return { synth: true, reason: 'no record of the inputs it was made from' };
  if (args.record.assembly !== args.assembly) {
    return { synth: true, reason: 'the assembly was changed since it was synthesized' };
  }
  const changes = changedInputs(args.record.inputs, args.current);
  const first = changes[0];
  if (first === undefined) return { synth: false, reason: 'inputs unchanged' };
  const more = changes.length > 1 ? ` and ${changes.length - 1} more input${changes.length > 2 ? 's' : ''}` : '';
  return { synth: true, reason: `${first.input} ${first.change}${more}` };
}

/** The CDK CLI command that synthesizes one stage, building and bundling nothing of the others. */
export function synthCommand(stageName: string, assemblyDir: string): string[] {
  return [
    'cdk',
    'synth',
    '-q',
    // --exclusively: the CLI then bundles assets of the selected stacks only (`aws:cdk:bundling-stacks`).
    '--exclusively',
    `${stageName}/*`,
    '--output',
    assemblyDir,
    '-c',
    `${STAGES_CONTEXT_KEY}=${stageName}`,
  ];
}

export interface PrepareAssemblyOptions {
  readonly root: string;
  readonly assemblyDir: string;
  readonly stageName: string;
  /** Synthesize even when the inputs are unchanged. */
  readonly force: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Runs a command of the project (the synth). */
  readonly run: (args: readonly string[], log: (line: string) => void) => Promise<void>;
  readonly log: (line: string) => void;
  /** @default os.homedir() */
  readonly home?: string;
}

/** Makes `assemblyDir` hold an up-to-date assembly of the stage, synthesizing only when an input changed. */
export async function prepareAssembly(options: PrepareAssemblyOptions): Promise<SynthDecision> {
  const { root, assemblyDir, stageName, log } = options;
  const command = synthCommand(stageName, assemblyDir);
  // Taken before the synth: a file edited while it runs leaves the record behind, and the next start synthesizes.
  const current = fingerprintInputs({
    root,
    env: options.env,
    command,
    ...(options.home !== undefined ? { home: options.home } : {}),
  });
  const decision = decideSynth({
    force: options.force,
    record: readAssemblyRecord(assemblyDir),
    current,
    assembly: assemblyDigest(assemblyDir, stageName),
  });
  if (!decision.synth) {
    log(`▶ reusing the ${stageName} assembly in ${assemblyDir} (${decision.reason})`);
    return decision;
  }
  log(`▶ synthesizing the ${stageName} stage: ${decision.reason}`);
  const started = Date.now();
  // No record while the synth runs: an interrupted or failed one leaves nothing that claims to be up to date.
  rmSync(join(assemblyDir, INPUTS_FILE), { force: true });
  await options.run(command, log);
  const assembly = assemblyDigest(assemblyDir, stageName);
  if (assembly === undefined) throw new Error(`${command.join(' ')} wrote no ${stageName} assembly to ${assemblyDir}`);
  const record: AssemblyRecord = { version: RECORD_VERSION, inputs: current, assembly };
  writeFileSync(join(assemblyDir, INPUTS_FILE), `${JSON.stringify(record, null, 2)}\n`);
  log(`  synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return decision;
}
