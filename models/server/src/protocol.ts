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

/** The 400 for a value `isFp32` rejected; `where` is only called here, to word it. */
function fp32Error(value: unknown, where: () => string): BadRequestError {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return new BadRequestError(`${where()} must be a finite FP32 number, got ${describe(value)}`);
  }
  return new BadRequestError(`${where()} is ${value}, outside the FP32 range`);
}

/** The per-value check of the hot loops below, written so a valid value costs two comparisons and no allocation. */
const isFp32 = (value: unknown): value is number =>
  typeof value === 'number' && value <= FP32_MAX && value >= -FP32_MAX;

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
      const base = r * width;
      for (let c = 0; c < width; c++) {
        const value: unknown = row[c];
        if (!isFp32(value)) throw fp32Error(value, () => `input '${inputName}' data[${r}][${c}]`);
        out[base + c] = value;
      }
    }
  } else {
    if (data.length !== rows * width) {
      throw new BadRequestError(
        `input '${inputName}' shape [${rows}, ${width}] needs ${rows * width} values, got ${data.length}`,
      );
    }
    for (let i = 0; i < data.length; i++) {
      const value: unknown = data[i];
      if (!isFp32(value)) throw fp32Error(value, () => `input '${inputName}' data[${i}]`);
      out[i] = value;
    }
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

/** The part of a v2 infer response that depends only on the model: from `"model_name"` to the open shape bracket.
 * The server computes it once per loaded model. */
export function inferResponseHead(r: { modelName: string; modelVersion: string; outputName: string }): string {
  return (
    `"model_name":${JSON.stringify(r.modelName)},"model_version":${JSON.stringify(r.modelVersion)},` +
    `"outputs":[{"name":${JSON.stringify(r.outputName)},"shape":[`
  );
}

/** Serialises a v2 infer response from its precomputed `head` (see `inferResponseHead`); float32 values are written
 * as the doubles they are exactly equal to, giving the same bytes as JSON.stringify of the response object. */
export function inferResponseWithHead(
  head: string,
  id: string | undefined,
  rows: number,
  outputWidth: number,
  values: Float32Array,
): string {
  let data = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    // JSON.stringify writes non-finite numbers as null; String() would write invalid JSON.
    if (i > 0) data += ',';
    data += Number.isFinite(v) ? String(v) : 'null';
  }
  return `{${id === undefined ? '' : `"id":${JSON.stringify(id)},`}${head}${rows},${outputWidth}],"datatype":"FP32","data":[${data}]}]}`;
}

/** Serialises a v2 infer response (same bytes as JSON.stringify of the response object). */
export function inferResponseJson(r: InferResponseFields): string {
  return inferResponseWithHead(inferResponseHead(r), r.id, r.rows, r.outputWidth, r.values);
}

export const errorJson = (message: string): string => JSON.stringify({ error: message });
