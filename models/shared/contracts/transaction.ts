// The card transaction: the one record every part of AIMS agrees on (API, stream, simulator, features).
import * as z from 'zod';

export const CHANNELS = ['card_present', 'online', 'contactless'] as const;

export const MERCHANT_CATEGORIES = [
  'grocery',
  'restaurant',
  'fuel',
  'retail',
  'electronics',
  'travel',
  'entertainment',
  'digital_goods',
  'gambling',
  'money_transfer',
] as const;

/** An identifier as the API and the tables take it: 1–64 letters, digits, `_` or `-`. */
export const Id = () =>
  z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/);

export const Transaction = z
  .object({
    transactionId: Id(),
    customerId: Id(),
    merchantId: Id(),
    merchantCategory: z.enum(MERCHANT_CATEGORIES),
    /** Amount in the currency's major unit (e.g. 12.34 EUR). At least 0.001 (the smallest minor unit of any ISO 4217
     *  currency): smaller values are not money, and DynamoDB cannot store numbers below 1e-130. */
    amount: z.number().min(0.001).max(1_000_000),
    currency: z.string().regex(/^[A-Z]{3}$/),
    /** ISO 3166-1 alpha-2 country where the transaction happens. */
    country: z.string().regex(/^[A-Z]{2}$/),
    channel: z.enum(CHANNELS),
    deviceId: Id().optional(),
    /** When the transaction happened (ISO 8601 with zone). */
    timestamp: z.iso.datetime({ offset: true }),
  })
  .strict();

export type Transaction = z.infer<typeof Transaction>;

/** A chargeback or confirmation that arrives after the decision. */
export const Label = z
  .object({
    transactionId: Id(),
    isFraud: z.boolean(),
    /** When the label became known (ISO 8601 with zone). */
    reportedAt: z.iso.datetime({ offset: true }),
    source: z.enum(['chargeback', 'analyst', 'customer']).default('chargeback'),
  })
  .strict();

export type Label = z.infer<typeof Label>;
