// Environment parsing: one zod schema per handler, read once at cold start, with an error naming every bad variable.
import * as z from 'zod';

/** Variables every handler has (the ServiceFunction sets the Powertools ones, Lambda sets AWS_REGION). */
export const CommonEnv = z.object({
  POWERTOOLS_SERVICE_NAME: z.string().min(1),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1),
  AWS_REGION: z.string().min(1),
});

export const envString = () => z.string().trim().min(1);
export const envInt = (min = 1) => z.coerce.number().int().min(min);
export const envNumber = () => z.coerce.number().refine(Number.isFinite, 'expected a finite number');
/** A JSON object of finite numbers, e.g. a model policy's thresholds (`{"review":0.5,"decline":0.9}`). */
export const envNumberRecord = () =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected JSON' });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string(), z.number().refine(Number.isFinite, 'expected a finite number')));

/** Thrown at cold start when the environment is incomplete; the message names every offending variable. */
export class EnvError extends Error {
  override readonly name = 'EnvError';
}

/** Parses `env` (default `process.env`) with `schema`; throws EnvError listing each missing or invalid variable. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>> = process.env,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.map(String).join('.');
    return env[name] === undefined ? `${name} is not set` : `${name} is invalid (${issue.message})`;
  });
  throw new EnvError(`environment is not valid: ${problems.join('; ')}`);
}
