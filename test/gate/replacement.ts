// Deploy gate: a custom-named resource whose create-only values can change between deploys while its name stays, the update CloudFormation refuses.
import { createOnlyProperties, nestedCreateOnlyPaths, physicalNameProperty } from '../../local/cloudformation/spec.js';
import { canonical } from '../../local/cloudformation/update-rules.js';
import type { CfnTemplate, GateAssembly, GateStack, Json } from './assembly.js';
import type { GateCheck, GateCheckResult, GateFinding } from './check.js';

/** A create-only property whose changing input is safe for a stated reason. Narrow: one type, one property. */
export interface ReplacementAcknowledgement {
  readonly type: string;
  readonly property: string;
  readonly reason: string;
}

/** The one table of acknowledgements. Empty: every finding so far was a real hazard. */
export const ACKNOWLEDGED: readonly ReplacementAcknowledgement[] = [];

export const RULE = 'replacement/custom-name';

/** Where a create-only value gets something that can differ between two deploys of the same template source. */
export type InputKind = 'parameter' | 'dynamic-reference' | 'cross-stack' | 'asset' | 'stage-config';

export interface VariableInput {
  readonly kind: InputKind;
  /** What identifies the input: the name is derived from it when the name reads the same token. */
  readonly token: string;
  readonly description: string;
}

/** One create-only property of one custom-named resource, with the inputs that can change it. */
export interface NamedResourceHazard {
  readonly stack: GateStack;
  readonly logicalId: string;
  readonly type: string;
  readonly nameProperty: string;
  readonly name: Json;
  readonly property: string;
  readonly inputs: readonly VariableInput[];
}

const isRecord = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIntrinsic = (v: unknown): boolean =>
  isRecord(v) && Object.keys(v).length === 1 && /^(Ref|Fn::.+|Condition)$/.test(Object.keys(v)[0] ?? '');

const DYNAMIC_REFERENCE = /\{\{resolve:[^}]+\}\}/g;
/** CDK's asset hashes (file names and object keys of assets): they change with the asset's content. */
const ASSET_HASH = /\b[0-9a-f]{64}\b/g;
const SUB_VARIABLE = /\$\{([^!}][^}]*)\}/g;

function parameterInput(template: CfnTemplate, name: string): VariableInput {
  const parameter = template.Parameters?.[name];
  const ssm = parameter?.Type.startsWith('AWS::SSM::Parameter::Value') && typeof parameter.Default === 'string';
  return {
    kind: 'parameter',
    token: `parameter:${name}`,
    description: ssm
      ? `SSM parameter ${parameter?.Default} (template parameter ${name})`
      : `template parameter ${name}`,
  };
}

function conditionInputs(template: CfnTemplate, condition: string, seen: Set<string>): VariableInput[] {
  if (seen.has(condition)) return [];
  seen.add(condition);
  return inputsOf(template.Conditions?.[condition], template, seen);
}

function stringInputs(text: string): VariableInput[] {
  return [
    ...[...text.matchAll(DYNAMIC_REFERENCE)].map(
      ([m]): VariableInput => ({ kind: 'dynamic-reference', token: m, description: `dynamic reference ${m}` }),
    ),
    ...[...text.matchAll(ASSET_HASH)].map(
      ([m]): VariableInput => ({ kind: 'asset', token: m, description: `asset ${m.slice(0, 12)}…` }),
    ),
  ];
}

/** The inputs a template value takes that can differ between two deploys (every one, unordered, duplicates kept). */
export function inputsOf(value: Json, template: CfnTemplate, seenConditions: Set<string> = new Set()): VariableInput[] {
  if (typeof value === 'string') return stringInputs(value);
  if (Array.isArray(value)) return value.flatMap((v) => inputsOf(v, template, seenConditions));
  if (!isRecord(value)) return [];
  const found: VariableInput[] = [];
  const { Ref: ref, Condition: condition } = value;
  if (typeof ref === 'string' && template.Parameters?.[ref]) found.push(parameterInput(template, ref));
  if (typeof condition === 'string') found.push(...conditionInputs(template, condition, seenConditions));
  const sub = value['Fn::Sub'];
  const subText = typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : undefined;
  if (subText !== undefined) {
    const local = Array.isArray(sub) && isRecord(sub[1]) ? sub[1] : {};
    for (const [, variable] of subText.matchAll(SUB_VARIABLE))
      if (variable && !(variable in local) && template.Parameters?.[variable])
        found.push(parameterInput(template, variable));
  }
  const ifArgs = value['Fn::If'];
  if (Array.isArray(ifArgs) && typeof ifArgs[0] === 'string')
    found.push(...conditionInputs(template, ifArgs[0], seenConditions));
  for (const [key, at] of [
    ['Fn::GetStackOutput', 'output'],
    ['Fn::ImportValue', 'export'],
  ] as const) {
    if (value[key] === undefined) continue;
    const spec = value[key];
    const what = isRecord(spec) ? `${spec.OutputName} of stack ${spec.StackName}` : canonical(spec);
    found.push({ kind: 'cross-stack', token: canonical(value), description: `${at} ${what}` });
  }
  for (const v of Object.values(value)) found.push(...inputsOf(v, template, seenConditions));
  return found;
}

/** The values a path reaches (`*`: every element or map value), keyed by where; an intrinsic ends the path. */
function valuesAt(value: Json, segments: readonly string[], at: string, out: Map<string, Json>): void {
  const [head, ...rest] = segments;
  if (value === undefined) return;
  if (head === undefined || isIntrinsic(value)) out.set(at, value);
  else if (head === '*' && Array.isArray(value))
    for (const [i, v] of value.entries()) valuesAt(v, rest, `${at}[${i}]`, out);
  else if (head === '*' && isRecord(value))
    for (const [k, v] of Object.entries(value)) valuesAt(v, rest, `${at}.${k}`, out);
  else if (head !== '*' && isRecord(value)) valuesAt(value[head], rest, `${at}.${head}`, out);
}

interface NamedResource {
  readonly stack: GateStack;
  readonly logicalId: string;
  readonly type: string;
  readonly nameProperty: string;
  readonly name: Json;
  /** Create-only values other than the name, by location (`Prop`, `Prop.Nested[0].Field`). */
  readonly createOnly: ReadonlyMap<string, Json>;
}

function namedResources(stack: GateStack): NamedResource[] {
  const found: NamedResource[] = [];
  for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
    const name = physicalNameProperty(resource.Type);
    const props = resource.Properties ?? {};
    if (!name || props[name.property] === undefined) continue;
    const createOnly = new Map<string, Json>();
    for (const property of createOnlyProperties(resource.Type))
      if (property !== name.property) valuesAt(props[property], [], property, createOnly);
    for (const [property, ...path] of nestedCreateOnlyPaths(resource.Type))
      if (property) valuesAt(props[property], path, property, createOnly);
    found.push({
      stack,
      logicalId,
      type: resource.Type,
      nameProperty: name.property,
      name: props[name.property],
      createOnly,
    });
  }
  return found;
}

/** The stack's name inside its stage (`Models` of `Dev/Models`): the same resource in every stage shares it. */
const stackKey = (stack: GateStack): string => stack.displayName.slice(stack.displayName.indexOf('/') + 1);

/**
 * Leaf strings of a value with what legitimately differs between stages blanked: stage names, accounts, regions,
 * asset hashes (reported as assets already) and CDK's generated id suffixes.
 */
function stageNeutral(assembly: GateAssembly): (text: string) => string {
  const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const words = [
    ...assembly.stages.map((s) => s.name),
    ...assembly.stacks.map((s) => s.account),
    ...assembly.stacks.map((s) => s.region),
  ].filter((w) => w.length > 0);
  const stageWords = new RegExp([...new Set(words)].map(escapeRegExp).join('|'), 'gi');
  return (text) =>
    text
      .replace(ASSET_HASH, '<asset>')
      .replace(/(?=[0-9A-F]*[A-F])[0-9A-F]{8,}/g, '<id>')
      .replace(stageWords, '<stage>');
}

function leaves(value: Json, at: string, out: Map<string, string>): void {
  if (Array.isArray(value)) for (const [i, v] of value.entries()) leaves(v, `${at}[${i}]`, out);
  else if (isRecord(value) && !isIntrinsic(value))
    for (const [k, v] of Object.entries(value)) leaves(v, `${at}.${k}`, out);
  else out.set(at, typeof value === 'string' ? value : canonical(value));
}

/**
 * Per-environment config, seen across stages: the same custom-named resource whose create-only value differs
 * between stages by more than the stage's own name, account and region takes it from config, which can change
 * between two deploys of one stage. Inputs are keyed by resource.
 */
function stageConfigInputs(
  assembly: GateAssembly,
  named: readonly NamedResource[],
): Map<NamedResource, Map<string, VariableInput[]>> {
  const neutral = stageNeutral(assembly);
  const groups = new Map<string, NamedResource[]>();
  for (const r of named) {
    const key = `${stackKey(r.stack)}/${r.logicalId}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const found = new Map<NamedResource, Map<string, VariableInput[]>>();
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const locations = new Set(group.flatMap((r) => [...r.createOnly.keys()]));
    for (const location of locations) {
      const perStage = group.map((r) => {
        const out = new Map<string, string>();
        leaves(r.createOnly.get(location), location, out);
        return out;
      });
      const leafPaths = new Set(perStage.flatMap((m) => [...m.keys()]));
      for (const leaf of leafPaths) {
        const values = perStage.map((m) => m.get(leaf));
        if (new Set(values.map((v) => (v === undefined ? '<absent>' : neutral(v)))).size < 2) continue;
        group.forEach((r, i) => {
          const own = values[i];
          const byLocation = found.get(r) ?? new Map<string, VariableInput[]>();
          byLocation.set(location, [
            ...(byLocation.get(location) ?? []),
            {
              kind: 'stage-config',
              token: own ?? '<absent>',
              description: `per-environment config (${leaf} is ${own === undefined ? 'absent' : JSON.stringify(own)} in ${r.stack.stage}, different in ${group
                .filter((o) => o !== r)
                .map((o) => o.stack.stage)
                .join(', ')})`,
            },
          ]);
          found.set(r, byLocation);
        });
      }
    }
  }
  return found;
}

/** Whether the name reads the same input, so it changes whenever the value does. */
function derivedFrom(input: VariableInput, name: Json, nameInputs: readonly VariableInput[]): boolean {
  if (input.kind === 'stage-config') return input.token !== '<absent>' && canonical(name).includes(input.token);
  return nameInputs.some((n) => n.token === input.token);
}

/** Every custom-named resource's create-only properties whose inputs can change while the name does not. */
export function findHazards(assembly: GateAssembly): { named: number; hazards: NamedResourceHazard[] } {
  const named = assembly.stacks.flatMap(namedResources);
  const config = stageConfigInputs(assembly, named);
  const hazards: NamedResourceHazard[] = [];
  for (const r of named) {
    const nameInputs = inputsOf(r.name, r.stack.template);
    const byProperty = new Map<string, VariableInput[]>();
    const locations = new Set([...r.createOnly.keys(), ...(config.get(r)?.keys() ?? [])]);
    for (const location of locations) {
      const property = location.split(/[.[]/)[0] ?? location;
      const inputs = [
        ...inputsOf(r.createOnly.get(location), r.stack.template),
        ...(config.get(r)?.get(location) ?? []),
      ].filter((input) => !derivedFrom(input, r.name, nameInputs));
      if (inputs.length > 0) byProperty.set(property, [...(byProperty.get(property) ?? []), ...inputs]);
    }
    for (const [property, inputs] of byProperty) {
      const unique = [...new Map(inputs.map((i) => [`${i.kind}:${i.token}`, i])).values()];
      hazards.push({ ...r, property, inputs: unique });
    }
  }
  return { named: named.length, hazards };
}

function message(hazards: readonly NamedResourceHazard[]): string {
  const [first] = hazards;
  if (!first) return '';
  const name = typeof first.name === 'string' ? first.name : canonical(first.name);
  const takes = hazards.map((h) => `${h.property} takes ${h.inputs.map((i) => i.description).join('; ')}`);
  return (
    `${first.type} has the custom name ${first.nameProperty}=${name}, but create-only ${takes.join(' | ')}. ` +
    'When that changes, CloudFormation must replace the resource and refuses: "CloudFormation cannot update a ' +
    'stack when a custom-named resource requires replacing". Let CloudFormation name it, or derive the name from ' +
    'the same input.'
  );
}

/** The check with a given acknowledgement table: one finding per resource; an acknowledgement silences one type's one property. */
export function replacementCheckWith(acknowledgements: readonly ReplacementAcknowledgement[]): GateCheck {
  return {
    name: 'replacement',
    async run(assembly: GateAssembly): Promise<GateCheckResult> {
      const { named, hazards } = findHazards(assembly);
      const used = new Set<ReplacementAcknowledgement>();
      const open = new Map<string, NamedResourceHazard[]>();
      let acknowledged = 0;
      for (const h of hazards) {
        const ack = acknowledgements.find((a) => a.type === h.type && a.property === h.property);
        if (ack) {
          used.add(ack);
          acknowledged++;
          continue;
        }
        const where = `${h.stack.stackName}/${h.logicalId}`;
        open.set(where, [...(open.get(where) ?? []), h]);
      }
      return {
        check: 'replacement',
        errors: [...open].map(([where, found]): GateFinding => ({ rule: RULE, where, message: message(found) })),
        warnings: [],
        acknowledged,
        scope: `${assembly.stacks.length} templates, ${named} custom-named resources`,
        unusedAcknowledgements: acknowledgements.filter((a) => !used.has(a)).map((a) => `${a.type} ${a.property}`),
      };
    },
  };
}

export const replacementCheck: GateCheck = replacementCheckWith(ACKNOWLEDGED);
