// API Gateway's request validation: bodies against the OpenAPI 3.0 schemas with JSON Schema draft-04 semantics.
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { OpenApiBody, OperationSpec } from './model.js';

// ajv-draft-04 and ajv-formats are CommonJS; createRequire gives their constructors without interop guesswork.
const require = createRequire(import.meta.url);
const AjvDraft04 = require('ajv-draft-04') as typeof import('ajv-draft-04').default;
const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;

const ROOT_ID = 'openapi-body';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** OpenAPI 3.0 `nullable: true` is not JSON Schema: turn it into a `null` type (and enum member) draft-04 knows. */
export function toDraft04(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toDraft04);
  if (!isRecord(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'nullable' || k === 'example' || k === 'discriminator' || k === 'xml' || k === 'externalDocs') continue;
    out[k] = k === 'enum' || k === 'required' ? v : toDraft04(v);
  }
  if (schema.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}

export interface BodyValidationResult {
  readonly ok: boolean;
  /** API Gateway's `$context.error.validationErrorString`: `[problem, problem…]`. */
  readonly errorString: string;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath ? `instance ${e.instancePath}` : 'instance';
  switch (e.keyword) {
    case 'required':
      return `object has missing required properties (["${String(e.params.missingProperty)}"])`;
    case 'additionalProperties':
      return `object instance has properties which are not allowed by the schema: ["${String(e.params.additionalProperty)}"]`;
    case 'type':
      return `${at} type does not match any allowed primitive type (allowed: ${JSON.stringify(e.params.type)})`;
    case 'enum':
      return `${at} value not found in enum (possible values: ${JSON.stringify(e.params.allowedValues)})`;
    default:
      return `${at} ${e.message ?? `fails ${e.keyword}`}`;
  }
}

/** Compiles each operation's body schemas once; `$ref`s resolve against the body's `components.schemas`. */
export class RequestValidator {
  private readonly ajv: InstanceType<typeof AjvDraft04>;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(body: OpenApiBody) {
    // strict off: OpenAPI documents carry keywords (x-*, components) that are not JSON Schema.
    this.ajv = new AjvDraft04({ allErrors: true, strict: false, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ id: ROOT_ID, components: { schemas: toDraft04(body.components?.schemas ?? {}) } });
  }

  private validatorFor(op: OperationSpec, mediaType: string): ValidateFunction | undefined {
    const key = `${op.method} ${op.resourcePath} ${mediaType}`;
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const schema = op.bodySchemas[mediaType];
    if (schema === undefined) return undefined;
    const rebased = JSON.parse(
      JSON.stringify(toDraft04(schema)).replaceAll('"#/components/', `"${ROOT_ID}#/components/`),
    ) as Record<string, unknown>;
    const fn = this.ajv.compile(rebased);
    this.compiled.set(key, fn);
    return fn;
  }

  /** The media types the operation has a model for. */
  hasModel(op: OperationSpec, mediaType: string): boolean {
    return op.bodySchemas[mediaType] !== undefined;
  }

  validateBody(op: OperationSpec, mediaType: string, rawBody: string): BodyValidationResult {
    const validate = this.validatorFor(op, mediaType);
    if (!validate) return { ok: true, errorString: '' };
    let value: unknown;
    if (rawBody.trim() === '') {
      if (!op.bodyRequired) return { ok: true, errorString: '' };
      return { ok: false, errorString: '[Request body is required]' };
    }
    try {
      value = JSON.parse(rawBody);
    } catch (error) {
      return { ok: false, errorString: `[Invalid JSON: ${(error as Error).message}]` };
    }
    if (validate(value)) return { ok: true, errorString: '' };
    return { ok: false, errorString: `[${(validate.errors ?? []).map(describe).join(', ')}]` };
  }
}
