// Model Monitor drift alarm (CloudWatch Alarm State Change) → the ModelDriftDetected data it stands for.
import { z } from 'zod';
import type { ModelDriftDetectedData } from '../shared/contracts/events.js';
import { CommonEnv, envNumber, envString } from '../shared/env.js';

export const AlarmRelayEnv = CommonEnv.extend({
  MODEL_NAME: envString(),
  EVENT_BUS_NAME: envString(),
  DISTANCE_THRESHOLD: envNumber(),
});

const METRIC_PREFIX = 'feature_baseline_drift_';

export const AlarmStateChange = z.object({
  alarmName: z.string(),
  state: z.object({ value: z.string(), timestamp: z.string() }),
  configuration: z.object({
    metrics: z
      .array(
        z.object({ metricStat: z.object({ metric: z.object({ name: z.string() }), period: z.number() }).optional() }),
      )
      .min(1),
  }),
});

/** The drift event for one alarm entering ALARM; undefined for other states or non-drift metrics. */
export function driftFromAlarm(model: string, threshold: number, detail: unknown): ModelDriftDetectedData | undefined {
  const alarm = AlarmStateChange.parse(detail);
  if (alarm.state.value !== 'ALARM') return undefined;
  const stat = alarm.configuration.metrics[0]?.metricStat;
  if (!stat?.metric.name.startsWith(METRIC_PREFIX)) return undefined;
  const end = new Date(alarm.state.timestamp);
  if (Number.isNaN(end.getTime()))
    throw new Error(`alarm ${alarm.alarmName}: bad state timestamp '${alarm.state.timestamp}'`);
  return {
    model,
    detector: 'monitor',
    features: [{ name: stat.metric.name.slice(METRIC_PREFIX.length), threshold }],
    samples: 0,
    windowStart: new Date(end.getTime() - stat.period * 1000).toISOString(),
    windowEnd: end.toISOString(),
  };
}
