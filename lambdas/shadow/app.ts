// The shadow comparison's wiring: both variants' captured answers of a window → pairs by inference id → score
// differences, decision agreement, score PSI → metrics, ShadowCompared, a verdict (handler.ts builds it from the env).
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { AnyModelModule } from '../../models/shared/module.js';
import { EventBridgePublisher, type EventPublisher } from '../shared/adapters/event-publisher.js';
import { eventBridgeClient, s3Client } from '../shared/aws.js';
import { busEvent, EVENT_SOURCES, type ShadowComparedData } from '../shared/contracts/events.js';
import { CommonEnv, envInt, envNumberRecord, envString } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { readCapturedScores } from './adapters.js';
import {
  type CapturedScore,
  compareShadow,
  type DecisionPolicy,
  type ShadowComparison,
  type ShadowThresholds,
  type ShadowVerdict,
  shadowVerdict,
} from './core.js';

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

export interface ShadowResult extends ShadowComparison, ShadowVerdict {
  readonly model: string;
  readonly windowStart: string;
  readonly windowEnd: string;
}

export interface ShadowHandlerDeps {
  readonly powertools: Powertools;
  readonly model: string;
  readonly policy: DecisionPolicy;
  readonly thresholds: ShadowThresholds;
  readonly windowMinutes: number;
  /** One variant's answers of [start, end]. */
  readonly answers: (variant: 'champion' | 'shadow', start: Date, end: Date) => Promise<readonly CapturedScore[]>;
  /** Where ShadowCompared is published. */
  readonly publisher: EventPublisher;
  readonly now?: () => Date;
}

export function createHandler(deps: ShadowHandlerDeps) {
  const base = async (event: unknown): Promise<ShadowResult> => {
    const end = (deps.now ?? (() => new Date()))();
    const pipeline = PipelineInvocation.safeParse(event);
    const minutes = pipeline.success ? pipeline.data.windowMinutes : deps.windowMinutes;
    const start = new Date(end.getTime() - minutes * 60_000);
    const [champion, shadow] = await Promise.all([
      deps.answers('champion', start, end),
      deps.answers('shadow', start, end),
    ]);
    const comparison = compareShadow(champion, shadow, deps.policy);
    const verdict = shadowVerdict(comparison, deps.thresholds);
    const { metrics, logger } = deps.powertools;
    metrics.addDimension('model', deps.model);
    metrics.addMetric('ShadowPairs', 'Count', comparison.pairs);
    metrics.addMetric('ShadowUnpairedChampion', 'Count', comparison.unpaired.champion);
    metrics.addMetric('ShadowUnpairedShadow', 'Count', comparison.unpaired.shadow);
    // Judged windows only: a handful of pairs would page on noise.
    if (verdict.judged) {
      metrics.addMetric('ShadowAgreement', 'None', comparison.agreement);
      metrics.addMetric('ShadowScorePsi', 'None', comparison.scorePsi);
      metrics.addMetric('ShadowMeanAbsDiff', 'None', comparison.meanAbsDiff);
      metrics.addMetric('ShadowP99AbsDiff', 'None', comparison.p99AbsDiff);
    }
    const result: ShadowResult = {
      model: deps.model,
      windowStart: start.toISOString(),
      windowEnd: end.toISOString(),
      ...comparison,
      ...verdict,
    };
    logger.info('shadow comparison', { ...result });
    const data: ShadowComparedData = {
      model: deps.model,
      trigger: pipeline.success ? 'pipeline' : 'schedule',
      windowStart: result.windowStart,
      windowEnd: result.windowEnd,
      pairs: comparison.pairs,
      unpaired: comparison.unpaired,
      meanAbsDiff: comparison.meanAbsDiff,
      p99AbsDiff: comparison.p99AbsDiff,
      agreement: comparison.agreement,
      scorePsi: Math.max(0, comparison.scorePsi),
      passed: verdict.passed,
      judged: verdict.judged,
      reasons: [...verdict.reasons],
    };
    await deps.publisher.publish([busEvent('ShadowCompared', EVENT_SOURCES.shadow, data)]);
    return result;
  };
  let handler = middy<unknown, ShadowResult, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}

/** The handler the function runs: its ports from the environment (built at the first invocation's cold start). */
export function handlerFromEnvironment(module: AnyModelModule, env: z.output<typeof ShadowEnv>) {
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
