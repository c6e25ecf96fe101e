// Alerts handler: FraudSuspected (EventBridge target) → SNS. Malformed events throw so retries and the rule's DLQ see them.
// EventBridge delivers at least once and retries failed invocations, so the alert for one transaction is sent at most
// once: Powertools idempotency keyed on the transaction id, in the idempotency table.
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { dynamoClient, snsClient } from '../shared/aws.js';
import { DETAIL_TYPES, type FraudSuspectedData, parseEventDetail } from '../shared/contracts/events.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { type AlertPublisher, raiseAlert } from './core.js';
import { SnsAlertPublisher } from './sns-alert-publisher.js';

export const AlertsEnv = CommonEnv.extend({ ALERTS_TOPIC_ARN: envString(), IDEMPOTENCY_TABLE: envString() });

/** How long a sent alert is remembered: longer than EventBridge's retry window (24 h) and an archive replay's day. */
export const ALERT_MEMORY_SECONDS = 48 * 3600;

export interface AlertsHandlerDeps {
  readonly powertools: Powertools;
  readonly publisher: AlertPublisher;
  /** Where sent alerts are remembered (DynamoDB in Lambda). */
  readonly idempotencyStore: BasePersistenceLayer;
}

export function createHandler(deps: AlertsHandlerDeps) {
  const idempotency = new IdempotencyConfig({
    eventKeyJmesPath: 'transactionId',
    expiresAfterSeconds: ALERT_MEMORY_SECONDS,
    throwOnNoIdempotencyKey: true,
  });
  const alertOnce = makeIdempotent(
    async (data: FraudSuspectedData) => {
      const alert = await raiseAlert(data, deps.publisher);
      deps.powertools.logger.info('alert sent', { transactionId: data.transactionId, ...alert.attributes });
      deps.powertools.metrics.addMetric(`Alerts_${alert.attributes.severity}`, 'Count', 1);
      return alert.attributes;
    },
    { persistenceStore: deps.idempotencyStore, config: idempotency, keyPrefix: 'aims-alerts' },
  );
  const base = async (event: EventBridgeEvent<string, unknown>, context: Context): Promise<void> => {
    if (event['detail-type'] !== DETAIL_TYPES.FraudSuspected) {
      throw new Error(`expected a ${DETAIL_TYPES.FraudSuspected} event, got '${event['detail-type']}'`);
    }
    const data = parseEventDetail(DETAIL_TYPES.FraudSuspected, event.detail);
    // An invocation that times out leaves an in-progress record that expires with it, so the retry is not blocked.
    idempotency.registerLambdaContext(context);
    await alertOnce(data);
  };
  let handler = middy<EventBridgeEvent<string, unknown>, void, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}

// Cold start: environment and clients once per execution environment.
const env = parseEnv(AlertsEnv);
const powertools = createPowertools();
export const handler = createHandler({
  powertools,
  publisher: new SnsAlertPublisher(powertools.tracer.captureAWSv3Client(snsClient()), env.ALERTS_TOPIC_ARN),
  idempotencyStore: new DynamoDBPersistenceLayer({
    tableName: env.IDEMPOTENCY_TABLE,
    awsSdkV3Client: powertools.tracer.captureAWSv3Client(dynamoClient()),
  }),
});
