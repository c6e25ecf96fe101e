// Open Inference Protocol v2 JSON: validates an infer request into a row-major Float32Array and builds responses.
import { BadRequestError } from './errors.js';

const FP32_MAX = 3.4028234663852886e38;

export interface InferExpectation {
  inputName: string;
  outputName: string;
  width: number;
  maxRows: number;
}

export interface ParsedInferRequest {
  id?: string;
  rows: number;
  width: number;
  data: Float32Array;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const describe = (v: unknown): string => {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === 'number') return String(v);
  return typeof v;
};

function toFp32(value: unknown, where: string, out: Float32Array, at: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new BadRequestError(`${where} must be a finite FP32 number, got ${describe(value)}`);
  }
  if (value > FP32_MAX || value < -FP32_MAX) {
    throw new BadRequestError(`${where} is ${value}, outside the FP32 range`);
  }
  out[at] = value;
}

/** Parses the JSON text of a v2 infer request; every rejection is a 400 that says what was expected. */
export function parseInferBody(text: string, expect: InferExpectation): ParsedInferRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`request body is not valid JSON: ${(err as Error).message}`);
  }
  return parseInferRequest(body, expect);
}

export function parseInferRequest(body: unknown, expect: InferExpectation): ParsedInferRequest {
  const { inputName, outputName, width, maxRows } = expect;
  if (!isObject(body)) throw new BadRequestError(`request body must be a JSON object, got ${describe(body)}`);
  if (body.id !== undefined && typeof body.id !== 'string') {
    throw new BadRequestError(`'id' must be a string, got ${describe(body.id)}`);
  }
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length !== 1) {
    throw new BadRequestError(
      `'inputs' must be an array with exactly one tensor named '${inputName}', got ${Array.isArray(inputs) ? `${inputs.length} tensors` : describe(inputs)}`,
    );
  }
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs))
      throw new BadRequestError(`'outputs' must be an array, got ${describe(body.outputs)}`);
    for (const o of body.outputs) {
      if (!isObject(o) || o.name !== outputName) {
        throw new BadRequestError(
          `unknown requested output ${describe(isObject(o) ? o.name : o)}; this model has one output named '${outputName}'`,
        );
      }
    }
  }
  const input: unknown = inputs[0];
  if (!isObject(input)) throw new BadRequestError(`inputs[0] must be an object, got ${describe(input)}`);
  if (input.name !== inputName) {
    throw new BadRequestError(`unknown input ${describe(input.name)}; this model takes one input named '${inputName}'`);
  }
  if (input.datatype !== 'FP32') {
    throw new BadRequestError(`input '${inputName}' must have datatype 'FP32', got ${describe(input.datatype)}`);
  }
  const shape = input.shape;
  if (
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    !shape.every((d): d is number => typeof d === 'number' && Number.isInteger(d) && d >= 0)
  ) {
    throw new BadRequestError(
      `input '${inputName}' shape must be [rows, ${width}], got ${JSON.stringify(shape) ?? 'nothing'}`,
    );
  }
  const [rows, cols] = shape as [number, number];
  if (cols !== width) {
    throw new BadRequestError(
      `input '${inputName}' must be ${width} features wide (shape [rows, ${width}]), got shape [${rows}, ${cols}]`,
    );
  }
  if (rows < 1) throw new BadRequestError(`input '${inputName}' must have at least one row, got shape [0, ${cols}]`);
  if (rows > maxRows) {
    throw new BadRequestError(
      `input '${inputName}' has ${rows} rows; at most ${maxRows} rows are accepted per request`,
    );
  }
  const data = input.data;
  if (!Array.isArray(data))
    throw new BadRequestError(`input '${inputName}' data must be an array, got ${describe(data)}`);
  const out = new Float32Array(rows * width);
  if (data.length > 0 && Array.isArray(data[0])) {
    // Nested form: one array per row.
    if (data.length !== rows) {
      throw new BadRequestError(
        `input '${inputName}' shape [${rows}, ${width}] does not match data of ${data.length} rows`,
      );
    }
    for (let r = 0; r < rows; r++) {
      const row: unknown = data[r];
      if (!Array.isArray(row) || row.length !== width) {
        throw new BadRequestError(
          `input '${inputName}' data[${r}] must be an array of ${width} numbers, got ${Array.isArray(row) ? `${row.length} values` : describe(row)}`,
        );
      }
      for (let c = 0; c < width; c++) toFp32(row[c], `input '${inputName}' data[${r}][${c}]`, out, r * width + c);
    }
  } else {
    if (data.length !== rows * width) {
      throw new BadRequestError(
        `input '${inputName}' shape [${rows}, ${width}] needs ${rows * width} values, got ${data.length}`,
      );
    }
    for (let i = 0; i < data.length; i++) toFp32(data[i], `input '${inputName}' data[${i}]`, out, i);
  }
  return body.id === undefined ? { rows, width, data: out } : { id: body.id as string, rows, width, data: out };
}

export interface InferResponseFields {
  id?: string;
  modelName: string;
  modelVersion: string;
  outputName: string;
  rows: number;
  outputWidth: number;
  values: Float32Array;
}

/** Serialises a v2 infer response; float32 values are written as the doubles they are exactly equal to. Built as a
 * string (same bytes as JSON.stringify of the response object) because it runs once per request. */
export function inferResponseJson(r: InferResponseFields): string {
  let data = '';
  const values = r.values;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    // JSON.stringify writes non-finite numbers as null; String() would write invalid JSON.
    data += i === 0 ? '' : ',';
    data += Number.isFinite(v) ? String(v) : 'null';
  }
  return (
    `{${r.id === undefined ? '' : `"id":${JSON.stringify(r.id)},`}"model_name":${JSON.stringify(r.modelName)},` +
    `"model_version":${JSON.stringify(r.modelVersion)},"outputs":[{"name":${JSON.stringify(r.outputName)},` +
    `"shape":[${r.rows},${r.outputWidth}],"datatype":"FP32","data":[${data}]}]}`
  );
}

export const errorJson = (message: string): string => JSON.stringify({ error: message });
