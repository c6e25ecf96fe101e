// Reads a decision's audit record; absent and expired records are both "not found".
import type { DecisionReader } from '../shared/adapters/decision-reader.js';
import type { DecisionRecord } from '../shared/contracts/api.js';
import { NotFoundError } from '../shared/errors.js';

export async function getDecision(
  transactionId: string,
  ports: { decisions: DecisionReader },
): Promise<DecisionRecord> {
  const record = await ports.decisions.get(transactionId);
  if (!record) throw new NotFoundError(`no decision for transaction ${transactionId}`);
  return record;
}
