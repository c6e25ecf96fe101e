// The ShadowCompared event: published by the shadow comparison on the app bus, registered in the schema registry.
// It lives beside its only producer until the shared event contract (lambdas/shared/contracts/events.ts) takes it in.
import { z } from 'zod';

export const SHADOW_COMPARED = 'ShadowCompared';
export const SHADOW_SOURCE = 'aims.shadow';
/** The detail version (the shared contract's EVENT_VERSION rule: a breaking change bumps it). */
export const SHADOW_EVENT_VERSION = 1;

export const ShadowComparedData = z
  .object({
    model: z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/),
    /** `schedule`: the routine comparison; `pipeline`: the retraining state machine judging a candidate. */
    trigger: z.enum(['schedule', 'pipeline']),
    windowStart: z.iso.datetime({ offset: true }),
    windowEnd: z.iso.datetime({ offset: true }),
    pairs: z.number().int().min(0),
    unpaired: z.object({ champion: z.number().int().min(0), shadow: z.number().int().min(0) }).strict(),
    meanAbsDiff: z.number().min(0),
    p99AbsDiff: z.number().min(0),
    agreement: z.number().min(0).max(1),
    scorePsi: z.number().min(0),
    passed: z.boolean(),
    judged: z.boolean(),
    reasons: z.array(z.string()),
  })
  .strict();
export type ShadowComparedData = z.infer<typeof ShadowComparedData>;

export const ShadowComparedDetail = z
  .object({ version: z.literal(SHADOW_EVENT_VERSION), data: ShadowComparedData })
  .strict();

/** JSON Schema draft-04 of the whole event, as the other events are registered (source, detail-type, detail). */
export function shadowComparedJsonSchema(): Record<string, unknown> {
  const { $schema, ...detail } = z.toJSONSchema(ShadowComparedDetail, { target: 'draft-04', io: 'input' });
  return {
    $schema,
    title: `${SHADOW_COMPARED}Event`,
    type: 'object',
    required: ['source', 'detail-type', 'detail'],
    properties: {
      source: { type: 'string' },
      'detail-type': { type: 'string', enum: [SHADOW_COMPARED] },
      detail,
    },
  };
}
