// Local SageMaker model registry: the template's model package groups, versions with metrics, lineage and approval
// status, kept in <dataDir>/registry/registry.json. Answers the calls the state machine and the models API make.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsServiceError, requireString } from '../services/http.js';
import type { LocalTemplate } from '../types.js';

export interface ModelPackage {
  readonly ModelPackageGroupName: string;
  readonly ModelPackageVersion: number;
  readonly ModelPackageArn: string;
  readonly ModelPackageDescription?: string;
  /** Epoch seconds, as SageMaker's JSON protocol sends timestamps. */
  readonly CreationTime: number;
  LastModifiedTime: number;
  ModelApprovalStatus: string;
  ApprovalDescription?: string;
  readonly ModelPackageStatus: 'Completed';
  readonly InferenceSpecification?: unknown;
  readonly ModelMetrics?: unknown;
  readonly DriftCheckBaselines?: unknown;
  CustomerMetadataProperties?: Record<string, string>;
}

interface RegistryFile {
  groups: Record<string, { arn: string; description?: string; createdAt: number }>;
  packages: ModelPackage[];
}

/** The template's model package group names (Ref of a group is its ARN). */
export function groupNames(template: LocalTemplate): string[] {
  return template
    .ofType('AWS::SageMaker::ModelPackageGroup')
    .map((g) =>
      typeof g.properties.ModelPackageGroupName === 'string'
        ? g.properties.ModelPackageGroupName
        : (g.ref.split('/').pop() ?? g.ref),
    );
}

const APPROVAL = new Set(['Approved', 'Rejected', 'PendingManualApproval']);

export class LocalModelRegistry {
  private readonly file: string;
  private readonly data: RegistryFile = { groups: {}, packages: [] };

  constructor(
    dataDir: string,
    private readonly template: LocalTemplate,
  ) {
    const dir = join(dataDir, 'registry');
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'registry.json');
    if (existsSync(this.file)) Object.assign(this.data, JSON.parse(readFileSync(this.file, 'utf8')) as RegistryFile);
    for (const name of groupNames(template)) {
      if (this.data.groups[name]) continue;
      const g = template
        .ofType('AWS::SageMaker::ModelPackageGroup')
        .find((r) => r.properties.ModelPackageGroupName === name || r.ref.endsWith(`/${name}`));
      const description = g?.properties.ModelPackageGroupDescription;
      this.data.groups[name] = {
        arn: g?.attributes.ModelPackageGroupArn ?? this.groupArn(name),
        ...(typeof description === 'string' ? { description } : {}),
        createdAt: Date.now() / 1000,
      };
    }
    this.save();
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 2));
    renameSync(tmp, this.file);
  }

  private groupArn(name: string): string {
    return `arn:aws:sagemaker:${this.template.region}:${this.template.account}:model-package-group/${name}`;
  }

  private group(name: string) {
    const g = this.data.groups[name];
    if (!g) throw new AwsServiceError('ValidationException', `Model Package Group ${name} does not exist.`);
    return g;
  }

  /** Versions of a group, newest first. */
  packages(group: string): ModelPackage[] {
    return this.data.packages
      .filter((p) => p.ModelPackageGroupName === group)
      .sort((a, b) => b.ModelPackageVersion - a.ModelPackageVersion);
  }

  /** By ARN, or `<group>/<version>` (SageMaker accepts both as ModelPackageName). */
  find(nameOrArn: string): ModelPackage {
    const found = this.data.packages.find(
      (p) => p.ModelPackageArn === nameOrArn || `${p.ModelPackageGroupName}/${p.ModelPackageVersion}` === nameOrArn,
    );
    if (!found) throw new AwsServiceError('ValidationException', `ModelPackage ${nameOrArn} does not exist.`);
    return found;
  }

  create(input: Record<string, unknown>): ModelPackage {
    const group = requireString(input, 'ModelPackageGroupName');
    this.group(group);
    const status = typeof input.ModelApprovalStatus === 'string' ? input.ModelApprovalStatus : 'PendingManualApproval';
    if (!APPROVAL.has(status))
      throw new AwsServiceError('ValidationException', `invalid ModelApprovalStatus ${status}`);
    const version = this.packages(group).reduce((max, p) => Math.max(max, p.ModelPackageVersion), 0) + 1;
    const now = Date.now() / 1000;
    const pkg: ModelPackage = {
      ModelPackageGroupName: group,
      ModelPackageVersion: version,
      ModelPackageArn: `arn:aws:sagemaker:${this.template.region}:${this.template.account}:model-package/${group}/${version}`,
      ...(typeof input.ModelPackageDescription === 'string'
        ? { ModelPackageDescription: input.ModelPackageDescription }
        : {}),
      CreationTime: now,
      LastModifiedTime: now,
      ModelApprovalStatus: status,
      ModelPackageStatus: 'Completed',
      ...(input.InferenceSpecification ? { InferenceSpecification: input.InferenceSpecification } : {}),
      ...(input.ModelMetrics ? { ModelMetrics: input.ModelMetrics } : {}),
      ...(input.DriftCheckBaselines ? { DriftCheckBaselines: input.DriftCheckBaselines } : {}),
      ...(input.CustomerMetadataProperties
        ? { CustomerMetadataProperties: input.CustomerMetadataProperties as Record<string, string> }
        : {}),
    };
    this.data.packages.push(pkg);
    this.save();
    return pkg;
  }

  update(input: Record<string, unknown>): ModelPackage {
    const pkg = this.find(requireString(input, 'ModelPackageArn'));
    if (typeof input.ModelApprovalStatus === 'string') {
      if (!APPROVAL.has(input.ModelApprovalStatus)) {
        throw new AwsServiceError('ValidationException', `invalid ModelApprovalStatus ${input.ModelApprovalStatus}`);
      }
      pkg.ModelApprovalStatus = input.ModelApprovalStatus;
    }
    if (typeof input.ApprovalDescription === 'string') pkg.ApprovalDescription = input.ApprovalDescription;
    if (input.CustomerMetadataProperties && typeof input.CustomerMetadataProperties === 'object') {
      pkg.CustomerMetadataProperties = {
        ...pkg.CustomerMetadataProperties,
        ...(input.CustomerMetadataProperties as Record<string, string>),
      };
    }
    pkg.LastModifiedTime = Date.now() / 1000;
    this.save();
    return pkg;
  }

  /** The SageMaker JSON 1.1 operations on the registry. */
  operations() {
    return {
      CreateModelPackage: (input: Record<string, unknown>) => ({ ModelPackageArn: this.create(input).ModelPackageArn }),
      UpdateModelPackage: (input: Record<string, unknown>) => ({ ModelPackageArn: this.update(input).ModelPackageArn }),
      DescribeModelPackage: (input: Record<string, unknown>) => {
        const pkg = this.find(requireString(input, 'ModelPackageName'));
        return { ...pkg, ModelPackageName: pkg.ModelPackageGroupName };
      },
      ListModelPackages: (input: Record<string, unknown>) => {
        const groupName = requireString(input, 'ModelPackageGroupName');
        this.group(groupName);
        let list = this.packages(groupName);
        if (typeof input.ModelApprovalStatus === 'string')
          list = list.filter((p) => p.ModelApprovalStatus === input.ModelApprovalStatus);
        const ascending = input.SortOrder === 'Ascending';
        list.sort(
          (a, b) =>
            (ascending ? 1 : -1) * (a.CreationTime - b.CreationTime || a.ModelPackageVersion - b.ModelPackageVersion),
        );
        const start = typeof input.NextToken === 'string' ? Number(input.NextToken) : 0;
        const max = typeof input.MaxResults === 'number' ? input.MaxResults : 100;
        const page = list.slice(start, start + max);
        return {
          ModelPackageSummaryList: page.map((p) => ({
            ModelPackageGroupName: p.ModelPackageGroupName,
            ModelPackageVersion: p.ModelPackageVersion,
            ModelPackageArn: p.ModelPackageArn,
            ...(p.ModelPackageDescription ? { ModelPackageDescription: p.ModelPackageDescription } : {}),
            CreationTime: p.CreationTime,
            ModelPackageStatus: p.ModelPackageStatus,
            ModelApprovalStatus: p.ModelApprovalStatus,
          })),
          ...(start + max < list.length ? { NextToken: String(start + max) } : {}),
        };
      },
      DescribeModelPackageGroup: (input: Record<string, unknown>) => {
        const name = requireString(input, 'ModelPackageGroupName');
        const g = this.group(name);
        return {
          ModelPackageGroupName: name,
          ModelPackageGroupArn: g.arn,
          ...(g.description ? { ModelPackageGroupDescription: g.description } : {}),
          CreationTime: g.createdAt,
          ModelPackageGroupStatus: 'Completed',
        };
      },
    };
  }
}
