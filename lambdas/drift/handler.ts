// Stream drift check (scheduled): captured window → PSI per feature vs the champion baseline → metrics, and
// ModelDriftDetected on the bus when a feature passes its threshold.
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { EventBridgePublisher, type EventPublisher } from '../shared/adapters/event-publisher.js';
import { eventBridgeClient, s3Client } from '../shared/aws.js';
import { type DriftAssessment, driftStatusKey } from '../shared/contracts/api.js';
import { busEvent, EVENT_SOURCES } from '../shared/contracts/events.js';
import { CommonEnv, envInt, envString, parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { loadChampionBaseline, readCaptureWindow, saveDriftAssessment } from './adapters.js';
import {
  assessDrift,
  type DriftReport,
  type DriftThresholds,
  type DriftWindow,
  driftAssessment,
  driftEvent,
  type PsiBins,
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
  /** Where the latest assessment is written for the models API (monitoring bucket). */
  DRIFT_STATUS_BUCKET: envString(),
});

const Thresholds = z.object({ default: z.number().positive(), features: z.record(z.string(), z.number().positive()) });

export interface DriftHandlerDeps {
  readonly powertools: Powertools;
  readonly model: string;
  readonly featureNames: readonly string[];
  readonly thresholds: DriftThresholds;
  readonly minSamples: number;
  readonly baseline: () => Promise<{ baseline: PsiBins; source: string }>;
  readonly window: (now: Date) => Promise<DriftWindow>;
  readonly publisher: EventPublisher;
  /** Stores the latest assessment (read by GET /v1/models/{name}/drift) unless an overlapping run stored a later one. */
  readonly saveAssessment: (assessment: DriftAssessment) => Promise<'written' | 'kept-later'>;
  readonly now?: () => Date;
}

export function createHandler(deps: DriftHandlerDeps) {
  const base = async (): Promise<DriftReport> => {
    const now = (deps.now ?? (() => new Date()))();
    const [{ baseline, source }, window] = await Promise.all([deps.baseline(), deps.window(now)]);
    const report = assessDrift({
      baseline,
      featureNames: deps.featureNames,
      window,
      thresholds: deps.thresholds,
      minSamples: deps.minSamples,
    });
    const { metrics, logger } = deps.powertools;
    metrics.addDimension('model', deps.model);
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
    const data = driftEvent(deps.model, window, report);
    if (data) await deps.publisher.publish([busEvent('ModelDriftDetected', EVENT_SOURCES.drift, data)]);
    const stored = await deps.saveAssessment(
      driftAssessment({
        model: deps.model,
        window,
        report,
        thresholds: deps.thresholds,
        minSamples: deps.minSamples,
        baseline: source,
        assessedAt: now,
      }),
    );
    if (stored === 'kept-later') logger.info('a later window is already assessed: this assessment is not stored');
    return report;
  };
  let handler = middy<unknown, DriftReport, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}

const env = parseEnv(DriftEnv);
const s3 = s3Client();
const featureNames = env.FEATURE_NAMES.split(',');
export const handler = createHandler({
  powertools: createPowertools(),
  model: env.MODEL_NAME,
  featureNames,
  thresholds: Thresholds.parse(JSON.parse(env.PSI_THRESHOLDS)),
  minSamples: env.MIN_SAMPLES,
  baseline: () =>
    loadChampionBaseline({
      ssm: new SSMClient({}),
      s3,
      parameterName: env.CHAMPION_PARAMETER,
      bootstrapUri: env.BOOTSTRAP_PSI_BINS_URI,
      psiBinsFile: 'baseline/psi-bins.json',
    }),
  window: (now) =>
    readCaptureWindow({
      s3,
      bucket: env.CAPTURE_BUCKET,
      prefix: env.CAPTURE_PREFIX,
      variant: 'champion',
      width: featureNames.length,
      minutes: env.WINDOW_MINUTES,
      now,
    }),
  publisher: new EventBridgePublisher({ client: eventBridgeClient(), eventBusName: env.EVENT_BUS_NAME }),
  saveAssessment: (assessment) =>
    saveDriftAssessment({ s3, bucket: env.DRIFT_STATUS_BUCKET, key: driftStatusKey(env.MODEL_NAME), assessment }),
});
