// CloudFormation's registry facts about resource types (create-only properties, physical names), read from @aws-cdk/aws-service-spec.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * How a property change is applied, as the registry says. `maybe` is the registry's "conditional" (e.g. EC2
 * InstanceType: replacement for some instance families only); callers here treat it as `yes`, since a check that
 * guesses "no replacement" and is wrong costs a failed deploy.
 */
export type ReplacementFact = 'yes' | 'no' | 'maybe';

/** The property that holds a resource's physical name, when the template may set it. */
export interface PhysicalNameProperty {
  readonly property: string;
  /**
   * The registry requires it: CloudFormation cannot generate a name, so every such resource is custom-named and
   * can never be replaced without a rename (e.g. `AWS::SageMaker::MonitoringSchedule`, `AWS::KMS::Alias`).
   */
  readonly required: boolean;
}

export class UnknownResourceTypeError extends Error {
  constructor(readonly type: string) {
    super(`unknown resource type ${type}: not in the CloudFormation registry facts of @aws-cdk/aws-service-spec`);
    this.name = 'UnknownResourceTypeError';
  }
}

// The minimal shape of the package's db.json.gz that this module reads (it holds far more).
interface SpecType {
  readonly type: string;
  readonly element?: SpecType;
  readonly types?: readonly SpecType[];
  readonly reference?: { readonly $ref: string };
}
interface SpecProperty {
  readonly type: SpecType;
  readonly required?: boolean;
  readonly causesReplacement?: ReplacementFact;
}
interface SpecResource {
  readonly $id: string;
  readonly cloudFormationType: string;
  readonly name: string;
  readonly primaryIdentifier?: readonly string[];
  readonly properties: Readonly<Record<string, SpecProperty>>;
}
interface SpecTypeDefinition {
  readonly $id: string;
  readonly name: string;
  readonly properties: Readonly<Record<string, SpecProperty>>;
}
interface SpecDb {
  readonly schema: {
    readonly resource: { readonly entities: Readonly<Record<string, SpecResource>> };
    readonly typeDefinition: { readonly entities: Readonly<Record<string, SpecTypeDefinition>> };
  };
}

/** Every `Custom::Name` resource is an `AWS::CloudFormation::CustomResource` to CloudFormation. */
const CUSTOM_RESOURCE = 'AWS::CloudFormation::CustomResource';
/** CDK's own analytics resource: handled by CloudFormation, absent from the registry, every property mutable. */
const NOT_IN_REGISTRY: ReadonlyMap<string, SpecResource> = new Map([
  [
    'AWS::CDK::Metadata',
    { $id: 'cdk-metadata', cloudFormationType: 'AWS::CDK::Metadata', name: 'Metadata', properties: {} },
  ],
]);

interface Facts {
  readonly resources: ReadonlyMap<string, SpecResource>;
  readonly typeDefinitions: ReadonlyMap<string, SpecTypeDefinition>;
}

let facts: Facts | undefined;

/** Loaded once, on first use (gunzip + parse of ≈ 60 MB JSON). */
function load(): Facts {
  if (facts) return facts;
  const require = createRequire(import.meta.url);
  const file = path.join(path.dirname(require.resolve('@aws-cdk/aws-service-spec/package.json')), 'db.json.gz');
  const db = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as SpecDb;
  facts = {
    resources: new Map(Object.values(db.schema.resource.entities).map((r) => [r.cloudFormationType, r])),
    typeDefinitions: new Map(Object.values(db.schema.typeDefinition.entities).map((t) => [t.$id, t])),
  };
  return facts;
}

function resource(type: string): SpecResource {
  const registryType = type.startsWith('Custom::') ? CUSTOM_RESOURCE : type;
  const found = NOT_IN_REGISTRY.get(registryType) ?? load().resources.get(registryType);
  if (!found) throw new UnknownResourceTypeError(type);
  return found;
}

const replaces = (p: SpecProperty): boolean => p.causesReplacement === 'yes' || p.causesReplacement === 'maybe';

/** Whether the registry knows `type` (a `Custom::` type counts as a custom resource). */
export function isKnownResourceType(type: string): boolean {
  try {
    resource(type);
    return true;
  } catch (e) {
    if (e instanceof UnknownResourceTypeError) return false;
    throw e;
  }
}

/** The registry's fact for one top-level property; an unknown property is mutable (`no`) as far as we know. */
export function replacementFact(type: string, property: string): ReplacementFact {
  return resource(type).properties[property]?.causesReplacement ?? 'no';
}

/** Top-level properties whose change replaces the resource (`yes` and, conservatively, `maybe`). */
export function createOnlyProperties(type: string): readonly string[] {
  return Object.entries(resource(type).properties)
    .filter(([, p]) => replaces(p))
    .map(([name]) => name);
}

/**
 * Paths below mutable top-level properties whose change still replaces the resource (the registry's nested
 * `createOnlyProperties`, e.g. a Firehose destination's `VpcConfiguration`). A path is property names from the top
 * level down, `*` standing for any array element or map value. Paths under a create-only property are not listed:
 * the whole property already replaces.
 */
export function nestedCreateOnlyPaths(type: string): readonly (readonly string[])[] {
  const { typeDefinitions } = load();
  const found: string[][] = [];
  const refsOf = (t: SpecType, prefix: string[]): [string, string[]][] => {
    if (t.type === 'ref' && t.reference) return [[t.reference.$ref, prefix]];
    if ((t.type === 'array' || t.type === 'map') && t.element) return refsOf(t.element, [...prefix, '*']);
    if (t.type === 'union' && t.types) return t.types.flatMap((u) => refsOf(u, prefix));
    return [];
  };
  const walk = (id: string, prefix: string[], seen: ReadonlySet<string>): void => {
    const definition = typeDefinitions.get(id);
    if (!definition || seen.has(id)) return; // recursive types: one level of each is enough to find the facts
    for (const [name, p] of Object.entries(definition.properties)) {
      if (replaces(p)) found.push([...prefix, name]);
      else for (const [ref, at] of refsOf(p.type, [...prefix, name])) walk(ref, at, new Set([...seen, id]));
    }
  };
  for (const [name, p] of Object.entries(resource(type).properties)) {
    if (replaces(p)) continue;
    for (const [ref, at] of refsOf(p.type, [name])) walk(ref, at, new Set());
  }
  return found;
}

/**
 * The property that names a resource, decided from the registry's facts: a create-only string property whose name
 * is `Name`, or `<X>Name` where the type's own name ends in `<X>` (`QueueName` of `Queue`, `JobDefinitionName` of
 * `DataQualityJobDefinition`, `PolicyName` of `ScalingPolicy`). That suffix rule is what tells the name apart from
 * create-only references to other resources' names (`EndpointName` of a job definition, `EventBusName` of a rule,
 * `LogGroupName` of a metric filter). The longest match wins. `undefined` when the type has no such property
 * (CloudFormation always generates the name, or the name is mutable so a rename is an update, e.g. an API
 * Gateway RestApi's `Name`).
 */
export function physicalNameProperty(type: string): PhysicalNameProperty | undefined {
  const spec = resource(type);
  let best: [string, SpecProperty] | undefined;
  for (const [name, p] of Object.entries(spec.properties)) {
    if (!replaces(p) || p.type.type !== 'string' || !name.endsWith('Name')) continue;
    const subject = name.slice(0, -'Name'.length);
    if (subject !== '' && !spec.name.endsWith(subject)) continue;
    if (!best || name.length > best[0].length) best = [name, p];
  }
  return best && { property: best[0], required: best[1].required === true };
}
