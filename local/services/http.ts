// Small HTTP plumbing shared by the local AWS service servers (loopback only, AWS JSON error shapes).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error the server turns into AWS's JSON error shape (`__type` + `message`). */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'AwsServiceError';
  }
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new AwsServiceError('RequestEntityTooLarge', 'request body too large', 413);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, contentType: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A handler for one AWS JSON protocol service: `X-Amz-Target: <prefix>.<Operation>` → operation(input). */
export type JsonOperations = Record<string, (input: Record<string, unknown>) => unknown | Promise<unknown>>;

export function awsJsonHandler(
  targetPrefix: string,
  contentType: string,
  operations: JsonOperations,
  errorTypePrefix = '',
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (!target.startsWith(`${targetPrefix}.`)) {
        throw new AwsServiceError('UnknownOperationException', `expected X-Amz-Target ${targetPrefix}.<Operation>`);
      }
      const name = target.slice(targetPrefix.length + 1);
      const operation = operations[name];
      if (!operation) throw new AwsServiceError('UnknownOperationException', `${name} is not supported locally`);
      const text = await readBody(req);
      const input: unknown = text.trim() === '' ? {} : JSON.parse(text);
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new AwsServiceError('SerializationException', 'request body must be a JSON object');
      }
      const output = await operation(input as Record<string, unknown>);
      sendJson(res, 200, output ?? {}, contentType);
    } catch (error) {
      const known = error instanceof AwsServiceError ? error : undefined;
      const parseError = error instanceof SyntaxError;
      const code = known?.code ?? (parseError ? 'SerializationException' : 'InternalFailure');
      const message = error instanceof Error ? error.message : String(error);
      sendJson(
        res,
        known?.status ?? (parseError ? 400 : 500),
        { __type: `${errorTypePrefix}${code}`, message },
        contentType,
      );
    }
  };
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (port 0 = ephemeral) and tracks sockets so close() never hangs on keep-alive clients. */
export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  port = 0,
): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error instanceof Error ? error.message : String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${actual}`, close: () => closeServer(server) };
}

export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function requireString(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  if (typeof value !== 'string' || value === '') {
    throw new AwsServiceError('ValidationException', `${key} is required and must be a non-empty string`);
  }
  return value;
}
