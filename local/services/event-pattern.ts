// EventBridge event-pattern matching with AWS's semantics, for the local bus to apply the template's rules.
//
// Supported: exact values (strings, numbers compared numerically, booleans, null), prefix, suffix (each also with
// equals-ignore-case), equals-ignore-case, wildcard, anything-but (value, list, prefix, suffix, equals-ignore-case,
// wildcard), numeric ranges, exists, cidr (IPv4), $or at any level, nested objects, and arrays in events (an array
// field matches when any element does).

type Pattern = Readonly<Record<string, unknown>>;

export class EventPatternError extends Error {
  override readonly name = 'EventPatternError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function wildcardRegex(wildcard: string): RegExp {
  let source = '';
  for (let i = 0; i < wildcard.length; i += 1) {
    const ch = wildcard.charAt(i);
    if (ch === '\\' && i + 1 < wildcard.length) {
      i += 1;
      source += wildcard.charAt(i).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (ch === '*') source += '.*';
    else source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let out = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    out = out * 256 + Number(part);
  }
  return out;
}

function matchesCidr(cidr: string, value: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const network = ipv4ToInt(base ?? '');
  const ip = ipv4ToInt(value);
  const bits = Number(bitsText ?? '32');
  if (network === undefined || ip === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(network / size) === Math.floor(ip / size);
}

function matchesNumeric(spec: unknown, value: unknown): boolean {
  if (typeof value !== 'number' || !Array.isArray(spec)) return false;
  for (let i = 0; i < spec.length; i += 2) {
    const op = spec[i];
    const bound = spec[i + 1];
    if (typeof bound !== 'number') throw new EventPatternError(`numeric needs number bounds, got ${String(bound)}`);
    const ok =
      op === '='
        ? value === bound
        : op === '<'
          ? value < bound
          : op === '<='
            ? value <= bound
            : op === '>'
              ? value > bound
              : op === '>='
                ? value >= bound
                : undefined;
    if (ok === undefined) throw new EventPatternError(`unknown numeric operator ${String(op)}`);
    if (!ok) return false;
  }
  return true;
}

function exact(expected: unknown, value: unknown): boolean {
  if (typeof expected === 'number') return typeof value === 'number' && value === expected;
  return expected === value;
}

function stringTest(spec: unknown, value: unknown, test: (pattern: string, actual: string) => boolean): boolean {
  if (typeof value !== 'string') return false;
  if (typeof spec === 'string') return test(spec, value);
  if (isRecord(spec) && typeof spec['equals-ignore-case'] === 'string') {
    return test(spec['equals-ignore-case'].toLowerCase(), value.toLowerCase());
  }
  throw new EventPatternError(`expected a string or {equals-ignore-case}, got ${JSON.stringify(spec)}`);
}

function anythingBut(spec: unknown, value: unknown): boolean {
  if (Array.isArray(spec)) return !spec.some((item) => exact(item, value));
  if (!isRecord(spec)) return !exact(spec, value);
  // The operator forms of anything-but apply to strings only; other values never match them.
  if (typeof value !== 'string') return false;
  if ('prefix' in spec) return !stringTest(spec.prefix, value, (p, a) => a.startsWith(p));
  if ('suffix' in spec) return !stringTest(spec.suffix, value, (p, a) => a.endsWith(p));
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);
  if ('equals-ignore-case' in spec) {
    return !list(spec['equals-ignore-case']).some(
      (v) => typeof v === 'string' && v.toLowerCase() === value.toLowerCase(),
    );
  }
  if ('wildcard' in spec)
    return !list(spec.wildcard).some((v) => typeof v === 'string' && wildcardRegex(v).test(value));
  throw new EventPatternError(`unsupported anything-but form ${JSON.stringify(spec)}`);
}

function matchesOne(matcher: unknown, value: unknown): boolean {
  if (!isRecord(matcher)) return exact(matcher, value);
  const keys = Object.keys(matcher);
  if (keys.length !== 1)
    throw new EventPatternError(`a matcher has exactly one operator, got ${JSON.stringify(matcher)}`);
  const op = keys[0] ?? '';
  const spec = matcher[op];
  switch (op) {
    case 'prefix':
      return stringTest(spec, value, (p, a) => a.startsWith(p));
    case 'suffix':
      return stringTest(spec, value, (p, a) => a.endsWith(p));
    case 'equals-ignore-case':
      return typeof spec === 'string' && typeof value === 'string' && spec.toLowerCase() === value.toLowerCase();
    case 'wildcard':
      return typeof spec === 'string' && typeof value === 'string' && wildcardRegex(spec).test(value);
    case 'anything-but':
      return anythingBut(spec, value);
    case 'numeric':
      return matchesNumeric(spec, value);
    case 'cidr':
      return typeof spec === 'string' && typeof value === 'string' && matchesCidr(spec, value);
    default:
      throw new EventPatternError(`unsupported pattern operator "${op}"`);
  }
}

function matchesField(matchers: readonly unknown[], present: boolean, value: unknown): boolean {
  const values = !present ? [] : Array.isArray(value) ? value : [value];
  for (const matcher of matchers) {
    if (isRecord(matcher) && 'exists' in matcher) {
      if (matcher.exists === (present && values.length > 0)) return true;
      continue;
    }
    if (values.some((v) => matchesOne(matcher, v))) return true;
  }
  return false;
}

function matchesObject(pattern: Pattern, value: unknown): boolean {
  const object = isRecord(value) ? value : undefined;
  for (const [key, spec] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(spec)) throw new EventPatternError('$or needs a list of patterns');
      if (!spec.some((alternative) => isRecord(alternative) && matchesObject(alternative, value))) return false;
      continue;
    }
    const present = object !== undefined && Object.hasOwn(object, key);
    const field = present ? object[key] : undefined;
    if (Array.isArray(spec)) {
      if (!matchesField(spec, present, field)) return false;
    } else if (isRecord(spec)) {
      const candidates = Array.isArray(field) ? field : [field];
      if (!candidates.some((candidate) => matchesObject(spec, candidate))) return false;
    } else {
      throw new EventPatternError(`pattern field "${key}" must be a list of matchers or an object`);
    }
  }
  return true;
}

/** True when `event` matches the EventBridge `pattern`. Throws EventPatternError for a malformed pattern. */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  if (!isRecord(pattern)) throw new EventPatternError('an event pattern must be a JSON object');
  return matchesObject(pattern, event);
}

/** Checks a pattern's operators up front so a bad rule fails at startup, not on the first event. */
export function validateEventPattern(pattern: unknown): void {
  const walk = (node: unknown, where: string): void => {
    if (!isRecord(node)) throw new EventPatternError(`${where}: must be an object`);
    for (const [key, spec] of Object.entries(node)) {
      if (key === '$or') {
        if (!Array.isArray(spec) || spec.length === 0) throw new EventPatternError(`${where}.$or: needs patterns`);
        spec.forEach((alternative, i) => {
          walk(alternative, `${where}.$or[${i}]`);
        });
      } else if (Array.isArray(spec)) {
        for (const matcher of spec) {
          if (isRecord(matcher) && 'exists' in matcher) continue;
          // Run each matcher once against a probe value: unknown operators and malformed specs throw here.
          matchesOne(matcher, 'probe');
          matchesOne(matcher, 1);
        }
      } else if (isRecord(spec)) walk(spec, `${where}.${key}`);
      else throw new EventPatternError(`${where}.${key}: must be a list of matchers or an object`);
    }
  };
  walk(pattern, 'pattern');
}
