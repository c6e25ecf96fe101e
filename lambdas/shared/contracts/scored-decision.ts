// What one scored decision is, wherever it travels: the TransactionScored event's detail and a line of the console's
// decisions lists (which add the review state). One definition, so the two cannot drift apart.
import * as z from 'zod';
import { Decision, ModelRef } from '../../../models/shared/contracts/decision.js';
import { Transaction } from '../../../models/shared/contracts/transaction.js';

export const ScoredDecision = z
  .object({
    transactionId: Transaction.shape.transactionId,
    customerId: Transaction.shape.customerId,
    merchantId: Transaction.shape.merchantId,
    amount: Transaction.shape.amount,
    currency: Transaction.shape.currency,
    decision: Decision,
    score: z.number().min(0).max(1),
    degraded: z.boolean(),
    model: ModelRef,
    decidedAt: z.iso.datetime({ offset: true }),
  })
  .strict();
export type ScoredDecision = z.infer<typeof ScoredDecision>;
