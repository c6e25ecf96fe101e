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

/** Logical ids a value reads through `Ref`, `Fn::GetAtt` or `Fn::Sub`'s `${Id}` / `${Id.Attribute}`. */
function referencesOf(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const v of value) referencesOf(v, into);
  else if (isRecord(value)) {
    const ref = value.Ref;
    const getAtt = value['Fn::GetAtt'];
    const sub = value['Fn::Sub'];
    if (typeof ref === 'string') into.add(ref);
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') into.add(getAtt[0]);
    if (typeof getAtt === 'string') into.add(getAtt.split('.')[0] ?? getAtt);
    const subText = typeof sub === 'string' ? sub : Array.isArray(sub) ? sub[0] : undefined;
    if (typeof subText === 'string')
      for (const [, name] of subText.matchAll(/\$\{([^!}][^}.]*)(?:\.[^}]*)?\}/g)) if (name) into.add(name);
    for (const v of Object.values(value)) referencesOf(v, into);
  }
  return into;
}

/**
 * `value` with every intrinsic that reads a replaced resource wrapped, so it compares unequal to what it was: a
 * replaced resource has a new physical id and attributes, which CloudFormation passes on to whatever reads them.
 */
function markReplacedReads(value: unknown, replaced: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => markReplacedReads(v, replaced));
  if (!isRecord(value)) return value;
  if (isIntrinsic(value) && [...referencesOf(value)].some((id) => replaced.has(id)))
    return { 'Fn::ReadsReplacedResource': value };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, markReplacedReads(v, replaced)]));
}

interface ResourcePlan {
  readonly changes: readonly PropertyChange[];
  readonly replacing: readonly string[];
}

function planResource(
  logicalId: string,
  type: string,
  oldProps: Readonly<Record<string, unknown>>,
  newProps: Readonly<Record<string, unknown>>,
  replaced: ReadonlySet<string>,
): ResourcePlan {
  const changes: PropertyChange[] = [];
  const replacing: string[] = [];
  for (const property of [...new Set([...Object.keys(oldProps), ...Object.keys(newProps)])].sort()) {
    const next = markReplacedReads(newProps[property], replaced);
    if (canonical(oldProps[property]) === canonical(next)) continue;
    const action = changeAction(type, property, oldProps[property], next);
    changes.push({ logicalId, type, property, action });
    if (action === 'replacement') replacing.push(property);
  }
  return { changes, replacing };
}

/**
 * Plans an update from `before` to `after` as CloudFormation would. Values are compared as written: the local stage
 * passes resolved templates (literals only); the deploy gate passes raw templates, where an intrinsic is equal to
 * another only when it is written the same way, and one that reads a replaced resource (`Ref`, `Fn::GetAtt`,
 * `Fn::Sub`) counts as changed, so replacements travel down references as they do in CloudFormation. Throws
 * `UnknownResourceTypeError` for a type the registry does not know and `ResourceTypeChangeError` when a logical id
 * changes type.
 */
export function planStackUpdate(before: PlannableTemplate, after: PlannableTemplate): UpdatePlan {
  // Every type, changed or not: a type the registry does not know is a typo or a fact we lack, never "no change".
  for (const { Type } of [...Object.values(before.Resources), ...Object.values(after.Resources)])
    if (!isKnownResourceType(Type)) throw new UnknownResourceTypeError(Type);
  const ids = [...new Set([...Object.keys(before.Resources), ...Object.keys(after.Resources)])].sort();
  const added = ids.filter((id) => !before.Resources[id]);
  const removed = ids.filter((id) => !after.Resources[id]);
  const kept = ids.filter((id) => before.Resources[id] && after.Resources[id]);
  for (const id of kept) {
    const [oldType, newType] = [before.Resources[id]?.Type ?? '', after.Resources[id]?.Type ?? ''];
    if (oldType !== newType) throw new ResourceTypeChangeError(id, oldType, newType);
  }
  // Replacement spreads along references until nothing new is replaced (at most one pass per link of a chain).
  let replaced = new Set<string>();
  let plans = new Map<string, ResourcePlan>();
  for (;;) {
    plans = new Map(
      kept.map((id) => {
        const [old, next] = [before.Resources[id], after.Resources[id]];
        return [id, planResource(id, next?.Type ?? '', old?.Properties ?? {}, next?.Properties ?? {}, replaced)];
      }),
    );
    const now = new Set(kept.filter((id) => (plans.get(id)?.replacing.length ?? 0) > 0));
    if (now.size === replaced.size) break;
    replaced = now;
  }
  const refused: RefusedReplacement[] = [];
  for (const id of replaced) {
    const type = after.Resources[id]?.Type ?? '';
    const [oldProps, newProps] = [before.Resources[id]?.Properties ?? {}, after.Resources[id]?.Properties ?? {}];
    const name = physicalNameProperty(type);
    const newName = name && newProps[name.property];
    // A name that is set and unchanged: the replacement would be created beside the old resource under its name.
    if (!name || newName === undefined || canonical(oldProps[name.property]) !== canonical(newName)) continue;
    const physicalName = typeof newName === 'string' ? newName : canonical(newName);
    refused.push({
      logicalId: id,
      type,
      nameProperty: name.property,
      physicalName,
      properties: plans.get(id)?.replacing ?? [],
      reason: refusalReason(physicalName),
    });
  }
  return {
    changes: kept.flatMap((id) => plans.get(id)?.changes ?? []),
    added,
    removed,
    replaced: [...replaced],
    refused,
  };
}
