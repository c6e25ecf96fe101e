// Every environment's settings in one typed table; only bin/ reads it and hands values down as props.
import { RemovalPolicy } from 'aws-cdk-lib';
import { StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { EnvironmentConfig, StageName } from './environment-config.js';

export const environments = {
  Dev: {
    account: '111111111111',
    region: 'eu-west-1',
    terminationProtection: false,
    removalPolicy: RemovalPolicy.DESTROY,
    logRetention: RetentionDays.ONE_WEEK,
    data: {
      decisionTtlDays: 30,
      streamMode: StreamMode.PROVISIONED,
      shards: 1,
      streamRetentionHours: 24,
      lakeInfrequentAccessAfterDays: 30,
      lakeArchiveAfterDays: 90,
      noncurrentVersionExpirationDays: 7,
      captureExpirationDays: 30,
      accessLogExpirationDays: 30,
      busArchiveRetentionDays: 7,
    },
    functions: { memorySize: 512 },
    api: {
      rateLimit: 50,
      burstLimit: 100,
      dailyQuota: 100_000,
      wafRateLimitPer5Min: 10_000,
      viewerRateLimitPer5Min: 3_000,
    },
    models: {
      'fraud-detector': {
        route: 'score',
        thresholds: { review: 0.5, decline: 0.9 },
        // Dev runs as the local stage on a shared 2-core machine, where the local model server's p99 under load is tens
        // of milliseconds (seconds just after a start): a production-sized timeout would turn most of its decisions
        // into rules fallbacks. The deployed dev stage has no latency target.
        modelTimeoutMs: 200,
        provisionedConcurrency: false,
      },
      'merchant-risk': {
        // models/merchant-risk/bootstrap/metrics.json (measured, held-out merchant-days): the model's score is a
        // calibrated probability (prior-corrected, base rate ≈ 1 %), so its cuts are low: ≥ 0.07 flags ≈ 1 % of active
        // merchants (precision 0.51, recall 0.62), ≥ 0.25 ≈ 0.5 % (precision 0.90). Same cuts in every environment.
        thresholds: { watch: 0.07, blockReview: 0.25 },
        // As the fraud detector's in dev: the local model server on a shared 2-core machine.
        modelTimeoutMs: 200,
        provisionedConcurrency: false,
      },
    },
    alarms: {
      apiLatencyP99Ms: 250,
      api5xxPerMinute: 5,
      iteratorAgeMs: 60_000,
      degradedDecisionPercent: 20,
      api4xxPercent: 50,
      functionErrorsPer5Min: 10,
      functionThrottlesPer5Min: 10,
      functionDurationP99PercentOfTimeout: 90,
      deadLetterMessages: 1,
      // ml.c6i.xlarge: 4 vCPUs, no GPU.
      endpointCpuUtilizationPercent: 360,
      endpointGpuUtilizationPercent: 90,
      retrainingFailuresPerHour: 0,
      driftCheckMissedRuns: 4,
    },
    lifecycle: {
      profile: 'dev',
      approval: 'auto',
      canary: { capacityPercent: 50, bakeMinutes: 5 },
      shadow: false,
      // Dev serves a handful of requests an hour: its endpoints cost nothing between sessions (ADR 0005).
      idle: { scaleInAfterMinutes: 30 },
      invocationsPerInstanceTarget: 30_000,
      alarms: { invocation5xxPerMinute: 5, modelLatencyP99Ms: 100, scoreShiftPsi: 0.25 },
      retraining: { schedule: 'rate(7 days)', driftDebounceHours: 6, lookbackDays: 30, maxTrainingHours: 2 },
      driftCheckMinutes: 15,
    },
  },
  Staging: {
    account: '222222222222',
    region: 'eu-west-1',
    terminationProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    logRetention: RetentionDays.ONE_MONTH,
    data: {
      decisionTtlDays: 90,
      streamMode: StreamMode.PROVISIONED,
      shards: 2,
      streamRetentionHours: 72,
      lakeInfrequentAccessAfterDays: 30,
      lakeArchiveAfterDays: 90,
      noncurrentVersionExpirationDays: 30,
      captureExpirationDays: 90,
      accessLogExpirationDays: 90,
      busArchiveRetentionDays: 30,
    },
    functions: { memorySize: 1024 },
    api: {
      rateLimit: 200,
      burstLimit: 400,
      dailyQuota: 1_000_000,
      wafRateLimitPer5Min: 50_000,
      viewerRateLimitPer5Min: 5_000,
    },
    models: {
      'fraud-detector': {
        route: 'score',
        thresholds: { review: 0.5, decline: 0.9 },
        // docs/capacity.md §7: the rest of the path is ≈ 20 ms at p99, so a timed-out call answers by ≈ 45 ms, inside
        // the 50 ms target; the endpoint's own p99 budget is 10 ms. Staging times out like prod, so load tests see it.
        modelTimeoutMs: 25,
        // docs/capacity.md §4 (C = λ × W, W p99 55 ms): the stage throttle caps staging at 200 req/s × 4 clients = 800,
        // so max = ⌈800 × 0.055 / 0.7⌉ = 63. Staging serves load tests (§8: 10 M scores a month, ≈ 4 tx/s on average),
        // so one environment is the floor and each test ramps through target tracking as prod would.
        provisionedConcurrency: { min: 1, max: 63, targetUtilization: 0.7 },
      },
      'merchant-risk': {
        thresholds: { watch: 0.07, blockReview: 0.25 },
        // On-demand checks by people, off the card-authorisation path: no 50 ms target, and a baseline answer costs
        // more (recall 0.27 vs 0.62 at a 1 % alert rate) than a few more milliseconds of waiting.
        modelTimeoutMs: 100,
        provisionedConcurrency: false,
      },
    },
    alarms: {
      apiLatencyP99Ms: 150,
      api5xxPerMinute: 2,
      iteratorAgeMs: 30_000,
      degradedDecisionPercent: 5,
      api4xxPercent: 25,
      functionErrorsPer5Min: 5,
      functionThrottlesPer5Min: 5,
      functionDurationP99PercentOfTimeout: 80,
      deadLetterMessages: 1,
      // ml.g5.xlarge: 4 vCPUs, 1 GPU.
      endpointCpuUtilizationPercent: 320,
      endpointGpuUtilizationPercent: 80,
      retrainingFailuresPerHour: 0,
      driftCheckMissedRuns: 3,
    },
    lifecycle: {
      profile: 'staging',
      approval: 'auto',
      canary: { capacityPercent: 25, bakeMinutes: 10 },
      // The challenger is shadowed in prod, on real traffic (ADR 0005): staging's load tests say little about how a
      // new model decides, and an endpoint of inference components has no shadow variant.
      shadow: false,
      // Staging serves load tests, not customers: idle between them. The first call after an hour's quiet is answered
      // by the baseline for the minutes an instance takes to start (ADR 0005), which a load test ramps through.
      idle: { scaleInAfterMinutes: 60 },
      invocationsPerInstanceTarget: 30_000,
      alarms: { invocation5xxPerMinute: 2, modelLatencyP99Ms: 50, scoreShiftPsi: 0.2 },
      retraining: { schedule: 'rate(7 days)', driftDebounceHours: 12, lookbackDays: 60, maxTrainingHours: 4 },
      driftCheckMinutes: 10,
    },
  },
  Prod: {
    account: '333333333333',
    region: 'eu-west-1',
    terminationProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    logRetention: RetentionDays.ONE_YEAR,
    data: {
      decisionTtlDays: 400,
      streamMode: StreamMode.ON_DEMAND,
      shards: 0,
      streamRetentionHours: 168,
      lakeInfrequentAccessAfterDays: 30,
      lakeArchiveAfterDays: 180,
      noncurrentVersionExpirationDays: 90,
      captureExpirationDays: 365,
      accessLogExpirationDays: 365,
      busArchiveRetentionDays: 365,
    },
    functions: { memorySize: 1769 },
    api: {
      rateLimit: 2_000,
      burstLimit: 4_000,
      dailyQuota: 50_000_000,
      wafRateLimitPer5Min: 200_000,
      viewerRateLimitPer5Min: 10_000,
    },
    models: {
      'fraud-detector': {
        route: 'score',
        thresholds: { review: 0.5, decline: 0.9 },
        // docs/capacity.md §7: the rest of the path is ≈ 20 ms at p99, so a timed-out call answers by ≈ 45 ms, inside
        // the 50 ms target; the endpoint's own p99 budget is 10 ms.
        modelTimeoutMs: 25,
        // docs/capacity.md §4 (C = λ × W): the floor carries the planned steady 1,000 tx/s at W mean 30 ms without a
        // scale-out, ⌈1,000 × 0.030 / 0.7⌉ = 43; the ceiling is the stage throttle, 2,000 req/s × 4 clients = 8,000, at
        // W p99 55 ms, ⌈8,000 × 0.055 / 0.7⌉ = 629, which with the other functions (§4: ≈ 40) stays under the default
        // 1,000 account quota less the 100 Lambda keeps unreserved (docs/deploy.md §3).
        provisionedConcurrency: { min: 43, max: 629, targetUtilization: 0.7 },
      },
      'merchant-risk': {
        thresholds: { watch: 0.07, blockReview: 0.25 },
        modelTimeoutMs: 100,
        // A few on-demand calls an hour (the population is scored nightly in batch): a cold start now and then is
        // cheaper than environments kept warm all day.
        provisionedConcurrency: false,
      },
    },
    alarms: {
      apiLatencyP99Ms: 100,
      api5xxPerMinute: 1,
      iteratorAgeMs: 10_000,
      degradedDecisionPercent: 1,
      api4xxPercent: 10,
      functionErrorsPer5Min: 1,
      functionThrottlesPer5Min: 1,
      functionDurationP99PercentOfTimeout: 75,
      deadLetterMessages: 1,
      // ml.g5.2xlarge: 8 vCPUs, 1 GPU.
      endpointCpuUtilizationPercent: 560,
      endpointGpuUtilizationPercent: 70,
      retrainingFailuresPerHour: 0,
      driftCheckMissedRuns: 3,
    },
    lifecycle: {
      profile: 'prod',
      approval: 'manual',
      canary: { capacityPercent: 10, bakeMinutes: 15 },
      // The challenger answers a copy of real traffic before anyone approves it (ADR 0005): compared every 15 minutes
      // over the last hour; a candidate bakes an hour in the shadow, and the approver reads its verdict.
      shadow: { compareEveryMinutes: 15, windowMinutes: 60, bakeMinutes: 60 },
      idle: false,
      invocationsPerInstanceTarget: 30_000,
      alarms: { invocation5xxPerMinute: 1, modelLatencyP99Ms: 30, scoreShiftPsi: 0.2 },
      retraining: { schedule: 'rate(7 days)', driftDebounceHours: 24, lookbackDays: 90, maxTrainingHours: 4 },
      driftCheckMinutes: 5,
    },
  },
} as const satisfies Record<StageName, EnvironmentConfig>;

/**
 * The settings of one environment with its account and region taken from
 * AIMS_<STAGE>_ACCOUNT / AIMS_<STAGE>_REGION when set, so a real deploy needs no code change.
 */
export function resolveEnvironment(
  name: StageName,
  env: Readonly<Record<string, string | undefined>>,
): EnvironmentConfig {
  const base: EnvironmentConfig = environments[name];
  const prefix = `AIMS_${name.toUpperCase()}`;
  const account = env[`${prefix}_ACCOUNT`] ?? base.account;
  const region = env[`${prefix}_REGION`] ?? base.region;
  if (!/^\d{12}$/.test(account)) {
    throw new Error(`${prefix}_ACCOUNT must be a 12-digit AWS account id, got '${account}'`);
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new Error(`${prefix}_REGION must be an AWS region such as eu-west-1, got '${region}'`);
  }
  return { ...base, account, region };
}
