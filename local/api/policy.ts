// Evaluates a Lambda authorizer's IAM policy against a methodArn: wildcards as IAM does them, an explicit Deny wins.

export type PolicyDecision = 'allow' | 'deny' | 'implicit-deny';

export class InvalidPolicyError extends Error {
  override readonly name = 'InvalidPolicyError';
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** IAM string matching: `*` any run of characters, `?` exactly one, everything else literal, case-sensitive. */
export function iamWildcardMatch(pattern: string, value: string): boolean {
  return wildcardRegex(pattern).test(value);
}

/** Compiled patterns: an authorizer's cached policy is evaluated on every request with the same few resources. */
const compiled = new Map<string, RegExp>();
const MAX_COMPILED = 1_000;

function wildcardRegex(pattern: string): RegExp {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(
      `^${pattern
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('')}$`,
      's',
    );
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}

const actionMatches = (action: string): boolean => {
  const a = action.toLowerCase();
  // IAM action names are case-insensitive.
  return a === '*' || iamWildcardMatch(a, 'execute-api:invoke');
};

function strings(v: unknown, what: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw new InvalidPolicyError(`policy statement ${what} must be a string or a list of strings`);
}

/** The decision of `policyDocument` for invoking `methodArn` (throws InvalidPolicyError on a malformed document). */
export function evaluatePolicy(policyDocument: unknown, methodArn: string): PolicyDecision {
  if (!isRecord(policyDocument)) throw new InvalidPolicyError('policyDocument is missing or not an object');
  const raw = policyDocument.Statement;
  const statements = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  let allowed = false;
  for (const s of statements) {
    if (!isRecord(s)) throw new InvalidPolicyError('a policy statement is not an object');
    const effect = s.Effect;
    if (effect !== 'Allow' && effect !== 'Deny') throw new InvalidPolicyError(`statement Effect '${String(effect)}'`);
    if (s.NotAction !== undefined || s.NotResource !== undefined) {
      throw new InvalidPolicyError('NotAction / NotResource are not supported in authorizer policies');
    }
    if (!strings(s.Action, 'Action').some(actionMatches)) continue;
    if (!strings(s.Resource, 'Resource').some((r) => iamWildcardMatch(r, methodArn))) continue;
    if (effect === 'Deny') return 'deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}
