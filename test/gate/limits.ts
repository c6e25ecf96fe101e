// Deploy-gate check: limits AWS documents that the registry schemas (and so cfn-lint) do not carry, as one table of
// facts measured on the templates. A value built with intrinsics is sized from its literal parts; what cannot be
// sized (a resource's Ref or attribute, another stack's output) is counted and reported, never guessed silently.
// Left to cfn-lint (tried on 1.51.0): Lambda Description (256) and SageMaker processing/monitoring environment values
// (256 each) come from the registry schemas (E3033); the Lambda environment total of literals is its E3697.
import { statSync } from 'node:fs';
import type { CfnTemplate, GateAssembly, GateStack, Json } from './assembly.js';
import type { GateCheck, GateCheckResult, GateFinding } from './check.js';

/** A size measured from a template: `known` literal characters plus `unsized` references of unknown length. */
export interface Size {
  readonly known: number;
  readonly unsized: number;
}

const ZERO: Size = { known: 0, unsized: 0 };
const add = (...sizes: Size[]): Size => ({
  known: sizes.reduce((n, s) => n + s.known, 0),
  unsized: sizes.reduce((n, s) => n + s.unsized, 0),
});

/** What a pseudo parameter resolves to in this stack; CDK gives every stack an explicit account and region. */
function pseudo(name: string, stack: Pick<GateStack, 'stackName' | 'region' | 'account'>): string | undefined {
  switch (name) {
    case 'AWS::StackName':
      return stack.stackName;
    case 'AWS::Region':
      return stack.region || undefined;
    case 'AWS::AccountId':
      return stack.account || undefined;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    default:
      return undefined;
  }
}

type StackFacts = Pick<GateStack, 'stackName' | 'region' | 'account'>;

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** The size of a string-valued property once CloudFormation resolves it (bytes of UTF-8). */
export function stringSize(value: Json, stack: StackFacts): Size {
  if (typeof value === 'string') return { known: utf8(value), unsized: 0 };
  if (typeof value === 'number' || typeof value === 'boolean') return { known: String(value).length, unsized: 0 };
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const [key, arg] = Object.entries(value)[0] ?? [];
    if (key === 'Ref' && typeof arg === 'string') {
      const resolved = pseudo(arg, stack);
      return resolved === undefined ? { known: 0, unsized: 1 } : { known: utf8(resolved), unsized: 0 };
    }
    if (key === 'Fn::Join' && Array.isArray(arg) && Array.isArray(arg[1])) {
      const parts = arg[1] as Json[];
      const separators = utf8(String(arg[0])) * Math.max(0, parts.length - 1);
      return add({ known: separators, unsized: 0 }, ...parts.map((p) => stringSize(p, stack)));
    }
    if (key === 'Fn::Sub') {
      const text = String(Array.isArray(arg) ? arg[0] : arg);
      const variables = Array.isArray(arg) ? ((arg[1] ?? {}) as Record<string, Json>) : {};
      let size: Size = { known: 0, unsized: 0 };
      const literal = text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
        size = add(size, name in variables ? stringSize(variables[name], stack) : stringSize({ Ref: name }, stack));
        return '';
      });
      return add(size, { known: utf8(literal), unsized: 0 });
    }
  }
  // Fn::GetAtt, Fn::GetStackOutput, Fn::ImportValue, Fn::Select…: known only at deploy time.
  return { known: 0, unsized: 1 };
}

const INTRINSIC = /^(Ref|Fn::\w+)$/;

/** The size of a JSON document (a policy, a pattern) once resolved and serialized without whitespace. */
export function jsonSize(value: Json, stack: StackFacts): Size {
  if (Array.isArray(value)) {
    return add({ known: 2 + Math.max(0, value.length - 1), unsized: 0 }, ...value.map((v) => jsonSize(v, stack)));
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && INTRINSIC.test(entries[0]?.[0] ?? '')) {
      return add({ known: 2, unsized: 0 }, stringSize(value, stack)); // a string value: its quotes and content
    }
    return add(
      { known: 2 + Math.max(0, entries.length - 1), unsized: 0 },
      ...entries.map(([k, v]) => add({ known: utf8(JSON.stringify(k)) + 1, unsized: 0 }, jsonSize(v, stack))),
    );
  }
  if (value === undefined) return ZERO;
  return { known: utf8(JSON.stringify(value)), unsized: 0 };
}

/** Counts characters the way IAM does: whitespace outside and inside the document does not count. */
function iamSize(document: Json, stack: StackFacts): Size {
  const size = jsonSize(document, stack);
  const whitespace = (JSON.stringify(document ?? null).match(/\s/g) ?? []).length;
  return { known: Math.max(0, size.known - whitespace), unsized: size.unsized };
}

export interface Measurement {
  /** The resource measured, or none for the whole template. */
  readonly logicalId?: string;
  readonly size: Size;
}

export interface LimitFact {
  /** Rule id printed in findings, e.g. `limits/lambda-environment`. */
  readonly id: string;
  readonly what: string;
  readonly limit: number;
  readonly unit: 'bytes' | 'characters' | 'items';
  readonly measure: (stack: GateStack) => Measurement[];
}

function resourcesOf(template: CfnTemplate, type: string): Array<[string, Json]> {
  return Object.entries(template.Resources ?? {}).filter(([, r]) => r.Type === type);
}

const count = (n: number): Size => ({ known: n, unsized: 0 });

/** The facts. Each source says where AWS documents the number. */
export const LIMITS: readonly LimitFact[] = [
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
  // (template body passed in an S3 object: 1 MB; CDK uploads every template above 50 KB to the bootstrap bucket)
  {
    id: 'limits/template-size',
    what: 'CloudFormation template body (uploaded to S3)',
    limit: 1_048_576,
    unit: 'bytes',
    measure: (stack) => [{ size: count(statSync(stack.templateFile).size) }],
  },
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html (Resources: 500)
  {
    id: 'limits/resources',
    what: 'resources per stack',
    limit: 500,
    unit: 'items',
    measure: (stack) => [{ size: count(Object.keys(stack.template.Resources ?? {}).length) }],
  },
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html (Outputs: 200)
  {
    id: 'limits/outputs',
    what: 'outputs per stack (CDK weak references add one per exported value)',
    limit: 200,
    unit: 'items',
    measure: (stack) => [{ size: count(Object.keys(stack.template.Outputs ?? {}).length) }],
  },
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html (Parameters: 200)
  {
    id: 'limits/parameters',
    what: 'parameters per stack',
    limit: 200,
    unit: 'items',
    measure: (stack) => [{ size: count(Object.keys(stack.template.Parameters ?? {}).length) }],
  },
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html (Mappings: 200)
  {
    id: 'limits/mappings',
    what: 'mappings per stack',
    limit: 200,
    unit: 'items',
    measure: (stack) => [{ size: count(Object.keys(stack.template.Mappings ?? {}).length) }],
  },
  // https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
  // ("Function environment variables: 4 KB, for all environment variables associated with the function, in aggregate")
  // cfn-lint's E3697 sizes literal variables; this also sizes joined values and counts the references it cannot.
  {
    id: 'limits/lambda-environment',
    what: "a Lambda function's environment variables, keys and values together",
    limit: 4_096,
    unit: 'bytes',
    measure: (stack) =>
      resourcesOf(stack.template, 'AWS::Lambda::Function').map(([logicalId, r]) => ({
        logicalId,
        size: add(
          ...Object.entries((r.Properties?.Environment?.Variables ?? {}) as Record<string, Json>).map(([k, v]) =>
            add(count(utf8(k)), stringSize(v, stack)),
          ),
        ),
      })),
  },
  // https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
  // ("Maximum size of state machine definition: 1 MB", a hard quota)
  {
    id: 'limits/state-machine-definition',
    what: 'a Step Functions state machine definition',
    limit: 1_048_576,
    unit: 'bytes',
    measure: (stack) =>
      resourcesOf(stack.template, 'AWS::StepFunctions::StateMachine').map(([logicalId, r]) => ({
        logicalId,
        size:
          r.Properties?.DefinitionString !== undefined
            ? stringSize(r.Properties.DefinitionString, stack)
            : jsonSize(r.Properties?.Definition, stack),
      })),
  },
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
  // ("Role policy size cannot exceed 10,240 characters" for all inline policies of a role; whitespace not counted)
  {
    id: 'limits/iam-role-inline-policies',
    what: "a role's inline policies, in aggregate",
    limit: 10_240,
    unit: 'characters',
    measure: (stack) => {
      const policies = resourcesOf(stack.template, 'AWS::IAM::Policy');
      return resourcesOf(stack.template, 'AWS::IAM::Role').map(([logicalId, role]) => {
        const own = ((role.Properties?.Policies ?? []) as Json[]).map((p) => iamSize(p.PolicyDocument, stack));
        const attached = policies
          .filter(([, p]) => ((p.Properties?.Roles ?? []) as Json[]).some((ref) => ref?.Ref === logicalId))
          .map(([, p]) => iamSize(p.Properties?.PolicyDocument, stack));
        return { logicalId, size: add(...own, ...attached) };
      });
    },
  },
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html ("Managed policy size: 6,144 characters")
  {
    id: 'limits/iam-managed-policy',
    what: 'a customer managed policy',
    limit: 6_144,
    unit: 'characters',
    measure: (stack) =>
      resourcesOf(stack.template, 'AWS::IAM::ManagedPolicy').map(([logicalId, r]) => ({
        logicalId,
        size: iamSize(r.Properties?.PolicyDocument, stack),
      })),
  },
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
  // ("Role trust policy length: 2,048 characters" by default, adjustable to 4,096)
  {
    id: 'limits/iam-trust-policy',
    what: "a role's trust policy",
    limit: 2_048,
    unit: 'characters',
    measure: (stack) =>
      resourcesOf(stack.template, 'AWS::IAM::Role').map(([logicalId, r]) => ({
        logicalId,
        size: iamSize(r.Properties?.AssumeRolePolicyDocument, stack),
      })),
  },
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html (Bytes: 8,192)
  {
    id: 'limits/sqs-queue-policy',
    what: 'an SQS queue policy',
    limit: 8_192,
    unit: 'bytes',
    measure: (stack) =>
      resourcesOf(stack.template, 'AWS::SQS::QueuePolicy').map(([logicalId, r]) => ({
        logicalId,
        size: jsonSize(r.Properties?.PolicyDocument, stack),
      })),
  },
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
  // ("Event pattern size: 2048 characters" by default, adjustable to 4096)
  {
    id: 'limits/event-pattern',
    what: 'an EventBridge rule event pattern',
    limit: 2_048,
    unit: 'characters',
    measure: (stack) =>
      resourcesOf(stack.template, 'AWS::Events::Rule')
        .filter(([, r]) => r.Properties?.EventPattern !== undefined)
        .map(([logicalId, r]) => ({ logicalId, size: jsonSize(r.Properties?.EventPattern, stack) })),
  },
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html ("Event bus policy size: 10,240" characters)
  {
    id: 'limits/event-bus-policy',
    what: 'an EventBridge event bus policy statement',
    limit: 10_240,
    unit: 'characters',
    measure: (stack) =>
      resourcesOf(stack.template, 'AWS::Events::EventBusPolicy').map(([logicalId, r]) => ({
        logicalId,
        size: jsonSize(r.Properties?.Statement ?? r.Properties?.Policy, stack),
      })),
  },
];

/**
 * Length assumed for a value that cannot be sized (an ARN, a generated name): the longest common case, a role or
 * function ARN with a CloudFormation-generated name (64 characters) in a long region and partition (≈ 120).
 */
export const ASSUMED_UNSIZED = 120;

/** Measures every fact on every stack: over the limit from literals alone is an error; over with references sized
 *  at ASSUMED_UNSIZED each is a warning (the deploy may fail, the template cannot say). */
export function evaluateLimits(
  stacks: readonly GateStack[],
  facts: readonly LimitFact[] = LIMITS,
): { errors: GateFinding[]; warnings: GateFinding[]; measured: number } {
  const errors: GateFinding[] = [];
  const warnings: GateFinding[] = [];
  let measured = 0;
  for (const stack of stacks) {
    for (const fact of facts) {
      for (const { logicalId, size } of fact.measure(stack)) {
        measured++;
        const where = logicalId ? `${stack.stackName}/${logicalId}` : stack.stackName;
        const unsized = size.unsized ? ` + ${size.unsized} value(s) that cannot be sized` : '';
        if (size.known > fact.limit) {
          errors.push({
            rule: fact.id,
            where,
            message: `${fact.what}: ${size.known} ${fact.unit}${unsized}, over the limit of ${fact.limit}`,
          });
        } else if (size.known + size.unsized * ASSUMED_UNSIZED > fact.limit) {
          warnings.push({
            rule: fact.id,
            where,
            message:
              `${fact.what}: ${size.known} ${fact.unit}${unsized}; at ${ASSUMED_UNSIZED} each it would pass the ` +
              `limit of ${fact.limit}`,
          });
        }
      }
    }
  }
  return { errors, warnings, measured };
}

export const limits: GateCheck = {
  name: 'limits',
  async run(assembly: GateAssembly): Promise<GateCheckResult> {
    const { errors, warnings, measured } = evaluateLimits(assembly.stacks);
    return {
      check: 'limits',
      errors,
      warnings,
      acknowledged: 0,
      scope: `${LIMITS.length} limits, ${measured} values`,
    };
  },
};
