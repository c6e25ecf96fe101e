// Monitoring as code in one place: a dashboard and alarms discovered from the constructs that exist, one alarm topic.
import { ArnFormat, Duration, type IResolvable, Stack, Token } from 'aws-cdk-lib';
import { RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmRule,
  AlarmStatusWidget,
  ComparisonOperator,
  CompositeAlarm,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Stream } from 'aws-cdk-lib/aws-kinesis';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { type CfnAlias, CfnEventSourceMapping, type CfnFunction, EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { DECISIONS } from '../../models/shared/contracts/decision.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import { BatchInference } from './batch-inference.js';
import { DRIFT_METRICS, ModelEndpoint, SHADOW_METRICS } from './model-endpoint.js';
import { ModelMonitor } from './model-monitor.js';
import { ServiceFunction } from './service-function.js';

/** Every threshold the alarms use: the environment's `alarms`, its endpoint alarms and its drift-check cadence. */
export interface ObservabilityThresholds extends Readonly<EnvironmentConfig['alarms']> {
  /** The endpoint alarms of the environment (the same limits that roll a deployment back). */
  readonly models: EnvironmentConfig['lifecycle']['alarms'];
  /** How often each stream drift check runs (minutes): the period of its silence alarm. */
  readonly driftCheckMinutes: number;
}

/** Where the scorer counts its decisions: Powertools metrics of one function. */
export interface DecisionMetricsSource {
  /** The score function: its Powertools namespace and service name are read from its environment. */
  readonly function: ServiceFunction;
  /** Dimensions the scorer adds beside `service`, e.g. `{ model: <the manifest's name> }`. @default - none */
  readonly dimensions?: Readonly<Record<string, string>>;
  /** The metric counted once per degraded (rules-fallback) decision. @default 'ModelFallback' */
  readonly degradedMetric?: string;
}

export interface ObservabilityProps {
  /** Construct trees searched for functions, APIs, streams, dead-letter queues, endpoints, monitors, state machines. */
  readonly sources: readonly IConstruct[];
  /** Encrypts the alarm topic (CloudWatch is allowed to use it for alarms of this account and region). */
  readonly key: IKey;
  readonly thresholds: ObservabilityThresholds;
  /** The scorer whose degraded-decision rate is watched. @default - no degraded-decision rate */
  readonly decisions?: DecisionMetricsSource;
  /** Each real-time model's predict function, by model name: its predictions by outcome and degraded rate.
   *  @default - none */
  readonly predictions?: Readonly<Record<string, PredictionMetricsSource>>;
}

/** Where a predict function counts its predictions (`Predictions`, `Prediction_<outcome>`, `ModelFallback`). */
export interface PredictionMetricsSource {
  readonly function: ServiceFunction;
  /** The model policy's outcomes, one graph line each. */
  readonly outcomes: readonly string[];
}

/** The Powertools identity of a ServiceFunction, as its environment gives it. */
export interface PowertoolsIdentity {
  readonly namespace: string;
  readonly service: string;
  readonly environment: Readonly<Record<string, unknown>>;
}

/** Reads a ServiceFunction's Powertools namespace and service name from the environment the construct gave it. */
export function powertoolsIdentity(fn: ServiceFunction): PowertoolsIdentity {
  const cfn = fn.function.node.defaultChild as CfnFunction;
  const resolved = Stack.of(fn).resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined;
  const environment = resolved?.variables ?? {};
  const namespace = environment.POWERTOOLS_METRICS_NAMESPACE;
  const service = environment.POWERTOOLS_SERVICE_NAME;
  if (typeof namespace !== 'string' || typeof service !== 'string') {
    throw new Error(
      `${fn.node.path}: expected POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME in its environment`,
    );
  }
  return { namespace, service, environment };
}

const FIVE_MINUTES = Duration.minutes(5);
const WIDE = 24;
const THIRD = 8;

export class Observability extends Construct {
  /** Every alarm of this construct publishes here (ALARM and OK). */
  public readonly alarmTopic: Topic;
  public readonly dashboard: Dashboard;
  /** Each alarm by a readable key, e.g. `function:Services/Score:errors`, for tests and further wiring. */
  public readonly alarms: Readonly<Record<string, IAlarm>>;

  private readonly alarmsByKey: Record<string, IAlarm> = {};
  /** Widgets below the alarm grid, in section order. */
  private readonly pending: Array<TextWidget | GraphWidget> = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    validate(props.thresholds);
    if (props.sources.length === 0) throw new Error('sources must name at least one construct tree to observe');
    const t = props.thresholds;
    const stack = Stack.of(this);

    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'AIMS alarms',
      masterKey: props.key,
      enforceSSL: true,
    });
    // Alarms publish as the CloudWatch service: the topic and its key allow this account's alarms only.
    const alarmArns = stack.formatArn({
      service: 'cloudwatch',
      resource: 'alarm',
      resourceName: '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': alarmArns },
    };
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    props.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );

    const found = discover(props.sources);
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });

    this.apis(found.apis, t);
    if (props.decisions) this.degradedDecisions(props.decisions, t);
    for (const [model, source] of Object.entries(props.predictions ?? {})) this.predictions(model, source, t);
    this.functions(found.functions, t);
    this.streams(found.functions, found.streams, t);
    this.deadLetterQueues(found.deadLetterQueues, t);
    this.endpoints(found.endpoints, t);
    this.drift(found.functions, found.monitors, t);
    this.shadows(found.functions);
    this.stateMachines(
      found.stateMachines.filter((m) => !(m.node.scope instanceof BatchInference)),
      t,
    );
    this.batchRuns(found.stateMachines.filter((m) => m.node.scope instanceof BatchInference));

    this.alarms = { ...this.alarmsByKey };
    const all = Object.values(this.alarmsByKey);
    // The status grid first: a page opens on what is red.
    const status: AlarmStatusWidget[] = [];
    for (let i = 0; i < all.length; i += 100) {
      status.push(new AlarmStatusWidget({ title: 'Alarms', alarms: all.slice(i, i + 100), width: WIDE, height: 6 }));
    }
    this.dashboard.addWidgets(...status);
    this.dashboard.addWidgets(...this.pending);
  }

  private section(title: string): void {
    this.pending.push(new TextWidget({ markdown: `## ${title}`, width: WIDE, height: 1 }));
  }

  private graph(title: string, left: IMetric[], right: IMetric[] = [], width = THIRD): void {
    this.pending.push(new GraphWidget({ title, left, right, width, height: 6 }));
  }

  private alarm(
    key: string,
    metric: IMetric,
    threshold: number,
    description: string,
    options: {
      comparison?: ComparisonOperator;
      evaluationPeriods?: number;
      missing?: TreatMissingData;
    } = {},
  ): Alarm {
    if (this.alarmsByKey[key]) throw new Error(`two alarms are keyed '${key}'`);
    const alarm = new Alarm(this, `Alarm-${key.replace(/[^A-Za-z0-9-]/g, '-')}`, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
    });
    this.notify(alarm);
    this.alarmsByKey[key] = alarm;
    return alarm;
  }

  private notify(alarm: Alarm | CompositeAlarm): void {
    const action = new SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }

  private apis(apis: RestApiBase[], t: ObservabilityThresholds): void {
    if (apis.length === 0) return;
    this.section('API');
    for (const api of apis) {
      const stage = api.deploymentStage;
      const name = api.node.path;
      const count = stage.metricCount({ period: FIVE_MINUTES, label: 'requests' });
      const clientErrors = stage.metricClientError({ period: FIVE_MINUTES, label: '4xx' });
      const serverErrors = stage.metricServerError({ period: Duration.minutes(1) });
      const latency = stage.metricLatency({ statistic: 'p99', period: Duration.minutes(1) });
      // 4XXError's Average is the share of requests answered 4xx.
      const clientErrorPercent = new MathExpression({
        expression: '100 * e',
        usingMetrics: { e: stage.metricClientError({ statistic: 'Average', period: FIVE_MINUTES }) },
        label: '4xx %',
        period: FIVE_MINUTES,
      });
      this.graph(`${name}: requests and errors`, [count, clientErrors, labelled(serverErrors, '5xx')]);
      this.graph(`${name}: 4xx share (%)`, [clientErrorPercent]);
      this.graph(`${name}: latency p99 (ms)`, [labelled(latency, 'latency p99')]);
      this.alarm(`api:${name}:5xx`, serverErrors, t.api5xxPerMinute, `${name}: 5xx responses per minute`);
      this.alarm(`api:${name}:4xx`, clientErrorPercent, t.api4xxPercent, `${name}: share of 4xx responses (%)`);
      this.alarm(`api:${name}:latency`, latency, t.apiLatencyP99Ms, `${name}: latency p99 (ms)`, {
        evaluationPeriods: 3,
      });
    }
  }

  private degradedDecisions(source: DecisionMetricsSource, t: ObservabilityThresholds): void {
    const { namespace, service } = powertoolsIdentity(source.function);
    const dimensionsMap = { service, ...(source.dimensions ?? {}) };
    const count = (metricName: string) =>
      new Metric({ namespace, metricName, dimensionsMap, statistic: 'Sum', period: FIVE_MINUTES });
    const decisionIds = DECISIONS.map((d) => `d_${d}`);
    const usingMetrics: Record<string, IMetric> = { degraded: count(source.degradedMetric ?? 'ModelFallback') };
    for (const d of DECISIONS) usingMetrics[`d_${d}`] = count(`Decision_${d}`);
    const all = decisionIds.map((id) => `FILL(${id}, 0)`).join(' + ');
    // No decisions in a period is no data (not 0 %): the alarm treats that as not breaching.
    const rate = new MathExpression({
      expression: `100 * FILL(degraded, 0) / (${all})`,
      usingMetrics,
      label: 'degraded decisions %',
      period: FIVE_MINUTES,
    });
    this.section('Decisions');
    this.graph(
      'Decisions by outcome',
      DECISIONS.map((d) => count(`Decision_${d}`).with({ label: d })),
    );
    this.graph('Degraded decisions (%)', [rate]);
    this.alarm(
      'decisions:degraded',
      rate,
      t.degradedDecisionPercent,
      'Share of decisions taken by the rules fallback because the model was unavailable (%)',
      { evaluationPeriods: 2 },
    );
  }

  /** A real-time model's section: predictions by outcome, and the share its baseline answered (alarmed as decisions). */
  private predictions(model: string, source: PredictionMetricsSource, t: ObservabilityThresholds): void {
    const { namespace, service } = powertoolsIdentity(source.function);
    const count = (metricName: string) =>
      new Metric({
        namespace,
        metricName,
        dimensionsMap: { service, model },
        statistic: 'Sum',
        period: FIVE_MINUTES,
      });
    const rate = new MathExpression({
      expression: '100 * FILL(degraded, 0) / predictions',
      usingMetrics: { degraded: count('ModelFallback'), predictions: count('Predictions') },
      label: 'degraded predictions %',
      period: FIVE_MINUTES,
    });
    this.section(`Predictions: ${model}`);
    this.graph(
      `${model}: predictions by outcome`,
      source.outcomes.map((o) => count(`Prediction_${o}`).with({ label: o })),
    );
    this.graph(`${model}: degraded predictions (%)`, [rate]);
    this.alarm(
      `predictions:${model}:degraded`,
      rate,
      t.degradedDecisionPercent,
      `${model}: share of predictions its baseline answered because the model was unavailable (%)`,
      { evaluationPeriods: 2 },
    );
  }

  private functions(functions: ServiceFunction[], t: ObservabilityThresholds): void {
    if (functions.length === 0) return;
    this.section('Functions');
    for (const fn of functions) {
      const name = fn.node.path;
      const timeoutSeconds = (fn.function.node.defaultChild as CfnFunction).timeout ?? 3;
      const errors = fn.function.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' });
      const throttles = fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' });
      const duration = fn.function.metricDuration({ period: FIVE_MINUTES, statistic: 'p99' });
      this.graph(
        name,
        [labelled(errors, 'errors'), labelled(throttles, 'throttles')],
        [labelled(duration, 'duration p99 (ms)')],
      );
      this.alarm(`function:${name}:errors`, errors, t.functionErrorsPer5Min, `${name}: errors in 5 minutes`);
      this.alarm(
        `function:${name}:throttles`,
        throttles,
        t.functionThrottlesPer5Min,
        `${name}: throttles in 5 minutes`,
      );
      this.alarm(
        `function:${name}:duration`,
        duration,
        (timeoutSeconds * 1000 * t.functionDurationP99PercentOfTimeout) / 100,
        `${name}: duration p99 above ${t.functionDurationP99PercentOfTimeout}% of its ${timeoutSeconds} s timeout`,
        { evaluationPeriods: 2 },
      );
      this.provisionedConcurrency(fn);
    }
  }

  /**
   * A live alias with provisioned concurrency: its utilization beside the spillover, and an alarm when calls keep
   * spilling onto on-demand environments (cold starts on the request path: the scaling maximum is too low, or
   * target tracking lags a ramp).
   */
  private provisionedConcurrency(fn: ServiceFunction): void {
    const alias = fn.alias;
    if (!alias || !(alias.node.defaultChild as CfnAlias).provisionedConcurrencyConfig) return;
    const name = `${fn.node.path}:${alias.aliasName}`;
    const spillover = alias.metric('ProvisionedConcurrencySpilloverInvocations', {
      period: FIVE_MINUTES,
      statistic: 'Sum',
    });
    const utilization = alias.metric('ProvisionedConcurrencyUtilization', {
      period: Duration.minutes(1),
      statistic: 'Maximum',
    });
    this.graph(
      `${name} provisioned concurrency`,
      [labelled(spillover, 'spillover invocations')],
      [labelled(utilization, 'utilization (max)')],
    );
    this.alarm(
      `function:${name}:spillover`,
      spillover,
      0,
      `${name}: calls spilled past provisioned concurrency onto cold environments in 3 consecutive 5-minute periods`,
      { evaluationPeriods: 3 },
    );
  }

  private streams(functions: ServiceFunction[], streams: Stream[], t: ObservabilityThresholds): void {
    const consumers = functions.filter((fn) => streamMappings(fn).length > 0);
    if (consumers.length === 0 && streams.length === 0) return;
    this.section('Streams');
    for (const stream of streams) {
      this.graph(
        `${stream.node.path}: records`,
        [
          stream.metricIncomingRecords({ statistic: 'Sum', period: FIVE_MINUTES, label: 'incoming records' }),
          stream.metricWriteProvisionedThroughputExceeded({ statistic: 'Sum', label: 'write throttled' }),
        ],
        [stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', label: 'iterator age (ms)' })],
      );
    }
    for (const fn of consumers) {
      const name = fn.node.path;
      // The age of the last record the mapping read: how far the consumer is behind the stream.
      const age = fn.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) });
      this.graph(`${name}: iterator age (ms)`, [labelled(age, 'iterator age (ms)')]);
      this.alarm(`stream:${name}:iterator-age`, age, t.iteratorAgeMs, `${name}: stream iterator age (ms)`, {
        evaluationPeriods: 3,
      });
    }
  }

  private deadLetterQueues(queues: Queue[], t: ObservabilityThresholds): void {
    if (queues.length === 0) return;
    this.section('Dead-letter queues');
    const visible = (q: Queue) =>
      q.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FIVE_MINUTES });
    this.graph(
      'Messages waiting',
      queues.map((q) => labelled(visible(q), q.node.path)),
      [],
      WIDE,
    );
    for (const queue of queues) {
      this.alarm(
        `dlq:${queue.node.path}`,
        visible(queue),
        t.deadLetterMessages,
        `${queue.node.path}: messages in a dead-letter queue (work that failed after retries)`,
        { comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD },
      );
    }
  }

  private endpoints(endpoints: ModelEndpoint[], t: ObservabilityThresholds): void {
    if (endpoints.length === 0) return;
    this.section('Model endpoints');
    for (const endpoint of endpoints) {
      const { production, shadow } = variantsOf(endpoint);
      for (const variant of [...production, ...shadow]) {
        const paging = production.includes(variant);
        const name = `${endpoint.endpointName}/${variant}`;
        const dims = { EndpointName: endpoint.endpointName, VariantName: variant };
        const sm = (metricName: string, statistic: string) =>
          new Metric({
            namespace: 'AWS/SageMaker',
            metricName,
            dimensionsMap: dims,
            statistic,
            period: Duration.minutes(1),
          });
        const host = (metricName: string) =>
          new Metric({
            namespace: '/aws/sagemaker/Endpoints',
            metricName,
            dimensionsMap: dims,
            statistic: 'Average',
            period: FIVE_MINUTES,
          });
        const invocations = sm('Invocations', 'Sum');
        const errors = sm('Invocation5XXErrors', 'Sum');
        // ModelLatency is reported in microseconds.
        const latency = new MathExpression({
          expression: 'l / 1000',
          usingMetrics: { l: sm('ModelLatency', 'p99') },
          label: 'model latency p99 (ms)',
          period: Duration.minutes(1),
        });
        const cpu = host('CPUUtilization');
        const gpu = host('GPUUtilization');
        this.graph(`${name}: invocations`, [labelled(invocations, 'invocations'), labelled(errors, '5xx')]);
        this.graph(`${name}: model latency p99 (ms)`, [latency]);
        this.graph(`${name}: utilisation`, [
          labelled(cpu, 'CPU %'),
          labelled(gpu, 'GPU %'),
          labelled(host('MemoryUtilization'), 'memory %'),
          labelled(host('GPUMemoryUtilization'), 'GPU memory %'),
        ]);
        if (!paging) continue;
        this.alarm(
          `endpoint:${name}:5xx`,
          errors,
          t.models.invocation5xxPerMinute,
          `${name}: invocation 5xx per minute`,
        );
        this.alarm(`endpoint:${name}:latency`, latency, t.models.modelLatencyP99Ms, `${name}: model latency p99 (ms)`, {
          evaluationPeriods: 3,
        });
        this.alarm(`endpoint:${name}:cpu`, cpu, t.endpointCpuUtilizationPercent, `${name}: CPU utilisation`, {
          evaluationPeriods: 3,
        });
        this.alarm(`endpoint:${name}:gpu`, gpu, t.endpointGpuUtilizationPercent, `${name}: GPU utilisation`, {
          evaluationPeriods: 3,
        });
      }
    }
  }

  private drift(functions: ServiceFunction[], monitors: ModelMonitor[], t: ObservabilityThresholds): void {
    const checks = functions.flatMap((fn) => {
      const id = powertoolsIdentity(fn);
      if (id.namespace !== DRIFT_METRICS.namespace || id.service !== DRIFT_METRICS.service) return [];
      const model = id.environment.MODEL_NAME;
      const psi = parsePsiThresholds(fn, id.environment.PSI_THRESHOLDS);
      if (typeof model !== 'string') throw new Error(`${fn.node.path}: a drift check needs MODEL_NAME`);
      return [{ fn, model, featurePsi: psi }];
    });
    if (checks.length === 0 && monitors.length === 0) return;
    this.section('Drift');
    for (const { fn, model, featurePsi } of checks) {
      const period = Duration.minutes(t.driftCheckMinutes);
      const m = (metricName: string, statistic: string) =>
        new Metric({
          namespace: DRIFT_METRICS.namespace,
          metricName,
          dimensionsMap: { service: DRIFT_METRICS.service, model },
          statistic,
          period,
        });
      const scoreShift = m('ScoreShiftPsi', 'Maximum');
      const featureMax = m('FeaturePsiMax', 'Maximum');
      const runs = m('DriftSamples', 'SampleCount');
      this.graph(
        `${model}: stream drift (PSI)`,
        [labelled(scoreShift, 'score PSI'), labelled(featureMax, 'max feature PSI')],
        [labelled(m('DriftSamples', 'Sum'), 'samples')],
      );
      this.alarm(`drift:${model}:score-psi`, scoreShift, t.models.scoreShiftPsi, `${model}: served score PSI`);
      this.alarm(`drift:${model}:feature-psi`, featureMax, featurePsi, `${model}: largest feature PSI of the window`);
      // The check reports every run, judged or not: silence means it stopped running.
      this.alarm(`drift:${model}:silent`, runs, 1, `${fn.node.path}: the stream drift check has stopped reporting`, {
        comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: t.driftCheckMissedRuns,
        missing: TreatMissingData.BREACHING,
      });
    }
    for (const monitor of monitors) {
      if (monitor.driftAlarms.length === 0) continue;
      const name = monitor.node.path;
      this.graph(
        `${name}: Model Monitor baseline drift`,
        monitor.driftAlarms.map((a) => a.metric),
        [],
      );
      // Model Monitor's own alarms (their threshold is the monitor's distance): one page when any fires.
      const composite = new CompositeAlarm(this, `Alarm-monitor-${sanitize(name)}`, {
        alarmDescription: `${name}: Model Monitor found baseline drift in at least one feature`,
        alarmRule: AlarmRule.anyOf(...monitor.driftAlarms),
      });
      this.notify(composite);
      this.alarmsByKey[`monitor:${name}`] = composite;
    }
  }

  /** Shadow comparisons (environments with a shadow variant): the challenger disagreeing with the champion. */
  private shadows(functions: ServiceFunction[]): void {
    const comparisons = functions.flatMap((fn) => {
      const id = powertoolsIdentity(fn);
      if (id.namespace !== SHADOW_METRICS.namespace || id.service !== SHADOW_METRICS.service) return [];
      const model = id.environment.MODEL_NAME;
      if (typeof model !== 'string') throw new Error(`${fn.node.path}: a shadow comparison needs MODEL_NAME`);
      return [{ fn, model, thresholds: parseShadowThresholds(fn, id.environment.SHADOW_THRESHOLDS) }];
    });
    if (comparisons.length === 0) return;
    this.section('Shadow');
    for (const { model, thresholds } of comparisons) {
      // An hour holds at least one run of any schedule up to hourly; judged runs only publish agreement and PSI.
      const m = (metricName: string, statistic: string) =>
        new Metric({
          namespace: SHADOW_METRICS.namespace,
          metricName,
          dimensionsMap: { service: SHADOW_METRICS.service, model },
          statistic,
          period: Duration.hours(1),
        });
      const agreement = m('ShadowAgreement', 'Minimum');
      const psi = m('ShadowScorePsi', 'Maximum');
      this.graph(
        `${model}: shadow vs champion`,
        [labelled(agreement, 'decision agreement'), labelled(psi, 'score PSI')],
        [labelled(m('ShadowPairs', 'Sum'), 'pairs'), labelled(m('ShadowMeanAbsDiff', 'Maximum'), 'mean |diff|')],
      );
      this.alarm(
        `shadow:${model}:agreement`,
        agreement,
        thresholds.minAgreement,
        `${model}: the shadow's decisions disagree with the champion's (agreement below the manifest minimum)`,
        { comparison: ComparisonOperator.LESS_THAN_THRESHOLD },
      );
      this.alarm(
        `shadow:${model}:score-psi`,
        psi,
        thresholds.maxScorePsi,
        `${model}: the shadow's score distribution differs from the champion's (PSI)`,
      );
    }
  }

  /** Each batch model's nightly run: one run a day, so any failed or timed-out execution alarms. */
  private batchRuns(machines: StateMachine[]): void {
    if (machines.length === 0) return;
    this.section('Batch inference');
    for (const machine of machines) {
      const name = machine.node.path;
      const day = { period: Duration.days(1), statistic: 'Sum' };
      const failures = failedExecutions(machine, Duration.days(1));
      this.graph(`${name}: nightly runs`, [
        machine.metricStarted({ ...day, label: 'started' }),
        machine.metricSucceeded({ ...day, label: 'succeeded' }),
        failures,
      ]);
      this.alarm(`batch:${name}:failures`, failures, 0, `${name}: a nightly batch run failed or timed out`);
    }
  }

  private stateMachines(machines: StateMachine[], t: ObservabilityThresholds): void {
    if (machines.length === 0) return;
    this.section('Retraining');
    for (const machine of machines) {
      const name = machine.node.path;
      const hour = { period: Duration.hours(1), statistic: 'Sum' };
      const failures = failedExecutions(machine, Duration.hours(1));
      this.graph(`${name}: executions`, [
        machine.metricStarted({ ...hour, label: 'started' }),
        machine.metricSucceeded({ ...hour, label: 'succeeded' }),
        failures,
      ]);
      this.alarm(`retraining:${name}:failures`, failures, t.retrainingFailuresPerHour, `${name}: failed executions`);
    }
  }
}

/** A state machine's failed and timed-out executions per `period` (zero when there were none). */
function failedExecutions(machine: StateMachine, period: Duration): MathExpression {
  const sum = { period, statistic: 'Sum' };
  return new MathExpression({
    expression: 'FILL(f, 0) + FILL(t, 0)',
    usingMetrics: { f: machine.metricFailed(sum), t: machine.metricTimedOut(sum) },
    label: 'failed or timed out',
    period,
  });
}

interface Discovered {
  readonly apis: RestApiBase[];
  readonly functions: ServiceFunction[];
  readonly streams: Stream[];
  readonly deadLetterQueues: Queue[];
  readonly endpoints: ModelEndpoint[];
  readonly monitors: ModelMonitor[];
  readonly stateMachines: StateMachine[];
}

function discover(sources: readonly IConstruct[]): Discovered {
  const seen = new Set<IConstruct>();
  const all = sources.flatMap((s) => s.node.findAll()).filter((c) => !seen.has(c) && seen.add(c));
  const of = <T>(type: abstract new (...args: never[]) => T): T[] =>
    all.filter((c): c is T & IConstruct => c instanceof type);
  return {
    apis: of(RestApiBase),
    functions: of(ServiceFunction),
    streams: of(Stream),
    // cdk-nag (AwsSolutions-SQS3) holds every queue without a dead-letter queue of its own to be one.
    deadLetterQueues: of(Queue).filter((q) => q.deadLetterQueue === undefined),
    endpoints: of(ModelEndpoint),
    monitors: of(ModelMonitor),
    stateMachines: of(StateMachine),
  };
}

/** Event-source mappings of the function that read a stream (they have a starting position; queues do not). */
function streamMappings(fn: ServiceFunction): EventSourceMapping[] {
  return fn.function.node.children.filter(
    (c): c is EventSourceMapping =>
      c instanceof EventSourceMapping &&
      c.node.defaultChild instanceof CfnEventSourceMapping &&
      c.node.defaultChild.startingPosition !== undefined,
  );
}

function variantsOf(endpoint: ModelEndpoint): { production: string[]; shadow: string[] } {
  const names = (variants: unknown): string[] =>
    Array.isArray(variants)
      ? variants.map((v: { variantName?: unknown }) => {
          if (typeof v.variantName !== 'string' || Token.isUnresolved(v.variantName)) {
            throw new Error(`${endpoint.node.path}: every variant needs a literal variantName`);
          }
          return v.variantName;
        })
      : [];
  const config = endpoint.endpointConfig;
  return {
    production: names(config.productionVariants as unknown[] | IResolvable),
    shadow: names(config.shadowProductionVariants),
  };
}

function parsePsiThresholds(fn: ServiceFunction, raw: unknown): number {
  try {
    const parsed = JSON.parse(typeof raw === 'string' ? raw : '') as { default?: unknown };
    if (typeof parsed.default === 'number') return parsed.default;
  } catch {
    // Reported below with what was found.
  }
  throw new Error(`${fn.node.path}: PSI_THRESHOLDS must be JSON with a numeric 'default', got ${String(raw)}`);
}

function parseShadowThresholds(fn: ServiceFunction, raw: unknown): { minAgreement: number; maxScorePsi: number } {
  try {
    const parsed = JSON.parse(typeof raw === 'string' ? raw : '') as { minAgreement?: unknown; maxScorePsi?: unknown };
    if (typeof parsed.minAgreement === 'number' && typeof parsed.maxScorePsi === 'number') {
      return { minAgreement: parsed.minAgreement, maxScorePsi: parsed.maxScorePsi };
    }
  } catch {
    // Reported below with what was found.
  }
  throw new Error(
    `${fn.node.path}: SHADOW_THRESHOLDS must be JSON with numeric 'minAgreement' and 'maxScorePsi', got ${String(raw)}`,
  );
}

/** Labels belong on the dashboard; an alarm on a labelled metric renders in the (harder to read) Metrics form. */
function labelled(metric: Metric, label: string): Metric {
  return metric.with({ label });
}

function sanitize(path: string): string {
  return path.replace(/[^A-Za-z0-9-]/g, '-');
}

function validate(t: ObservabilityThresholds): void {
  const nonNegative: Array<[string, number]> = [
    ['apiLatencyP99Ms', t.apiLatencyP99Ms],
    ['api5xxPerMinute', t.api5xxPerMinute],
    ['iteratorAgeMs', t.iteratorAgeMs],
    ['functionErrorsPer5Min', t.functionErrorsPer5Min],
    ['functionThrottlesPer5Min', t.functionThrottlesPer5Min],
    ['endpointCpuUtilizationPercent', t.endpointCpuUtilizationPercent],
    ['endpointGpuUtilizationPercent', t.endpointGpuUtilizationPercent],
    ['retrainingFailuresPerHour', t.retrainingFailuresPerHour],
  ];
  for (const [name, value] of nonNegative) {
    if (!(Number.isFinite(value) && value >= 0)) throw new Error(`alarms.${name} must be a number >= 0, got ${value}`);
  }
  const percents: Array<[string, number]> = [
    ['degradedDecisionPercent', t.degradedDecisionPercent],
    ['api4xxPercent', t.api4xxPercent],
    ['functionDurationP99PercentOfTimeout', t.functionDurationP99PercentOfTimeout],
  ];
  for (const [name, value] of percents) {
    if (!(value > 0 && value <= 100)) throw new Error(`alarms.${name} must be a percent in (0, 100], got ${value}`);
  }
  if (!(Number.isInteger(t.deadLetterMessages) && t.deadLetterMessages >= 1)) {
    throw new Error(`alarms.deadLetterMessages must be an integer >= 1, got ${t.deadLetterMessages}`);
  }
  if (!(Number.isInteger(t.driftCheckMissedRuns) && t.driftCheckMissedRuns >= 1)) {
    throw new Error(`alarms.driftCheckMissedRuns must be an integer >= 1, got ${t.driftCheckMissedRuns}`);
  }
  if (!(Number.isInteger(t.driftCheckMinutes) && t.driftCheckMinutes >= 1)) {
    throw new Error(`driftCheckMinutes must be a whole number of minutes >= 1, got ${t.driftCheckMinutes}`);
  }
  // CloudWatch evaluates at most one day of periods.
  if (t.driftCheckMinutes * t.driftCheckMissedRuns > 24 * 60) {
    throw new Error(
      `driftCheckMinutes × driftCheckMissedRuns must be at most 1440 minutes, got ${t.driftCheckMinutes * t.driftCheckMissedRuns}`,
    );
  }
}
