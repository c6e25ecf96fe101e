// What every deploy-gate check returns, and how the gate prints it: one summary line per check.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { CfnTemplate, GateAssembly, GateStack } from './assembly.js';

/** One thing CloudFormation (or AWS at run time) would refuse. */
export interface GateFinding {
  /** The rule that found it, e.g. `E3033`, `sqs_queue_encrypted_check`, `replacement/custom-name`. */
  readonly rule: string;
  /** Where: `<stack name>/<logical id>` or a construct path. */
  readonly where: string;
  readonly message: string;
}

export interface GateCheckResult {
  /** Short name printed at the start of the summary line, e.g. `cfn-lint`. */
  readonly check: string;
  /** Failures: any one fails the gate (a failed `cdk deploy`). */
  readonly errors: readonly GateFinding[];
  /** Findings that do not fail the gate (already acknowledged findings are not listed here). */
  readonly warnings: readonly GateFinding[];
  /** Findings silenced by an acknowledgement with a reason. */
  readonly acknowledged: number;
  /** What was examined, e.g. `15 templates, 237 rules`. */
  readonly scope: string;
  /** Acknowledgements that matched nothing (stale): reported so the table stays honest. */
  readonly unusedAcknowledgements?: readonly string[];
}

export interface GateCheck {
  readonly name: string;
  run(assembly: GateAssembly): Promise<GateCheckResult>;
}

/** `✔ cfn-lint   15 templates · 0 errors · 0 warnings · 3 acknowledged (4.2 s)` */
export function summaryLine(result: GateCheckResult, seconds: number): string {
  const ok = result.errors.length === 0 && (result.unusedAcknowledgements?.length ?? 0) === 0;
  const parts = [
    result.scope,
    `${result.errors.length} error${result.errors.length === 1 ? '' : 's'}`,
    `${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}`,
    `${result.acknowledged} acknowledged`,
  ];
  if (result.unusedAcknowledgements?.length)
    parts.push(`${result.unusedAcknowledgements.length} stale acknowledgements`);
  return `${ok ? '✔' : '✘'} ${result.check.padEnd(20)} ${parts.join(' · ')} (${seconds.toFixed(1)} s)`;
}

/** The lines printed under a failing check's summary. */
export function detailLines(result: GateCheckResult): string[] {
  return [
    ...result.errors.map((f) => `    error   ${f.rule} ${f.where}: ${f.message}`),
    ...result.warnings.map((f) => `    warning ${f.rule} ${f.where}: ${f.message}`),
    ...(result.unusedAcknowledgements ?? []).map((a) => `    stale   acknowledgement matches nothing: ${a}`),
  ];
}

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program without a shell and collects its output; rejects only when it cannot start. */
export function runProcess(command: string, args: readonly string[]): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/**
 * Writes templates as a one-stage cloud assembly's stack files under `directory` and returns the gate's view of it,
 * for tests that give a check small fixture templates.
 */
export function fixtureAssembly(
  directory: string,
  templates: Readonly<Record<string, CfnTemplate>>,
  stage = 'Test',
): GateAssembly {
  mkdirSync(directory, { recursive: true });
  const stacks: GateStack[] = Object.entries(templates).map(([stackName, template]) => {
    const templateFile = path.join(directory, `${stackName}.template.json`);
    writeFileSync(templateFile, JSON.stringify(template, undefined, 1));
    return {
      stage,
      stackName,
      displayName: `${stage}/${stackName}`,
      templateFile,
      template,
      region: 'eu-west-1',
      account: '111111111111',
    };
  });
  return { directory, stages: [{ name: stage, directory, stacks }], stacks };
}
