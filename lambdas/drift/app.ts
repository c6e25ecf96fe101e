// Assembles the drift functions: the scheduled stream drift check (env → S3/SSM/EventBridge adapters → runDriftCheck
// inside middy/Powertools, metrics per model) and the Model Monitor alarm relay (alarm → ModelDriftDetected).
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { EventBridgePublisher, type EventPublisher } from '../shared/adapters/event-publisher.js';
import { eventBridgeClient, s3Client } from '../shared/aws.js';
import { driftHistoryKey, driftStatusKey } from '../shared/contracts/api.js';
import { busEvent, EVENT_SOURCES } from '../shared/contracts/events.js';
import { CommonEnv, envInt, envNumber, envString, parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import {
  loadChampionBaseline,
  readBatchCaptureWindow,
  readCaptureWindow,
  saveDriftAssessment,
  saveDriftHistory,
} from './adapters.js';
import {
  type DriftCheckConfig,
  type DriftCheckPorts,
  type DriftReport,
  driftFromAlarm,
  mergeWindows,
  runDriftCheck,
} from './core.js';

export const DriftEnv = CommonEnv.extend({
  MODEL_NAME: envString(),
  FEATURE_NAMES: envString(),
  CAPTURE_BUCKET: envString(),
  CAPTURE_PREFIX: envString(),
  CHAMPION_PARAMETER: envString(),
  BOOTSTRAP_PSI_BINS_URI: envString(),
  PSI_THRESHOLDS: envString(),
  WINDOW_MINUTES: envInt(),
  MIN_SAMPLES: envInt(),
  EVENT_BUS_NAME: envString(),
  /** Where the latest assessment and the dated history are written for the models API (monitoring bucket). */
  DRIFT_STATUS_BUCKET: envString(),
  /** `<model>/batch-transform/` in the capture bucket when the model is also served in batch: the nightly transform's
   *  capture is read with the real-time window's (every row of it: each is one entity). */
  BATCH_CAPTURE_PREFIX: envString().optional(),
});

export const AlarmRelayEnv = CommonEnv.extend({
  MODEL_NAME: envString(),
  EVENT_BUS_NAME: envString(),
  DISTANCE_THRESHOLD: envNumber(),
});

const Thresholds = z.object({ default: z.number().positive(), features: z.record(z.string(), z.number().positive()) });

export interface DriftHandlerDeps {
  readonly powertools: Powertools;
  readonly config: DriftCheckConfig;
  readonly ports: Omit<DriftCheckPorts, 'publishDrift' | 'assessed'>;
  readonly publisher: EventPublisher;
  readonly now?: () => Date;
}

/** The drift check's ports and settings from the environment (cold start). */
export function driftDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): DriftHandlerDeps {
  const e = parseEnv(DriftEnv, env);
  const s3 = s3Client();
  const featureNames = e.FEATURE_NAMES.split(',');
  return {
    powertools: createPowertools(),
    config: {
      model: e.MODEL_NAME,
      featureNames,
      thresholds: Thresholds.parse(JSON.parse(e.PSI_THRESHOLDS)),
      minSamples: e.MIN_SAMPLES,
    },
    ports: {
      baseline: () =>
        loadChampionBaseline({
          ssm: new SSMClient({}),
          s3,
          parameterName: e.CHAMPION_PARAMETER,
          bootstrapUri: e.BOOTSTRAP_PSI_BINS_URI,
          psiBinsFile: 'baseline/psi-bins.json',
        }),
      window: async (now) => {
        const read = { s3, bucket: e.CAPTURE_BUCKET, width: featureNames.length, minutes: e.WINDOW_MINUTES, now };
        const realtime = readCaptureWindow({ ...read, prefix: e.CAPTURE_PREFIX, variant: 'champion' });
        const batchPrefix = e.BATCH_CAPTURE_PREFIX;
        if (!batchPrefix) return realtime;
        const [live, batch] = await Promise.all([realtime, readBatchCaptureWindow({ ...read, prefix: batchPrefix })]);
        return mergeWindows(live, batch);
      },
      saveAssessment: async (assessment) => {
        const bucket = e.DRIFT_STATUS_BUCKET;
        // The dated copy first (every run), then the latest unless an overlapping run stored a later window.
        await saveDriftHistory({ s3, bucket, key: driftHistoryKey(e.MODEL_NAME, assessment), assessment });
        return saveDriftAssessment({ s3, bucket, key: driftStatusKey(e.MODEL_NAME), assessment });
      },
    },
    publisher: new EventBridgePublisher({ client: eventBridgeClient(), eventBusName: e.EVENT_BUS_NAME }),
  };
}

export function createHandler(deps: DriftHandlerDeps) {
  const { metrics, logger } = deps.powertools;
  const ports: DriftCheckPorts = {
    ...deps.ports,
    publishDrift: (data) => deps.publisher.publish([busEvent('ModelDriftDetected', EVENT_SOURCES.drift, data)]),
    assessed: (report, source) => {
      metrics.addDimension('model', deps.config.model);
      metrics.addMetric('DriftSamples', 'Count', report.samples);
      if (report.judged) {
        metrics.addMetric('ScoreShiftPsi', 'None', report.scorePsi);
        metrics.addMetric('FeaturePsiMax', 'None', report.maxFeaturePsi);
      }
      logger.info('drift check', {
        baseline: source,
        samples: report.samples,
        judged: report.judged,
        drifted: report.drifted,
      });
    },
  };
  const base = async (): Promise<DriftReport> => {
    const { report, stored } = await runDriftCheck((deps.now ?? (() => new Date()))(), ports, deps.config);
    if (stored === 'kept-later') logger.info('a later window is already assessed: this assessment is not stored');
    return report;
  };
  let handler = middy<unknown, DriftReport, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}

export interface AlarmRelayDeps {
  readonly powertools: Powertools;
  readonly model: string;
  readonly threshold: number;
  readonly publisher: EventPublisher;
}

/** The alarm relay's settings and publisher from the environment (cold start). */
export function alarmRelayDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): AlarmRelayDeps {
  const e = parseEnv(AlarmRelayEnv, env);
  return {
    powertools: createPowertools(),
    model: e.MODEL_NAME,
    threshold: e.DISTANCE_THRESHOLD,
    publisher: new EventBridgePublisher({ client: eventBridgeClient(), eventBusName: e.EVENT_BUS_NAME }),
  };
}

export function createAlarmRelayHandler(deps: AlarmRelayDeps) {
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
