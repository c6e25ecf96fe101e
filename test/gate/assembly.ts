// The deploy gate's view of a cloud assembly: every stage's stacks with their templates, read from `cdk.out`.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON walked by shape.
export type Json = any;

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly DependsOn?: string | string[];
  readonly Metadata?: Record<string, Json>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Condition?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { Type: string; Default?: Json; Description?: string }>;
  readonly Outputs?: Record<string, { Value: Json; Export?: { Name: Json } }>;
  readonly Mappings?: Record<string, Json>;
  readonly Conditions?: Record<string, Json>;
}

export interface GateStack {
  /** The stage's display name, e.g. `Dev`. */
  readonly stage: string;
  /** CloudFormation stack name, e.g. `Dev-Models`. */
  readonly stackName: string;
  /** Construct path of the stack, e.g. `Dev/Models`. */
  readonly displayName: string;
  readonly templateFile: string;
  readonly template: CfnTemplate;
  readonly region: string;
  readonly account: string;
}

export interface GateStage {
  readonly name: string;
  readonly directory: string;
  readonly stacks: readonly GateStack[];
}

export interface GateAssembly {
  /** The cloud assembly directory (`cdk.out`). */
  readonly directory: string;
  readonly stages: readonly GateStage[];
  /** Every stack of every stage. */
  readonly stacks: readonly GateStack[];
}

interface ManifestArtifact {
  readonly type: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly properties?: Record<string, Json>;
}

function readManifest(directory: string): Record<string, ManifestArtifact> {
  const file = path.join(directory, 'manifest.json');
  if (!existsSync(file)) throw new Error(`no cloud assembly at ${directory}: run \`npm run synth\` first`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { artifacts?: Record<string, ManifestArtifact> }).artifacts ?? {};
}

function stacksOf(stage: string, directory: string): GateStack[] {
  const stacks: GateStack[] = [];
  for (const artifact of Object.values(readManifest(directory))) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const templateFile = path.join(directory, String(artifact.properties?.templateFile));
    const [, account = '', region = ''] = /^aws:\/\/([^/]+)\/(.+)$/.exec(artifact.environment ?? '') ?? [];
    stacks.push({
      stage,
      stackName: String(artifact.properties?.stackName ?? artifact.displayName),
      displayName: String(artifact.displayName),
      templateFile,
      template: JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate,
      region,
      account,
    });
  }
  return stacks;
}

/** Reads every stage (nested assembly) of the cloud assembly at `directory`, or only the named ones. */
export function loadAssembly(directory: string, only?: readonly string[]): GateAssembly {
  const stages: GateStage[] = [];
  for (const artifact of Object.values(readManifest(directory))) {
    if (artifact.type !== 'cdk:cloud-assembly') continue;
    const name = String(artifact.properties?.displayName);
    if (only && !only.includes(name)) continue;
    const stageDir = path.join(directory, String(artifact.properties?.directoryName));
    stages.push({ name, directory: stageDir, stacks: stacksOf(name, stageDir) });
  }
  if (stages.length === 0)
    throw new Error(`the cloud assembly at ${directory} holds no stage${only ? ` named ${only.join(', ')}` : ''}`);
  return { directory, stages, stacks: stages.flatMap((s) => s.stacks) };
}

/** The constructs path CDK recorded for a resource (`aws:cdk:path` metadata), else its logical id. */
export function constructPathOf(stack: GateStack, logicalId: string): string {
  const recorded = stack.template.Resources[logicalId]?.Metadata?.['aws:cdk:path'];
  return typeof recorded === 'string' ? recorded : `${stack.displayName}/${logicalId}`;
}
