// Deploy-gate check: cfn-lint (AWS's CloudFormation linter, the registry schemas) over every template of every
// stage. Errors fail the gate; every warning or informational finding is fixed or acknowledged with a reason.

import { type Acknowledgement, acknowledge, CFN_LINT_ACKNOWLEDGEMENTS, type RawFinding } from './acknowledgements.js';
import type { GateAssembly, GateStack } from './assembly.js';
import { type GateCheck, type GateCheckResult, runProcess } from './check.js';

/** One entry of `cfn-lint --format json`. */
interface CfnLintMatch {
  readonly Filename: string;
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Location: { readonly Path?: readonly (string | number)[] };
  readonly Rule: { readonly Id: string };
}

export interface CfnLintOptions {
  /** @default CFN_LINT_ACKNOWLEDGEMENTS */
  readonly acknowledgements?: readonly Acknowledgement[];
  /** @default 'cfn-lint' from PATH */
  readonly executable?: string;
}

const MISSING = (executable: string) =>
  `${executable} was not found on PATH: the deploy gate needs cfn-lint 1.51.0 (Python), preinstalled on this ` +
  'machine image; elsewhere install it with `pip install cfn-lint==1.51.0` (or `pipx install cfn-lint==1.51.0`)';

/** Lints one group of templates of one region; informational rules included (`-c I`). */
async function lint(executable: string, stacks: readonly GateStack[], region: string): Promise<CfnLintMatch[]> {
  const args = ['--format', 'json', '--regions', region, '-c', 'I', '--', ...stacks.map((s) => s.templateFile)];
  const result = await runProcess(executable, args).catch((error: NodeJS.ErrnoException) => {
    throw new Error(error.code === 'ENOENT' ? MISSING(executable) : `${executable} failed to start: ${error.message}`);
  });
  // Exit codes are a bit mask of the levels found (2 error, 4 warning, 8 informational); 1 is a crash.
  if (result.code === null || result.code === 1 || result.code > 14) {
    throw new Error(`${executable} exited with ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  try {
    return JSON.parse(result.stdout || '[]') as CfnLintMatch[];
  } catch {
    throw new Error(`${executable} printed no JSON: ${result.stdout.slice(0, 500)}`);
  }
}

/** Every cfn-lint finding on the assembly's templates, one process per stage and region (they run in parallel). */
export async function cfnLintFindings(
  assembly: GateAssembly,
  executable = 'cfn-lint',
): Promise<(RawFinding & { readonly level: string })[]> {
  const groups = new Map<string, GateStack[]>();
  for (const stack of assembly.stacks) {
    const key = `${stack.stage}\u0000${stack.region || 'us-east-1'}`;
    groups.set(key, [...(groups.get(key) ?? []), stack]);
  }
  const matches = (
    await Promise.all([...groups].map(([key, stacks]) => lint(executable, stacks, key.split('\u0000')[1] as string)))
  ).flat();
  const byFile = new Map(assembly.stacks.map((s) => [s.templateFile, s]));
  return matches.map((m) => {
    const stack = byFile.get(m.Filename);
    const pathParts = m.Location.Path ?? [];
    const logicalId = pathParts[0] === 'Resources' ? String(pathParts[1]) : undefined;
    const stackName = stack?.stackName ?? m.Filename;
    return {
      rule: m.Rule.Id,
      level: m.Level,
      stackName,
      logicalId,
      resourceType: logicalId ? stack?.template.Resources[logicalId]?.Type : undefined,
      where: `${stackName}/${pathParts.join('/')}`,
      message: `[${m.Level}] ${m.Message}`,
    };
  });
}

/** Judges the findings: errors always fail; a warning or informational finding fails unless acknowledged. */
export function cfnLintResult(
  assembly: GateAssembly,
  findings: readonly (RawFinding & { readonly level: string })[],
  table: readonly Acknowledgement[] = CFN_LINT_ACKNOWLEDGEMENTS,
): GateCheckResult {
  // An error is a failed deploy: only warnings and informational findings may be acknowledged.
  const result = acknowledge(findings, table, (f) => f.level !== 'Error');
  return {
    check: 'cfn-lint',
    errors: result.open,
    warnings: [],
    acknowledged: result.acknowledged,
    unusedAcknowledgements: result.unused,
    scope: `${assembly.stacks.length} templates`,
  };
}

export function cfnLintCheck(options: CfnLintOptions = {}): GateCheck {
  return {
    name: 'cfn-lint',
    async run(assembly: GateAssembly): Promise<GateCheckResult> {
      return cfnLintResult(assembly, await cfnLintFindings(assembly, options.executable), options.acknowledgements);
    },
  };
}

export const cfnLint: GateCheck = cfnLintCheck();
