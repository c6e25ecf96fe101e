// Alerts use case: turn a FraudSuspected event into one readable, filterable notification.
import type { FraudSuspectedData } from '../shared/contracts/events.js';

export type Severity = 'high' | 'medium';

export interface Alert {
  /** SNS subjects: ASCII, at most 100 characters, shown as the e-mail subject. */
  readonly subject: string;
  /** JSON body for people and machines. */
  readonly message: string;
  /** String message attributes that subscription filter policies match on. */
  readonly attributes: { readonly decision: string; readonly severity: Severity };
}

/** Port: where alerts go (SNS). */
export interface AlertPublisher {
  publish(alert: Alert): Promise<void>;
}

/** How many reasons and attributions an alert carries: enough to triage, short enough to read. */
export const TOP_REASONS = 3;

export const severityOf = (decision: FraudSuspectedData['decision']): Severity =>
  decision === 'decline' ? 'high' : 'medium';

const ascii = (s: string): string => s.replace(/[^\x20-\x7e]/g, '?');

export function buildAlert(data: FraudSuspectedData): Alert {
  const severity = severityOf(data.decision);
  const subject = ascii(
    `[AIMS ${severity}] ${data.decision}: transaction ${data.transactionId} (score ${data.score.toFixed(2)})`,
  ).slice(0, 100);
  // Strongest pushes towards fraud first; the explanation may hold negative contributions too.
  const topFeatures = [...data.explanation]
    .filter((a) => a.contribution > 0)
    .sort((a, b) => b.contribution - a.contribution)
    .slice(0, TOP_REASONS);
  const message = JSON.stringify({
    transactionId: data.transactionId,
    customerId: data.customerId,
    merchantId: data.merchantId,
    amount: data.amount,
    currency: data.currency,
    decision: data.decision,
    severity,
    score: data.score,
    degraded: data.degraded,
    model: data.model,
    decidedAt: data.decidedAt,
    reasons: data.reasons.slice(0, TOP_REASONS),
    topFeatures,
  });
  return { subject, message, attributes: { decision: data.decision, severity } };
}

export async function raiseAlert(data: FraudSuspectedData, publisher: AlertPublisher): Promise<Alert> {
  const alert = buildAlert(data);
  await publisher.publish(alert);
  return alert;
}
