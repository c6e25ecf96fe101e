// Assembles the shadow comparison: env → the S3 capture reader and the bus → runShadowComparison (core.ts) inside
// middy/Powertools, with its metrics per model; the pipeline's invocation names the window, a schedule reads its own.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { AnyModelModule } from '../../models/shared/module.js';
import { EventBridgePublisher, type EventPublisher } from '../shared/adapters/event-publisher.js';
import { eventBridgeClient, s3Client } from '../shared/aws.js';
import { busEvent, EVENT_SOURCES } from '../shared/contracts/events.js';
import { CommonEnv, envInt, envNumberRecord, envString, parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { readCapturedScores } from './adapters.js';
import { runShadowComparison, type ShadowConfig, type ShadowPorts, type ShadowResult, type ShadowRun } from './core.js';

export const ShadowEnv = CommonEnv.extend({
  MODEL_NAME: envString(),
  CAPTURE_BUCKET: envString(),
  /** `<model>/<endpoint>/`: SageMaker appends `<variant>/yyyy/mm/dd/hh/`. */
  CAPTURE_PREFIX: envString(),
  CHAMPION_VARIANT: envString(),
  SHADOW_VARIANT: envString(),
  /** Minutes a scheduled comparison reads. */
  WINDOW_MINUTES: envInt(),
  /** The model policy's thresholds as JSON (the environments table's `thresholds`). */
  MODEL_THRESHOLDS: envNumberRecord(),
  /** The manifest's monitoring.shadow as JSON. */
  SHADOW_THRESHOLDS: envString(),
  EVENT_BUS_NAME: envString(),
});

export const Thresholds = z
  .object({
    minPairs: z.number().int().min(1),
    minAgreement: z.number().min(0).max(1),
    maxScorePsi: z.number().positive(),
    maxMeanAbsDiff: z.number().positive(),
  })
  .strict();

/**
 * The pipeline invokes right after the candidate's bake in the shadow and names the bake as the window, so answers
 * of the previous challenger are left out; a schedule (an EventBridge event) reads the configured window.
 */
const PipelineInvocation = z.object({ trigger: z.literal('pipeline'), windowMinutes: z.number().int().min(1) });

export interface ShadowHandlerDeps extends ShadowConfig {
  readonly powertools: Powertools;
  readonly windowMinutes: number;
  /** One variant's answers of [start, end]. */
  readonly answers: ShadowPorts['answers'];
  /** Where ShadowCompared is published. */
  readonly publisher: EventPublisher;
  readonly now?: () => Date;
}

export function createHandler(deps: ShadowHandlerDeps) {
  const { metrics, logger } = deps.powertools;
  const ports: ShadowPorts = {
    answers: deps.answers,
    publishCompared: (data) => deps.publisher.publish([busEvent('ShadowCompared', EVENT_SOURCES.shadow, data)]),
    compared: (result) => {
      metrics.addDimension('model', deps.model);
      metrics.addMetric('ShadowPairs', 'Count', result.pairs);
      metrics.addMetric('ShadowUnpairedChampion', 'Count', result.unpaired.champion);
      metrics.addMetric('ShadowUnpairedShadow', 'Count', result.unpaired.shadow);
      // Judged windows only: a handful of pairs would page on noise.
      if (result.judged) {
        metrics.addMetric('ShadowAgreement', 'None', result.agreement);
        metrics.addMetric('ShadowScorePsi', 'None', result.scorePsi);
        metrics.addMetric('ShadowMeanAbsDiff', 'None', result.meanAbsDiff);
        metrics.addMetric('ShadowP99AbsDiff', 'None', result.p99AbsDiff);
      }
      logger.info('shadow comparison', { ...result });
    },
  };
  const base = async (event: unknown): Promise<ShadowResult> => {
    const pipeline = PipelineInvocation.safeParse(event);
    const run: ShadowRun = {
      trigger: pipeline.success ? 'pipeline' : 'schedule',
      end: (deps.now ?? (() => new Date()))(),
      windowMinutes: pipeline.success ? pipeline.data.windowMinutes : deps.windowMinutes,
    };
    return runShadowComparison(run, ports, deps);
  };
  let handler = middy<unknown, ShadowResult, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}

/** The handler the function runs: its ports from the environment (built at the first invocation's cold start). */
export function handlerFromEnvironment(
  module: AnyModelModule,
  raw: Readonly<Record<string, string | undefined>> = process.env,
) {
  const env = parseEnv(ShadowEnv, raw);
  const s3 = s3Client();
  module.policy.validate(env.MODEL_THRESHOLDS);
  return createHandler({
    powertools: createPowertools(),
    model: env.MODEL_NAME,
    policy: { decide: (score) => module.policy.decide(score, env.MODEL_THRESHOLDS) },
    thresholds: Thresholds.parse(JSON.parse(env.SHADOW_THRESHOLDS)),
    windowMinutes: env.WINDOW_MINUTES,
    answers: async (variant, start, end) =>
      (
        await readCapturedScores({
          s3,
          bucket: env.CAPTURE_BUCKET,
          prefix: env.CAPTURE_PREFIX,
          variant: variant === 'champion' ? env.CHAMPION_VARIANT : env.SHADOW_VARIANT,
          start,
          end,
        })
      ).scores,
    publisher: new EventBridgePublisher({ client: eventBridgeClient(), eventBusName: env.EVENT_BUS_NAME }),
  });
}
