// Model Monitor drift alarm (CloudWatch Alarm State Change → ALARM) → ModelDriftDetected on the app bus.
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { EventBridgePublisher, type EventPublisher } from '../shared/adapters/event-publisher.js';
import { eventBridgeClient } from '../shared/aws.js';
import { busEvent, EVENT_SOURCES } from '../shared/contracts/events.js';
import { parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { AlarmRelayEnv, driftFromAlarm } from './alarm-relay.js';

export interface AlarmRelayDeps {
  readonly powertools: Powertools;
  readonly model: string;
  readonly threshold: number;
  readonly publisher: EventPublisher;
}

export function createHandler(deps: AlarmRelayDeps) {
  const base = async (event: EventBridgeEvent<string, unknown>): Promise<void> => {
    const data = driftFromAlarm(deps.model, deps.threshold, event.detail);
    if (!data) {
      deps.powertools.logger.info('alarm change ignored', { detail: event.detail });
      return;
    }
    await deps.publisher.publish([busEvent('ModelDriftDetected', EVENT_SOURCES.drift, data)]);
    deps.powertools.logger.info('drift alarm relayed', { features: data.features });
  };
  let handler = middy<EventBridgeEvent<string, unknown>, void, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}

const env = parseEnv(AlarmRelayEnv);
export const handler = createHandler({
  powertools: createPowertools(),
  model: env.MODEL_NAME,
  threshold: env.DISTANCE_THRESHOLD,
  publisher: new EventBridgePublisher({ client: eventBridgeClient(), eventBusName: env.EVENT_BUS_NAME }),
});
