// Deploy-gate check: the AWS Control Tower proactive controls, run by cfn-guard from @cdklabs/cdk-validator-cfnguard
// over every template. Each rule passes or is acknowledged with a reason in acknowledgements.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { type Acknowledgement, acknowledge, GUARD_ACKNOWLEDGEMENTS, type RawFinding } from './acknowledgements.js';
import type { GateAssembly, GateStack, Json } from './assembly.js';
import { type GateCheck, type GateCheckResult, runProcess } from './check.js';

const PACKAGE_DIR = path.dirname(
  createRequire(import.meta.url).resolve('@cdklabs/cdk-validator-cfnguard/package.json'),
);
/** The Control Tower rules the package ships. */
export const CONTROL_TOWER_RULES = path.join(PACKAGE_DIR, 'rules', 'control-tower', 'cfn-guard');

/** The cfn-guard binary the package ships for this platform (its own plugin picks it the same way). */
export function guardBinary(): string {
  const platform = os.platform() === 'linux' ? 'ubuntu' : os.platform() === 'darwin' ? 'macos' : undefined;
  const arch = os.arch() === 'x64' ? 'x86_64' : os.arch() === 'arm64' ? 'aarch64' : undefined;
  if (!platform || !arch) throw new Error(`cfn-guard ships no binary for ${os.platform()}/${os.arch()}`);
  return path.join(PACKAGE_DIR, 'bin', platform, arch, 'cfn-guard');
}

interface RuleFile {
  readonly file: string;
  /** Resource types the rule file names; a file that names none runs on every template. */
  readonly types: readonly string[];
}

function ruleFiles(directory: string): RuleFile[] {
  return readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.guard'))
    .map((e) => {
      const file = path.join(e.parentPath, e.name);
      const types = [...new Set(readFileSync(file, 'utf8').match(/AWS::\w+::\w+/g) ?? [])];
      return { file, types };
    })
    .sort((a, b) => a.file.localeCompare(b.file));
}

/** Only the rule files that can apply: a rule on types absent from the templates finds nothing (measured: same findings, a third of the time). */
export function applicableRules(rules: readonly RuleFile[], stacks: readonly GateStack[]): RuleFile[] {
  const present = new Set(stacks.flatMap((s) => Object.values(s.template.Resources).map((r) => r.Type)));
  return rules.filter((r) => r.types.length === 0 || r.types.some((t) => present.has(t)));
}

/** Resource logical ids a non-compliant rule's report points at, and its Control Tower message. */
function walk(node: Json, ids: Set<string>, messages: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, ids, messages);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'path' && typeof value === 'string') {
        const id = /^\/Resources\/([^/]+)/.exec(value)?.[1];
        if (id) ids.add(id);
      } else if (key === 'custom_message' && typeof value === 'string' && value.includes('[CT.')) {
        const first = value.trim().split('\n')[0]?.trim();
        if (first) messages.add(first);
      } else {
        walk(value, ids, messages);
      }
    }
  }
}

/** Turns cfn-guard's `--structured --output-format json` report into one finding per rule and resource. */
export function parseGuardReport(report: Json, stacks: readonly GateStack[]): RawFinding[] {
  const byFile = new Map(stacks.map((s) => [path.resolve(s.templateFile), s]));
  const findings: RawFinding[] = [];
  for (const file of Array.isArray(report) ? report : [report]) {
    const stack = byFile.get(path.resolve(String(file?.name)));
    const stackName = stack?.stackName ?? String(file?.name);
    for (const entry of file?.not_compliant ?? []) {
      const rule = entry?.Rule ?? entry;
      const ids = new Set<string>();
      const messages = new Set<string>();
      walk(rule, ids, messages);
      const message = [...messages][0] ?? String(rule?.name);
      if (ids.size === 0) findings.push({ rule: String(rule?.name), stackName, where: stackName, message });
      for (const logicalId of ids) {
        findings.push({
          rule: String(rule?.name),
          stackName,
          logicalId,
          resourceType: stack?.template.Resources[logicalId]?.Type,
          where: `${stackName}/${logicalId}`,
          message,
        });
      }
    }
  }
  return findings;
}

/** Runs `work` over `items`, at most `limit` at a time, keeping the order of the results. */
async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

async function validate(binary: string, rules: readonly RuleFile[], stacks: readonly GateStack[]): Promise<Json> {
  if (rules.length === 0) return [];
  const args = [
    'validate',
    ...rules.flatMap((r) => ['--rules', r.file]),
    ...stacks.flatMap((s) => ['--data', path.resolve(s.templateFile)]),
    '--output-format',
    'json',
    '--show-summary',
    'none',
    '--structured',
  ];
  const result = await runProcess(binary, args);
  // cfn-guard exits 19 (and 5 in older versions) when a rule fails; anything else but 0 is its own failure.
  if (result.code !== 0 && result.code !== 5 && result.code !== 19) {
    throw new Error(`cfn-guard exited with ${result.code}: ${result.stderr.trim().slice(0, 1000)}`);
  }
  return result.stdout.trim() ? JSON.parse(result.stdout) : [];
}

export interface GuardOptions {
  /** @default GUARD_ACKNOWLEDGEMENTS */
  readonly acknowledgements?: readonly Acknowledgement[];
  /** @default the Control Tower rules of @cdklabs/cdk-validator-cfnguard */
  readonly rulesDirectory?: string;
}

/** Every Control Tower finding on the assembly's templates. */
export async function guardFindings(
  assembly: GateAssembly,
  rulesDirectory = CONTROL_TOWER_RULES,
): Promise<RawFinding[]> {
  const binary = guardBinary();
  if (!existsSync(binary)) throw new Error(`cfn-guard binary missing at ${binary}: run npm ci`);
  const rules = ruleFiles(rulesDirectory);
  // One process per template, each with only the rules its resource types need (measured on the Services
  // template: half the time of the stage's rule set), as many at once as there are cores.
  const reports = await mapLimit(assembly.stacks, availableParallelism(), (stack) =>
    validate(binary, applicableRules(rules, [stack]), [stack]),
  );
  return reports.flatMap((report) => parseGuardReport(report, assembly.stacks));
}

export function guardResult(
  assembly: GateAssembly,
  findings: readonly RawFinding[],
  table: readonly Acknowledgement[] = GUARD_ACKNOWLEDGEMENTS,
  rulesDirectory = CONTROL_TOWER_RULES,
): GateCheckResult {
  const result = acknowledge(findings, table);
  return {
    check: 'cfn-guard',
    errors: result.open,
    warnings: [],
    acknowledged: result.acknowledged,
    unusedAcknowledgements: result.unused,
    scope: `${assembly.stacks.length} templates, ${ruleFiles(rulesDirectory).length} Control Tower rules`,
  };
}

export function guardCheck(options: GuardOptions = {}): GateCheck {
  return {
    name: 'cfn-guard',
    async run(assembly: GateAssembly): Promise<GateCheckResult> {
      const findings = await guardFindings(assembly, options.rulesDirectory);
      return guardResult(assembly, findings, options.acknowledgements, options.rulesDirectory);
    },
  };
}

export const guard: GateCheck = guardCheck();
