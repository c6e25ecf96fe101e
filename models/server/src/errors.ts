// Named errors of the model server; `HttpError` carries the status the one response mapper sends.
export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** The request is malformed: wrong JSON, input name, shape, datatype or values. */
export class BadRequestError extends HttpError {
  override readonly name = 'BadRequestError';
  constructor(message: string) {
    super(400, message);
  }
}

/** A model artifact cannot be served: mismatched features, wrong ONNX signature, unreadable files. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  constructor(
    readonly modelDir: string,
    message: string,
  ) {
    super(`cannot load model from ${modelDir}: ${message}`);
  }
}
