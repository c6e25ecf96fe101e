// Assembles the alerts handler: env → SNS publisher and the idempotency store → the core inside middy/Powertools.
// EventBridge delivers at least once and retries failed invocations, so the alert for one transaction is sent at most
// once: Powertools idempotency keyed on the transaction id, in the idempotency table. Malformed events throw so
// retries and the rule's DLQ see them.
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

/** Everything the handler needs, from the environment (cold start). */
export function alertsDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): AlertsHandlerDeps {
  const e = parseEnv(AlertsEnv, env);
  const powertools = createPowertools();
  return {
    powertools,
    publisher: new SnsAlertPublisher(powertools.tracer.captureAWSv3Client(snsClient()), e.ALERTS_TOPIC_ARN),
    idempotencyStore: new DynamoDBPersistenceLayer({
      tableName: e.IDEMPOTENCY_TABLE,
      awsSdkV3Client: powertools.tracer.captureAWSv3Client(dynamoClient()),
    }),
  };
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
