// merchant-risk's own label, reported through POST /v1/models/merchant-risk/labels: a merchant was (or was not)
// compromised on a UTC day. It overrides the label derived from transaction chargebacks (src/training-query.ts) for
// the merchant-day before it, whose prediction is about that day.
import * as z from 'zod';
import { Id } from '../../shared/contracts/transaction.js';
import type { EntityLabels } from '../../shared/module.js';

export const MERCHANT_LABEL_SOURCES = ['investigation', 'acquirer', 'analyst'] as const;

export const MerchantLabel = z
  .object({
    merchantId: Id(),
    /** The UTC day (YYYY-MM-DD) the merchant was, or was not, compromised. */
    date: z.iso.date(),
    compromised: z.boolean(),
    /** When the reporter learned it (ISO 8601 with zone); the latest report of a merchant-day holds. */
    reportedAt: z.iso.datetime({ offset: true }),
    source: z.enum(MERCHANT_LABEL_SOURCES).default('investigation'),
  })
  .strict();
export type MerchantLabel = z.infer<typeof MerchantLabel>;

export const merchantLabels: EntityLabels<MerchantLabel> = {
  schema: MerchantLabel,
  entity: 'merchant',
  outcome: 'compromised',
  toEntityLabel: (l) => ({
    entityId: l.merchantId,
    day: l.date,
    outcome: l.compromised,
    reportedAt: l.reportedAt,
    source: l.source,
  }),
};
