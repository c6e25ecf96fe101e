// Structured JSON logging for the model server: one line per event, machine-readable, no per-request noise.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;
export type Logger = (level: LogLevel, event: string, fields?: LogFields) => void;

/** Writes `{"time","level","event",...fields}` as one JSON line to stdout (errors included, so one stream orders them). */
export const jsonLogger: Logger = (level, event, fields = {}) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
};

export const silentLogger: Logger = () => {};

export const errorFields = (err: unknown): LogFields =>
  err instanceof Error ? { error: err.message, errorName: err.name } : { error: String(err) };
