// The shape of one environment's settings: the only place where environments differ.
import type { RemovalPolicy } from 'aws-cdk-lib';
import type { StreamMode } from 'aws-cdk-lib/aws-kinesis';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';

export const STAGE_NAMES = ['Dev', 'Staging', 'Prod'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** The shadow variant of an environment: how often and over what window its answers are compared with the
 *  champion's, and how long a candidate bakes in the shadow before the pipeline reads the verdict. The verdict's
 *  thresholds (minimum pairs, agreement, PSI) belong to the model: its manifest's `monitoring.shadow`. */
export interface ShadowSettings {
  /** How often the scheduled comparison runs (minutes; an EventBridge rate). */
  readonly compareEveryMinutes: number;
  /** Minutes of capture each scheduled comparison reads. */
  readonly windowMinutes: number;
  /** Minutes a candidate serves in the shadow before the retraining pipeline compares it (1 to 1440). */
  readonly bakeMinutes: number;
}

/** Provisioned concurrency of the score function's alias: pre-initialized environments between a floor and a ceiling,
 *  moved by target tracking on `LambdaProvisionedConcurrencyUtilization`. */
export interface ProvisionedConcurrencySettings {
  /** Environments kept initialized at all times (at least 1). */
  readonly min: number;
  /** Most environments target tracking may provision (they count against the account's concurrency quota). */
  readonly max: number;
  /** Utilization target tracking holds, from 0.1 to 0.9 (0.7: a burst of 40 % more fits before a scale-out). */
  readonly targetUtilization: number;
}

/** The domain routes a model can be bound to: 'score' is POST /v1/score. */
export const DOMAIN_ROUTES = ['score'] as const;
export type DomainRoute = (typeof DOMAIN_ROUTES)[number];

/** How one model is served in an environment. */
export interface ModelServingSettings {
  /** The domain route this model answers (one model per route). @default - none: the model has no domain route */
  readonly route?: DomainRoute;
  /**
   * The thresholds the model's own output policy takes (e.g. a fraud model's `{ review, decline }`, a merchant
   * model's `{ watch, blockReview }`): checked by its module's `policy.validate` before synth and again at cold start.
   */
  readonly thresholds: Readonly<Record<string, number>>;
  /** Milliseconds a caller waits for the model before the baseline answers (MODEL_TIMEOUT_MS). A timed-out request
   *  costs the rest of the path plus this, so it must fit the p99 budget (docs/capacity.md §7). */
  readonly modelTimeoutMs: number;
  /** Provisioned concurrency on the alias of the function serving the model's route (the API integrates the alias in
   *  every environment), or `false` for none: environments then start on demand, each first request paying the
   *  cold init. */
  readonly provisionedConcurrency: false | ProvisionedConcurrencySettings;
}

export interface EnvironmentConfig {
  /** AWS account id; a placeholder until overridden by AIMS_<STAGE>_ACCOUNT for a real deploy. */
  readonly account: string;
  /** AWS region; overridable by AIMS_<STAGE>_REGION. */
  readonly region: string;
  /** Stateful stacks refuse deletion outside dev. */
  readonly terminationProtection: boolean;
  /** What happens to stateful resources when their stack or resource is removed. */
  readonly removalPolicy: RemovalPolicy;
  /** Retention of every Lambda log group and the API access logs. */
  readonly logRetention: RetentionDays;
  readonly data: {
    /** Days an audit record stays in the decisions table before TTL removes it. */
    readonly decisionTtlDays: number;
    /** Kinesis capacity: ON_DEMAND, or PROVISIONED with `shards`. */
    readonly streamMode: StreamMode;
    /** Shard count, only read when streamMode is PROVISIONED. */
    readonly shards: number;
    /** Hours records stay on the stream (24 to 8760). */
    readonly streamRetentionHours: number;
    /** Days until lake objects move to infrequent access. */
    readonly lakeInfrequentAccessAfterDays: number;
    /** Days until lake objects move to Glacier Instant Retrieval. */
    readonly lakeArchiveAfterDays: number;
    /** Days before noncurrent object versions are deleted in every bucket. */
    readonly noncurrentVersionExpirationDays: number;
    /** Days before raw capture and monitoring reports are deleted. */
    readonly captureExpirationDays: number;
    /** Days the S3 server access logs are kept. */
    readonly accessLogExpirationDays: number;
    /** Days the event-bus archive keeps events for replay (0 = forever). */
    readonly busArchiveRetentionDays: number;
  };
  readonly functions: {
    /** Default memory of a service function in MB. */
    readonly memorySize: number;
  };
  readonly api: {
    /** Steady-state requests per second per client (usage plan). */
    readonly rateLimit: number;
    /** Burst requests per client (usage plan). */
    readonly burstLimit: number;
    /** Requests per client per day (usage plan quota). */
    readonly dailyQuota: number;
    /** Requests per 5 minutes from one IP before WAF blocks it. */
    readonly wafRateLimitPer5Min: number;
    /**
     * Requests per 5 minutes from one person's address (a browser, or an office behind one NAT) before WAF blocks it:
     * counted by the console's CloudFront web ACL, and by the API's for what CloudFront forwards (X-Forwarded-For).
     */
    readonly viewerRateLimitPer5Min: number;
  };
  /**
   * The models this environment serves, by manifest name: every model under models/ has an entry (checked at synth),
   * and its serving settings live here beside the lifecycle settings all models share.
   */
  readonly models: Readonly<Record<string, ModelServingSettings>>;
  readonly alarms: {
    /** API latency p99 above this (ms) alarms. */
    readonly apiLatencyP99Ms: number;
    /** API 5xx responses per minute above this alarm. */
    readonly api5xxPerMinute: number;
    /** Kinesis iterator age above this (ms) alarms. */
    readonly iteratorAgeMs: number;
    /** Share of degraded (fallback) decisions above this (percent) alarms. */
    readonly degradedDecisionPercent: number;
    /** Share of API requests answered 4xx over 5 minutes above this (percent) alarms. */
    readonly api4xxPercent: number;
    /** Errors of one function in 5 minutes above this alarm. */
    readonly functionErrorsPer5Min: number;
    /** Throttles of one function in 5 minutes above this alarm. */
    readonly functionThrottlesPer5Min: number;
    /** Duration p99 of a function above this share of its own timeout (percent) alarms. */
    readonly functionDurationP99PercentOfTimeout: number;
    /** Messages waiting in any dead-letter queue at or above this alarm. */
    readonly deadLetterMessages: number;
    /** Endpoint CPU utilisation as SageMaker reports it (summed over the instance's vCPUs: 100 per vCPU) above this
     *  alarms, so it is sized for the environment's instance profile. */
    readonly endpointCpuUtilizationPercent: number;
    /** Endpoint GPU utilisation as SageMaker reports it (summed over the instance's GPUs: 100 per GPU) above this
     *  alarms; a CPU-only instance reports none. */
    readonly endpointGpuUtilizationPercent: number;
    /** Failed or timed-out retraining executions in an hour above this alarm. */
    readonly retrainingFailuresPerHour: number;
    /** Drift-check periods in a row without a run before the silence alarm fires. */
    readonly driftCheckMissedRuns: number;
  };
  /** The model lifecycle per environment (endpoints, canary, shadow, retraining), read with each model's manifest. */
  readonly lifecycle: {
    /** Which manifest `serving.instanceType` key this environment uses. */
    readonly profile: 'dev' | 'staging' | 'prod';
    /** How a challenger that passed the quality gate is approved: at once, or by the approve API (task token). */
    readonly approval: 'auto' | 'manual';
    /** How long a manual approval waits for the approve API before the run fails as unapproved, in seconds.
     *  @default 604800 (7 days) */
    readonly approvalTimeoutSeconds?: number;
    /** Blue/green canary: share of the new fleet's capacity that takes traffic first, and how long it bakes. */
    readonly canary: { readonly capacityPercent: number; readonly bakeMinutes: number };
    /** A shadow variant serving the challenger pointer (captured, compared with the champion, never answering
     *  callers), or `false` for none. Not with `idle` (docs/decisions/0005-idle-endpoints.md). */
    readonly shadow: false | ShadowSettings;
    /** Endpoints scale to zero after this many minutes without an invocation and back on the first request (which
     *  fails on AWS for minutes: the route's baseline answers, `degraded`), or `false` to keep `capacity.min`
     *  instances always on. docs/decisions/0005-idle-endpoints.md says what it gives up. */
    readonly idle: false | { readonly scaleInAfterMinutes: number };
    /** Target-tracking autoscaling: invocations per instance per minute (docs/capacity.md sizes it: one instance
     *  serves thousands of rows a second of this model, so the target is in the tens of thousands). */
    readonly invocationsPerInstanceTarget: number;
    /** Alarms that roll a deployment back (and page) when breached. */
    readonly alarms: {
      /** Invocation 5xx errors per minute on the endpoint. */
      readonly invocation5xxPerMinute: number;
      /** Model latency p99 in milliseconds. */
      readonly modelLatencyP99Ms: number;
      /** PSI of the served score distribution vs the training baseline (published by the stream drift check). */
      readonly scoreShiftPsi: number;
    };
    readonly retraining: {
      /** EventBridge Scheduler expression of the routine retraining, e.g. `rate(7 days)`. */
      readonly schedule: string;
      /** Drift events within this many hours of the last start do not start another run. */
      readonly driftDebounceHours: number;
      /** Days of decisions the training set is built from. */
      readonly lookbackDays: number;
      /** Hours a training job may run before SageMaker stops it. */
      readonly maxTrainingHours: number;
    };
    /** How often the stream drift check runs (minutes). */
    readonly driftCheckMinutes: number;
  };
}
