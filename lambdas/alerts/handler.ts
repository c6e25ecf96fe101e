// Alerts handler: FraudSuspected (EventBridge target) → SNS. Malformed events throw so retries and the rule's DLQ see them.
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { snsClient } from '../shared/aws.js';
import { DETAIL_TYPES, parseEventDetail } from '../shared/contracts/events.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { type AlertPublisher, raiseAlert } from './core.js';
import { SnsAlertPublisher } from './sns-alert-publisher.js';

export const AlertsEnv = CommonEnv.extend({ ALERTS_TOPIC_ARN: envString() });

export interface AlertsHandlerDeps {
  readonly powertools: Powertools;
  readonly publisher: AlertPublisher;
}

export function createHandler(deps: AlertsHandlerDeps) {
  const base = async (event: EventBridgeEvent<string, unknown>): Promise<void> => {
    if (event['detail-type'] !== DETAIL_TYPES.FraudSuspected) {
      throw new Error(`expected a ${DETAIL_TYPES.FraudSuspected} event, got '${event['detail-type']}'`);
    }
    const data = parseEventDetail(DETAIL_TYPES.FraudSuspected, event.detail);
    const alert = await raiseAlert(data, deps.publisher);
    deps.powertools.logger.info('alert sent', { transactionId: data.transactionId, ...alert.attributes });
    deps.powertools.metrics.addMetric(`Alerts_${alert.attributes.severity}`, 'Count', 1);
  };
  let handler = middy<EventBridgeEvent<string, unknown>, void, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}

// Cold start: environment and clients once per execution environment.
const env = parseEnv(AlertsEnv);
export const handler = createHandler({
  powertools: createPowertools(),
  publisher: new SnsAlertPublisher(snsClient(), env.ALERTS_TOPIC_ARN),
});
