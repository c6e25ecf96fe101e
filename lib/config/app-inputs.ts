// What the app reads from outside its source, in one light module (no aws-cdk-lib) the local stage imports too:
// the context key that selects stages and the AIMS_<STAGE>_* variables.
import { STAGE_NAMES, type StageName } from './environment-config.js';

/**
 * Context key naming the stages to build, e.g. `cdk synth -c aims:stages=Dev 'Dev/*'`: the local stage needs only
 * Dev, and building (and bundling) the other stages would add their time to its start. Unset: every stage.
 */
export const STAGES_CONTEXT_KEY = 'aims:stages';

/**
 * The stages named by the `aims:stages` context value: a comma-separated string (as `-c` passes it) or a list,
 * in STAGE_NAMES order. Unset or empty means every stage.
 */
export function stagesFromContext(value: unknown): StageName[] {
  if (value === undefined || value === null || value === '') return [...STAGE_NAMES];
  const names: unknown = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(names)) {
    throw new Error(
      `context ${STAGES_CONTEXT_KEY} must be a comma-separated list of stage names, got ${JSON.stringify(value)}`,
    );
  }
  const selected = new Set<StageName>();
  for (const raw of names) {
    const name = String(raw).trim();
    if (!(STAGE_NAMES as readonly string[]).includes(name)) {
      throw new Error(
        `context ${STAGES_CONTEXT_KEY} names unknown stage '${name}': expected some of ${STAGE_NAMES.join(', ')}`,
      );
    }
    selected.add(name as StageName);
  }
  return STAGE_NAMES.filter((name) => selected.has(name));
}

/**
 * The environment variables the app reads, and nothing else: AIMS_<STAGE>_* (accounts and regions). bin/ hands
 * only these down, so a fingerprint of them (the local stage reusing its assembly) covers every variable that can
 * change a template.
 */
export function appEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const prefixes = STAGE_NAMES.map((name) => `AIMS_${name.toUpperCase()}_`);
  const selected: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && prefixes.some((prefix) => key.startsWith(prefix))) selected[key] = value;
  }
  return selected;
}
