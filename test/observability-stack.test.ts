// The observability stack: per environment one dashboard and alarms derived from the stage's stacks, to one topic.

import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { STAGE_NAMES, type StageName } from '../lib/config/environment-config.js';
import { environments } from '../lib/config/environments.js';
import { modelEndpointName } from '../lib/config/models.js';
import { Observability, type ObservabilityThresholds } from '../lib/constructs/observability.js';
import { PROJECT_ROOT, ServiceFunction } from '../lib/constructs/service-function.js';
import { ObservabilityStack } from '../lib/stacks/observability-stack.js';
import type { AimsStage } from '../lib/stages/aims-stage.js';
import { DECISIONS } from '../models/shared/contracts/decision.js';
import { loadManifest } from '../models/shared/manifest.js';
import { cleanTestApps, testApp } from './support/app.js';

// biome-ignore lint/suspicious/noExplicitAny: template bodies are untyped JSON walked by path.
type Json = any;

const thresholdsOf = (name: StageName): ObservabilityThresholds => {
  const config = environments[name];
  return { ...config.alarms, models: config.lifecycle.alarms, driftCheckMinutes: config.lifecycle.driftCheckMinutes };
};

/** Another observability stack over the same stage: derivation means it sees whatever exists when it is built. */
const observeAgain = (stage: AimsStage, name: StageName) =>
  new ObservabilityStack(stage, 'ObservabilityAgain', {
    description: `AIMS ${name}: dashboard and alarms of every stack in the stage`,
    data: stage.data,
    services: stage.services,
    models: stage.models,
    retraining: stage.retraining,
    thresholds: thresholdsOf(name),
  });

const { stages } = testApp();
// The stage builds its observability stack from its own stacks and config (nothing listed by hand).
const built = Object.fromEntries(
  STAGE_NAMES.map((name) => [name, { stage: stages[name], stack: stages[name].observability }]),
) as Record<StageName, { stage: AimsStage; stack: ObservabilityStack }>;
const templates = Object.fromEntries(
  STAGE_NAMES.map((name) => [name, Template.fromStack(built[name].stack)]),
) as Record<StageName, Template>;
afterAll(cleanTestApps);

const manifest = loadManifest(path.join(PROJECT_ROOT, 'models', 'fraud-detector'));
const alarmsOf = (template: Template): Json[] => Object.values(template.findResources('AWS::CloudWatch::Alarm'));
const withMetric = (template: Template, metricName: string): Json[] =>
  alarmsOf(template).filter(
    (a) =>
      a.Properties.MetricName === metricName ||
      (a.Properties.Metrics ?? []).some((m: Json) => m.MetricStat?.Metric?.MetricName === metricName),
  );
/** ServiceFunctions found independently of the construct under test. */
const functionsIn = (...scopes: IConstruct[]): ServiceFunction[] =>
  scopes.flatMap((s) => s.node.findAll()).filter((c): c is ServiceFunction => c instanceof ServiceFunction);
const logicalIdOf = (fn: ServiceFunction) => Stack.of(fn).getLogicalId(fn.function.node.defaultChild as CfnFunction);

describe.each(STAGE_NAMES)('GIVEN the %s stage with its observability stack', (name) => {
  const template = templates[name];
  const { stage, stack } = built[name];
  const config = environments[name];

  test('THEN there is one dashboard, named by CloudFormation, showing every section', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Json[];
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0].Properties.DashboardName).toBeUndefined();
    const body = JSON.stringify(stack.resolve(dashboards[0].Properties.DashboardBody));
    for (const section of ['API', 'Decisions', 'Functions', 'Streams', 'Dead-letter queues', 'Model endpoints']) {
      expect(body).toContain(`## ${section}`);
    }
    for (const metric of ['IteratorAge', 'GPUUtilization', 'CPUUtilization', 'ScoreShiftPsi', 'ExecutionsFailed']) {
      expect(body).toContain(metric);
    }
    // CloudWatch takes at most 500 widgets per dashboard.
    const widgets = body.match(/\\"type\\":\\"(metric|text|alarm)\\"/g) ?? [];
    expect(widgets.length).toBeGreaterThan(30);
    expect(widgets.length).toBeLessThanOrEqual(500);
  });

  test('THEN every function of the services, models and retraining stacks has errors, throttles and duration alarms', () => {
    const functions = functionsIn(stage.services, stage.models, stage.retraining);
    // The scorer, the drift check, the monitor relay and the retraining tasks are all among them.
    expect(functions.length).toBeGreaterThanOrEqual(15);
    for (const metric of ['Errors', 'Throttles', 'Duration']) {
      const alarms = withMetric(template, metric);
      expect(alarms).toHaveLength(functions.length);
      for (const fn of functions) {
        const id = logicalIdOf(fn);
        const matching = alarms.filter((a) => JSON.stringify(a.Properties.Dimensions).includes(id));
        expect({ fn: fn.node.path, metric, count: matching.length }).toEqual({ fn: fn.node.path, metric, count: 1 });
      }
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Statistic: 'Sum',
      Period: 300,
      Threshold: config.alarms.functionErrorsPer5Min,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Throttles',
      Threshold: config.alarms.functionThrottlesPer5Min,
    });
  });

  test('THEN a live alias with provisioned concurrency alarms when calls keep spilling onto cold environments', () => {
    const withProvisioned = functionsIn(stage.services, stage.models, stage.retraining).filter((fn) => fn.alias);
    const spillover = withMetric(template, 'ProvisionedConcurrencySpilloverInvocations');
    const provisioned = config.models['fraud-detector'].provisionedConcurrency;
    // Only the scorer has a live alias; it is provisioned where the environments table says so.
    expect(withProvisioned.map((fn) => fn.node.id)).toEqual(['Score']);
    expect(spillover).toHaveLength(provisioned ? 1 : 0);
    if (provisioned) {
      expect(spillover[0].Properties).toMatchObject({
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        EvaluationPeriods: 3,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      const dimensions = JSON.stringify(stack.resolve(spillover[0].Properties.Dimensions));
      expect(dimensions).toContain('Resource');
      expect(dimensions).toContain(':live');
    }
  });

  test("THEN each function's duration alarm sits at the configured share of its own timeout", () => {
    const score = stage.services.functions.score as ServiceFunction;
    const timeout = (score.function.node.defaultChild as CfnFunction).timeout as number;
    const alarm = withMetric(template, 'Duration').find((a) =>
      JSON.stringify(a.Properties.Dimensions).includes(logicalIdOf(score)),
    );
    expect(alarm.Properties.ExtendedStatistic).toBe('p99');
    expect(alarm.Properties.Threshold).toBeCloseTo(
      (timeout * 1000 * config.alarms.functionDurationP99PercentOfTimeout) / 100,
    );
  });

  test('THEN the API alarms on 5xx, the 4xx share and latency p99 with the configured thresholds', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Namespace: 'AWS/ApiGateway',
      Period: 60,
      Threshold: config.alarms.api5xxPerMinute,
      // The deployed stage, referenced (not named) across stacks.
      Dimensions: Match.arrayWith([
        { Name: 'ApiName', Value: stage.services.api.api.restApiName },
        Match.objectLike({ Name: 'Stage', Value: Match.objectLike({}) }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Threshold: config.alarms.apiLatencyP99Ms,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: config.alarms.api4xxPercent,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: '100 * e' }),
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: '4XXError' }), Stat: 'Average' }),
        }),
      ]),
    });
  });

  test('THEN the degraded-decision rate is fallbacks over all decisions, in percent, at the configured limit', () => {
    // The scorer's; each real-time model's predict function has its own (next test).
    const alarms = withMetric(template, 'ModelFallback').filter((a) => JSON.stringify(a).includes('"score"'));
    expect(alarms).toHaveLength(1);
    const props = alarms[0].Properties;
    expect(props.Threshold).toBe(config.alarms.degradedDecisionPercent);
    expect(props.TreatMissingData).toBe('notBreaching');
    const byId = Object.fromEntries(props.Metrics.map((m: Json) => [m.Id, m]));
    const decisionIds = DECISIONS.map((d) => `d_${d}`);
    expect(props.Metrics.find((m: Json) => m.Expression).Expression).toBe(
      `100 * FILL(degraded, 0) / (${decisionIds.map((id) => `FILL(${id}, 0)`).join(' + ')})`,
    );
    const dims = [
      { Name: 'model', Value: manifest.name },
      { Name: 'service', Value: 'score' },
    ];
    const stat = (id: string) => {
      const metric = byId[id].MetricStat.Metric;
      return {
        namespace: metric.Namespace,
        name: metric.MetricName,
        dims: metric.Dimensions,
        stat: byId[id].MetricStat.Stat,
      };
    };
    expect(stat('degraded')).toEqual({ namespace: 'AIMS', name: 'ModelFallback', dims, stat: 'Sum' });
    for (const d of DECISIONS) {
      expect(stat(`d_${d}`)).toEqual({ namespace: 'AIMS', name: `Decision_${d}`, dims, stat: 'Sum' });
    }
  });

  test('THEN both stream mappings (features on Kinesis, the outbox on the decisions stream) alarm on iterator age at the configured limit', () => {
    const alarms = withMetric(template, 'IteratorAge');
    const consumers = [stage.services.functions.features, stage.services.functions.outbox] as ServiceFunction[];
    expect(alarms).toHaveLength(consumers.length);
    for (const fn of consumers) {
      const alarm = alarms.find((a) => JSON.stringify(a.Properties.Dimensions).includes(logicalIdOf(fn)));
      expect(alarm?.Properties).toMatchObject({ Threshold: config.alarms.iteratorAgeMs, Statistic: 'Maximum' });
    }
  });

  test('THEN every dead-letter queue (features, events, outbox, bus, models, retraining) alarms on its first message', () => {
    const dlqs = [
      stage.services.featuresDeadLetterQueue,
      stage.services.eventsDeadLetterQueue,
      stage.services.outboxDeadLetterQueue,
      stage.data.busDeadLetterQueue,
      stage.models.deadLetterQueue,
      stage.retraining.deadLetterQueue,
    ];
    const queues = [stage.data, stage.services, stage.models, stage.retraining]
      .flatMap((s) => s.node.findAll())
      .filter((c) => c instanceof Queue);
    expect(queues).toHaveLength(dlqs.length);
    const alarms = withMetric(template, 'ApproximateNumberOfMessagesVisible');
    expect(alarms).toHaveLength(dlqs.length);
    for (const queue of dlqs) {
      const id = Stack.of(queue).getLogicalId(queue.node.defaultChild as never);
      const alarm = alarms.find((a) => JSON.stringify(a.Properties.Dimensions).includes(id));
      expect(alarm?.Properties).toMatchObject({
        Threshold: config.alarms.deadLetterMessages,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  test('THEN the champion variant alarms on 5xx, model latency (µs → ms) and CPU/GPU utilisation; a shadow never pages', () => {
    const endpointName = modelEndpointName(name, 'fraud-detector');
    const champion = [
      { Name: 'EndpointName', Value: endpointName },
      { Name: 'VariantName', Value: 'champion' },
    ];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocation5XXErrors',
      Namespace: 'AWS/SageMaker',
      Dimensions: champion,
      Threshold: config.lifecycle.alarms.invocation5xxPerMinute,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: config.lifecycle.alarms.modelLatencyP99Ms,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'l / 1000' }),
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'ModelLatency', Dimensions: champion }),
            Stat: 'p99',
          }),
        }),
      ]),
    });
    for (const [metric, threshold] of [
      ['CPUUtilization', config.alarms.endpointCpuUtilizationPercent],
      ['GPUUtilization', config.alarms.endpointGpuUtilizationPercent],
    ] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metric,
        Namespace: '/aws/sagemaker/Endpoints',
        Dimensions: champion,
        Threshold: threshold,
      });
    }
    expect(JSON.stringify(alarmsOf(template))).not.toContain('"Value":"shadow"');
    // A shadow variant, where the environment serves one, is on the dashboard all the same.
    const body = JSON.stringify(stack.resolve(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]));
    expect(body.includes(`${endpointName}/shadow`)).toBe(config.lifecycle.shadow !== false);
  });

  test('THEN each real-time model’s predictions alarm on the share its baseline answered, at the decisions’ limit', () => {
    const predict = withMetric(template, 'Predictions');
    const models = Object.keys(stage.services.predictFunctions).sort();
    expect(models).toEqual(expect.arrayContaining(['merchant-risk']));
    expect(predict).toHaveLength(models.length);
    for (const model of models) {
      const dims = [
        { Name: 'model', Value: model },
        { Name: 'service', Value: 'predict' },
      ];
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Threshold: config.alarms.degradedDecisionPercent,
        EvaluationPeriods: 2,
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: '100 * FILL(degraded, 0) / predictions' }),
          Match.objectLike({
            Id: 'degraded',
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ MetricName: 'ModelFallback', Dimensions: dims }),
            }),
          }),
          Match.objectLike({
            Id: 'predictions',
            MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Predictions', Dimensions: dims }) }),
          }),
        ]),
      });
    }
    // Its outcomes are graphed in its own vocabulary.
    const body = JSON.stringify(stack.resolve(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]));
    for (const outcome of ['clear', 'watch', 'block-review']) expect(body).toContain(`Prediction_${outcome}`);
  });

  test('THEN a shadow comparison, where the environment has a shadow, alarms on disagreement and score PSI', () => {
    const dims = [
      { Name: 'model', Value: 'fraud-detector' },
      { Name: 'service', Value: 'shadow-compare' },
    ];
    // Each model's shadow comparison alarms on its own; these are the fraud detector's.
    const shadowAlarms = alarmsOf(template).filter(
      (a) => JSON.stringify(a).includes('shadow-compare') && JSON.stringify(a).includes('"fraud-detector"'),
    );
    if (config.lifecycle.shadow === false) {
      expect(shadowAlarms).toEqual([]);
      return;
    }
    expect(shadowAlarms).toHaveLength(2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AIMS/Models',
      MetricName: 'ShadowAgreement',
      Dimensions: dims,
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: manifest.monitoring.shadow.minAgreement,
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ShadowScorePsi',
      Dimensions: dims,
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: manifest.monitoring.shadow.maxScorePsi,
    });
  });

  test('THEN the drift check alarms on score and feature PSI, and on going silent (missing data breaches)', () => {
    const dims = [
      { Name: 'model', Value: 'fraud-detector' },
      { Name: 'service', Value: 'model-drift' },
    ];
    const period = config.lifecycle.driftCheckMinutes * 60;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AIMS/Models',
      MetricName: 'ScoreShiftPsi',
      Dimensions: dims,
      Period: period,
      Threshold: config.lifecycle.alarms.scoreShiftPsi,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FeaturePsiMax',
      Dimensions: dims,
      Threshold: manifest.monitoring.psiThreshold,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DriftSamples',
      Statistic: 'SampleCount',
      Period: period,
      EvaluationPeriods: config.alarms.driftCheckMissedRuns,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
  });

  test("THEN Model Monitor's own drift alarms page through one composite alarm per model", () => {
    const monitor = stage.models.served['fraud-detector']?.monitor;
    expect(monitor?.driftAlarms.length).toBeGreaterThan(0);
    // One composite per monitored model: this one is the fraud detector's.
    const composites = (Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm')) as Json[]).filter(
      (c) => JSON.stringify(c.Properties.AlarmDescription).includes('fraud-detector'),
    );
    expect(composites).toHaveLength(1);
    const rule = JSON.stringify(composites[0].Properties.AlarmRule);
    for (const alarm of monitor?.driftAlarms ?? []) {
      expect(rule).toContain(Stack.of(alarm).getLogicalId(alarm.node.defaultChild as CfnAlarm));
    }
  });

  test('THEN every retraining state machine alarms on failed or timed-out executions', () => {
    const machines = stage.retraining.node.findAll().filter((c) => c instanceof StateMachine);
    expect(machines.length).toBe(Object.keys(stage.retraining.workflows).length);
    const failed = withMetric(template, 'ExecutionsFailed');
    // Batch models' nightly runs alarm on any failure (one run a day); the retraining runs at the configured rate.
    const isBatch = (alarm: Json) => /nightly batch run/.test(String(alarm.Properties.AlarmDescription));
    const batch = failed.filter(isBatch);
    expect(batch).toHaveLength(Object.keys(stage.models.batch).length);
    for (const alarm of batch) expect(alarm.Properties.Threshold).toBe(0);
    const alarms = failed.filter((a) => !isBatch(a));
    expect(alarms).toHaveLength(machines.length);
    for (const alarm of [...alarms, ...batch]) {
      expect(alarm.Properties.Metrics.find((m: Json) => m.Expression).Expression).toBe('FILL(f, 0) + FILL(t, 0)');
      expect(JSON.stringify(alarm.Properties.Metrics)).toContain('ExecutionsTimedOut');
    }
    for (const alarm of alarms) expect(alarm.Properties.Threshold).toBe(config.alarms.retrainingFailuresPerHour);
  });

  test('THEN every alarm sends ALARM and OK to the one alarm topic', () => {
    const topics = template.findResources('AWS::SNS::Topic');
    expect(Object.keys(topics)).toHaveLength(1);
    const topicRef = { Ref: Object.keys(topics)[0] };
    const all = [
      ...alarmsOf(template),
      ...(Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm')) as Json[]),
    ];
    expect(all.length).toBeGreaterThan(50);
    for (const alarm of all) {
      expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
      expect(alarm.Properties.OKActions).toEqual([topicRef]);
    }
    expect(stack.alarmTopic.node.defaultChild).toBeDefined();
  });

  test('THEN the topic is encrypted with the data key, TLS-only, and only this account’s alarms may publish', () => {
    const [topic] = Object.values(template.findResources('AWS::SNS::Topic')) as Json[];
    expect(JSON.stringify(topic.Properties.KmsMasterKeyId)).toContain(
      Stack.of(stage.data.key).getLogicalId(stage.data.key.node.defaultChild as never),
    );
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': config.account } }),
          }),
        ]),
      },
    });
    Template.fromStack(stage.data).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  test('THEN AwsSolutions finds no error and no warning in the stack', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.flatMap((v) => v.violatingResources.map(() => `${v.severity} ${v.ruleName}`));
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('GIVEN the environments side by side', () => {
  test('THEN their thresholds differ as the config says, with no branch on the stage name', () => {
    const latency = (name: StageName) => withMetric(templates[name], 'Latency')[0].Properties.Threshold;
    expect(STAGE_NAMES.map(latency)).toEqual(STAGE_NAMES.map((n) => environments[n].alarms.apiLatencyP99Ms));
    expect(new Set(STAGE_NAMES.map(latency)).size).toBe(STAGE_NAMES.length);
  });
});

describe('GIVEN a function added to a stack after the fact', () => {
  test('WHEN the observability stack is built THEN the function has its alarms with no change to the construct', () => {
    const { stages: fresh } = testApp();
    const added = new ServiceFunction(fresh.Dev.services, 'AddedLater', {
      entry: 'lambdas/health/handler.ts',
      serviceName: 'added-later',
      metricsNamespace: 'AIMS',
      logRetention: environments.Dev.logRetention,
      logRemovalPolicy: environments.Dev.removalPolicy,
      timeout: Duration.seconds(20),
    });
    const extraQueue = new Queue(fresh.Dev.retraining, 'AddedDeadLetterQueue', { enforceSSL: true });
    const stack = observeAgain(fresh.Dev, 'Dev');
    const keys = Object.keys(stack.observability.alarms);
    expect(keys).toEqual(
      expect.arrayContaining([
        `function:${added.node.path}:errors`,
        `function:${added.node.path}:throttles`,
        `function:${added.node.path}:duration`,
        `dlq:${extraQueue.node.path}`,
      ]),
    );
    const duration = stack.observability.alarms[`function:${added.node.path}:duration`]?.node.defaultChild as CfnAlarm;
    expect(duration.threshold).toBeCloseTo(
      (20_000 * environments.Dev.alarms.functionDurationP99PercentOfTimeout) / 100,
    );
  });
});

describe('GIVEN thresholds that make no sense', () => {
  test.each([
    [{ api4xxPercent: 0 }, /alarms\.api4xxPercent must be a percent in \(0, 100\], got 0/],
    [{ functionErrorsPer5Min: -1 }, /alarms\.functionErrorsPer5Min must be a number >= 0, got -1/],
    [{ deadLetterMessages: 0 }, /alarms\.deadLetterMessages must be an integer >= 1, got 0/],
    [{ driftCheckMinutes: 600, driftCheckMissedRuns: 3 }, /at most 1440 minutes, got 1800/],
  ])('WHEN %o THEN construction fails with what was expected', (override, message) => {
    const scope = new Stack();
    expect(
      () =>
        new Observability(scope, 'Observability', {
          sources: [scope],
          key: stages.Dev.data.key,
          thresholds: { ...thresholdsOf('Dev'), ...override },
        }),
    ).toThrow(message);
  });
});
