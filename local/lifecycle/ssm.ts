// Local SSM Parameter Store: the template's String parameters, created once with their Value (as CloudFormation
// does), then changed only by PutParameter; kept in <dataDir>/ssm/parameters.json so a restart loses nothing.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsServiceError, requireString } from '../services/http.js';
import type { LocalTemplate } from '../types.js';

export interface StoredParameter {
  readonly name: string;
  readonly type: string;
  readonly value: string;
  readonly version: number;
  readonly lastModified: string;
}

export class LocalParameterStore {
  private readonly file: string;
  private readonly parameters = new Map<string, StoredParameter>();

  constructor(
    dataDir: string,
    private readonly template: LocalTemplate,
  ) {
    const dir = join(dataDir, 'ssm');
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'parameters.json');
    if (existsSync(this.file)) {
      for (const p of JSON.parse(readFileSync(this.file, 'utf8')) as StoredParameter[]) this.parameters.set(p.name, p);
    }
    let created = false;
    for (const r of template.ofType('AWS::SSM::Parameter')) {
      const name = r.ref;
      if (this.parameters.has(name)) continue;
      const value = r.properties.Value;
      if (typeof value !== 'string') continue;
      this.parameters.set(name, {
        name,
        type: typeof r.properties.Type === 'string' ? r.properties.Type : 'String',
        value,
        version: 1,
        lastModified: new Date().toISOString(),
      });
      created = true;
    }
    if (created) this.save();
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.parameters.values()], null, 2));
    renameSync(tmp, this.file);
  }

  get(name: string): StoredParameter | undefined {
    return this.parameters.get(name);
  }

  /** The value, or a ParameterNotFound error as SSM answers it. */
  value(name: string): string {
    const p = this.parameters.get(name);
    if (!p) throw new AwsServiceError('ParameterNotFound', `Parameter ${name} not found.`);
    return p.value;
  }

  put(name: string, value: string, options: { overwrite?: boolean; type?: string } = {}): StoredParameter {
    const existing = this.parameters.get(name);
    if (existing && !options.overwrite) {
      throw new AwsServiceError(
        'ParameterAlreadyExists',
        `The parameter ${name} already exists. To overwrite this value, set the overwrite option in the request to true.`,
      );
    }
    const next: StoredParameter = {
      name,
      type: options.type ?? existing?.type ?? 'String',
      value,
      version: (existing?.version ?? 0) + 1,
      lastModified: new Date().toISOString(),
    };
    this.parameters.set(name, next);
    this.save();
    return next;
  }

  private arnOf(name: string): string {
    return `arn:aws:ssm:${this.template.region}:${this.template.account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  }

  /** The AmazonSSM JSON 1.1 operations the models API and the state machine call. */
  operations() {
    return {
      GetParameter: (input: Record<string, unknown>) => {
        const name = requireString(input, 'Name');
        const p = this.parameters.get(name);
        if (!p) throw new AwsServiceError('ParameterNotFound', `Parameter ${name} not found.`);
        return {
          Parameter: {
            Name: p.name,
            Type: p.type,
            Value: p.value,
            Version: p.version,
            LastModifiedDate: Date.parse(p.lastModified) / 1000,
            ARN: this.arnOf(p.name),
            DataType: 'text',
          },
        };
      },
      PutParameter: (input: Record<string, unknown>) => {
        const name = requireString(input, 'Name');
        const value = input.Value;
        if (typeof value !== 'string' || value === '') {
          throw new AwsServiceError('ValidationException', 'Value is required and must be a non-empty string');
        }
        const p = this.put(name, value, {
          overwrite: input.Overwrite === true,
          ...(typeof input.Type === 'string' ? { type: input.Type } : {}),
        });
        return { Version: p.version, Tier: 'Standard' };
      },
    };
  }
}
