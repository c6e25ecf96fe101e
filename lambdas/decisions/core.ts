// Reads a decision's audit record; absent and expired records are both "not found".
import type { DecisionStore } from '../shared/adapters/decision-store.js';
import type { DecisionRecord } from '../shared/contracts/api.js';
import { NotFoundError } from '../shared/errors.js';

export async function getDecision(transactionId: string, ports: { decisions: DecisionStore }): Promise<DecisionRecord> {
  const record = await ports.decisions.get(transactionId);
  if (!record) throw new NotFoundError(`no decision for transaction ${transactionId}`);
  return record;
}
