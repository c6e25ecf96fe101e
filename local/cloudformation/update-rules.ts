// What CloudFormation does with a stack update: per changed property, update in place or replace; and which replacements it refuses.
import {
  isKnownResourceType,
  nestedCreateOnlyPaths,
  physicalNameProperty,
  replacementFact,
  UnknownResourceTypeError,
} from './spec.js';

export type UpdateAction = 'update' | 'replacement';

export interface PropertyChange {
  readonly logicalId: string;
  readonly type: string;
  /** A top-level property name. */
  readonly property: string;
  readonly action: UpdateAction;
}

/** A replacement CloudFormation refuses: the new resource would need the physical name the old one still holds. */
export interface RefusedReplacement {
  readonly logicalId: string;
  readonly type: string;
  /** The property holding the custom name, e.g. `JobDefinitionName`. */
  readonly nameProperty: string;
  /** The name as the template has it (canonical JSON when it is not a literal, e.g. an `Fn::Join`). */
  readonly physicalName: string;
  /** The changed properties that require the replacement. */
  readonly properties: readonly string[];
  /** CloudFormation's own message. */
  readonly reason: string;
}

export interface UpdatePlan {
  readonly changes: readonly PropertyChange[];
  /** Logical ids only in the new template. */
  readonly added: readonly string[];
  /** Logical ids only in the old template. */
  readonly removed: readonly string[];
  /** Logical ids with at least one `replacement` change (refused ones included). */
  readonly replaced: readonly string[];
  readonly refused: readonly RefusedReplacement[];
}

export interface PlannableTemplate {
  readonly Resources: Readonly<
    Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>
  >;
}

/** CloudFormation refuses to change a resource's type in place. */
export class ResourceTypeChangeError extends Error {
  constructor(
    readonly logicalId: string,
    readonly before: string,
    readonly after: string,
  ) {
    super(
      `Update of resource type is not permitted. The new template modifies resource type of the following resources: [${logicalId}] (${before} → ${after})`,
    );
    this.name = 'ResourceTypeChangeError';
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{ Ref: … }`, `{ 'Fn::…': … }`: a value CloudFormation computes, compared as written (structurally). */
const isIntrinsic = (v: unknown): boolean => {
  if (!isRecord(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]?.startsWith('Fn::') === true);
};

/** JSON with sorted keys: two values are the same to CloudFormation when these strings are equal. */
export function canonical(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value))
    return `{${Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** The values a nested path reaches, keyed by where; an intrinsic or a missing step ends the path where it stands. */
function leaves(value: unknown, segments: readonly string[], at: string, out: Map<string, string>): void {
  const [head, ...rest] = segments;
  if (head === undefined || value === undefined || isIntrinsic(value)) {
    out.set(at, canonical(value));
  } else if (head === '*' && Array.isArray(value)) {
    for (const [i, element] of value.entries()) leaves(element, rest, `${at}[${i}]`, out);
  } else if (head === '*' && isRecord(value)) {
    for (const [key, element] of Object.entries(value)) leaves(element, rest, `${at}[${JSON.stringify(key)}]`, out);
  } else if (head !== '*' && isRecord(value)) {
    leaves(value[head], rest, `${at}.${head}`, out);
  } else {
    out.set(at, canonical(value));
  }
}

const sameLeaves = (a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean =>
  a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

/**
 * Whether changing `property` of a `type` resource from `before` to `after` replaces it: the registry marks the
 * property create-only (`yes`, or `maybe`, taken as `yes`), or a nested create-only field under it changes.
 */
export function changeAction(type: string, property: string, before: unknown, after: unknown): UpdateAction {
  if (replacementFact(type, property) !== 'no') return 'replacement';
  for (const path of nestedCreateOnlyPaths(type)) {
    if (path[0] !== property) continue;
    const [a, b] = [new Map<string, string>(), new Map<string, string>()];
    leaves(before, path.slice(1), property, a);
    leaves(after, path.slice(1), property, b);
    if (!sameLeaves(a, b)) return 'replacement';
  }
  return 'update';
}

export const refusalReason = (physicalName: string): string =>
  `CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename ${physicalName} and update the stack again.`;

/**
 * Plans an update from `before` to `after` as CloudFormation would. Values are compared as written: the local stage
 * passes resolved templates (literals only); the deploy gate passes raw templates, where an intrinsic is equal to
 * another only when it is written the same way. Throws `UnknownResourceTypeError` for a type the registry does not
 * know and `ResourceTypeChangeError` when a logical id changes type.
 */
export function planStackUpdate(before: PlannableTemplate, after: PlannableTemplate): UpdatePlan {
  const changes: PropertyChange[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  const replaced: string[] = [];
  const refused: RefusedReplacement[] = [];
  const ids = [...new Set([...Object.keys(before.Resources), ...Object.keys(after.Resources)])].sort();
  // Every type, changed or not: a type the registry does not know is a typo or a fact we lack, never "no change".
  for (const { Type } of [...Object.values(before.Resources), ...Object.values(after.Resources)])
    if (!isKnownResourceType(Type)) throw new UnknownResourceTypeError(Type);
  for (const logicalId of ids) {
    const old = before.Resources[logicalId];
    const next = after.Resources[logicalId];
    if (!old) {
      added.push(logicalId);
      continue;
    }
    if (!next) {
      removed.push(logicalId);
      continue;
    }
    if (old.Type !== next.Type) throw new ResourceTypeChangeError(logicalId, old.Type, next.Type);
    const type = next.Type;
    const oldProps = old.Properties ?? {};
    const newProps = next.Properties ?? {};
    const replacing: string[] = [];
    for (const property of [...new Set([...Object.keys(oldProps), ...Object.keys(newProps)])].sort()) {
      if (canonical(oldProps[property]) === canonical(newProps[property])) continue;
      const action = changeAction(type, property, oldProps[property], newProps[property]);
      changes.push({ logicalId, type, property, action });
      if (action === 'replacement') replacing.push(property);
    }
    if (replacing.length === 0) continue;
    replaced.push(logicalId);
    const name = physicalNameProperty(type);
    const newName = name && newProps[name.property];
    // A name that is set and unchanged: the replacement would be created beside the old resource under its name.
    if (name && newName !== undefined && canonical(oldProps[name.property]) === canonical(newName)) {
      const physicalName = typeof newName === 'string' ? newName : canonical(newName);
      refused.push({
        logicalId,
        type,
        nameProperty: name.property,
        physicalName,
        properties: replacing,
        reason: refusalReason(physicalName),
      });
    }
  }
  return { changes, added, removed, replaced, refused };
}
