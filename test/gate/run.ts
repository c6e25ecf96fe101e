// The offline deploy gate: runs every check over every stage of the cloud assembly, prints one summary line per
// check (details under a failing one) and exits non-zero on any error or stale acknowledgement.
// Usage: tsx test/gate/run.ts [--assembly cdk.out] [--stage Dev]...
import { pathToFileURL } from 'node:url';
import { type GateAssembly, loadAssembly } from './assembly.js';
import { cfnLint } from './cfn-lint.js';
import { detailLines, type GateCheck, type GateCheckResult, summaryLine } from './check.js';
import { guard } from './guard.js';
import { kmsIamCheck } from './kms-iam.js';
import { limits } from './limits.js';
import { replacementCheck } from './replacement.js';

/** Every check of the gate, in the order their lines print. They are independent and run concurrently. */
export const CHECKS: readonly GateCheck[] = [cfnLint, guard, replacementCheck, kmsIamCheck, limits];

export interface GateOutcome {
  readonly ok: boolean;
  readonly lines: readonly string[];
  readonly results: readonly GateCheckResult[];
}

/** A check that throws (a missing tool, unreadable output) is a failed check, not a crashed gate. */
async function timed(check: GateCheck, assembly: GateAssembly): Promise<{ result: GateCheckResult; seconds: number }> {
  const start = performance.now();
  let result: GateCheckResult;
  try {
    result = await check.run(assembly);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    result = {
      check: check.name,
      errors: [{ rule: 'gate/check-failed', where: check.name, message }],
      warnings: [],
      acknowledged: 0,
      scope: 'not run',
    };
  }
  return { result, seconds: (performance.now() - start) / 1000 };
}

export interface GateOptions {
  /**
   * Whether the assembly holds every stage. An acknowledgement may cover one stage only (dev log retention), so
   * staleness is judged only over all of them. @default true
   */
  readonly allStages?: boolean;
}

export async function runGate(
  assembly: GateAssembly,
  checks: readonly GateCheck[] = CHECKS,
  options: GateOptions = {},
): Promise<GateOutcome> {
  const start = performance.now();
  const allStages = options.allStages ?? true;
  const timings = (await Promise.all(checks.map((check) => timed(check, assembly)))).map(({ result, seconds }) => ({
    result: allStages ? result : { ...result, unusedAcknowledgements: undefined },
    seconds,
  }));
  const lines: string[] = [];
  let ok = true;
  for (const { result, seconds } of timings) {
    const failed = result.errors.length > 0 || (result.unusedAcknowledgements?.length ?? 0) > 0;
    ok &&= !failed;
    lines.push(summaryLine(result, seconds));
    if (failed) lines.push(...detailLines(result));
  }
  const stages = assembly.stages.map((s) => s.name).join(', ');
  if (!allStages) lines.push('(stale acknowledgements are judged only when every stage is checked)');
  lines.push(
    `${ok ? 'deploy gate passed' : 'deploy gate FAILED'}: ${assembly.stacks.length} stacks of ${stages} ` +
      `in ${((performance.now() - start) / 1000).toFixed(1)} s`,
  );
  return { ok, lines, results: timings.map((t) => t.result) };
}

export function parseArguments(argv: readonly string[]): { assembly: string; stages?: string[] } {
  let assembly = 'cdk.out';
  const stages: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if ((arg === '--assembly' || arg === '--stage') && (value === undefined || value.startsWith('--'))) {
      throw new Error(`${arg} needs a value`);
    }
    if (arg === '--assembly') assembly = value as string;
    else if (arg === '--stage') stages.push(value as string);
    else throw new Error(`unknown argument '${arg}': usage tsx test/gate/run.ts [--assembly cdk.out] [--stage Dev]...`);
    i++;
  }
  return { assembly, stages: stages.length ? stages : undefined };
}

async function main(): Promise<number> {
  const { assembly, stages } = parseArguments(process.argv.slice(2));
  const outcome = await runGate(loadAssembly(assembly, stages), CHECKS, { allStages: stages === undefined });
  for (const line of outcome.lines) console.log(line);
  return outcome.ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`deploy gate: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 2;
    },
  );
}
