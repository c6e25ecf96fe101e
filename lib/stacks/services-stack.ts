// The scoring services: the API and its auth, every handler, the stream consumer, bus rules, the decision log and
// alerts. It receives the data stack's resources as objects and grants each function only what its code calls.
import { ArnFormat, Duration, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { type EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { type CfnRegistry, CfnSchema } from 'aws-cdk-lib/aws-eventschemas';
import { type IManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Stream } from 'aws-cdk-lib/aws-kinesis';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket, IBucket } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { z } from 'zod';
import {
  driftHistoryPrefix,
  driftStatusKey,
  ENTITY_LABELS_PREFIX,
  predictionModelPrefix,
} from '../../lambdas/shared/contracts/api.js';
import { DECISIONS_BY_DAY } from '../../lambdas/shared/contracts/decisions-table.js';
import { DETAIL_TYPES, EVENT_SOURCES, eventJsonSchemas } from '../../lambdas/shared/contracts/events.js';
import type { ApiClientConfig } from '../config/api-clients.js';
import type { EnvironmentConfig, ModelServingSettings } from '../config/environment-config.js';
import { ApiAuth } from '../constructs/api-auth.js';
import { deadLetterQueue } from '../constructs/dead-letter-queue.js';
import { DecisionLog } from '../constructs/decision-log.js';
import {
  acknowledgeWildcards,
  ModelRegistry,
  modelVersionsPrefix,
  nagBucketArn,
  VERSION_LAYOUT,
} from '../constructs/model-registry.js';
import { ScoringApi } from '../constructs/scoring-api.js';
import { ServiceFunction, type ServiceFunctionProps } from '../constructs/service-function.js';
import { BUCKET_LAYOUT } from './data-stack.js';

/** The data stack's resources the services use. */
export interface ServicesData {
  readonly key: Key;
  readonly lakeBucket: Bucket;
  readonly monitoringBucket: Bucket;
  readonly featuresTable: Table;
  readonly decisionsTable: Table;
  readonly labelsTable: Table;
  readonly idempotencyTable: Table;
  readonly transactionStream: Stream;
  readonly bus: EventBus;
  readonly schemaRegistry: CfnRegistry;
  readonly groundTruthWritePolicy: IManagedPolicy;
  readonly decisionLogDeliveryPolicy: IManagedPolicy;
}

/** The model the score service calls; the seam the model lifecycle fills in. */
export interface ScoringModel {
  readonly name: string;
  /** SageMaker endpoint name (derived from stage and model name). */
  readonly endpointName: string;
  /** Budget for one inference call before the baseline takes over (per environment: the model's modelTimeoutMs). */
  readonly timeoutMs: number;
  /** The model's module, relative to the repository root: the score and features bundles import it. */
  readonly module: string;
  /**
   * The inference component serving the model when its endpoint is built from one (an idle-to-zero endpoint, ADR 0005):
   * InvokeEndpoint must then name it. @default - none: the endpoint's production variants serve the model
   */
  readonly inferenceComponentName?: string;
}

/** A model served in real time: POST /v1/models/<name>/predict calls its endpoint through its own function. */
export interface PredictingModel extends ScoringModel {
  /** The module's request schema: the route's body in the API definition (API Gateway validates it). */
  readonly request: z.ZodType;
  /** This environment's thresholds for the model's output policy (MODEL_THRESHOLDS). */
  readonly thresholds: Readonly<Record<string, number>>;
}

/** A model whose module declares entity-level labels: POST /v1/models/<name>/labels stores them in the lake. */
export interface LabelledModel {
  readonly name: string;
  /** The model's module, relative to the repository root: the labels bundle imports it (its label schema). */
  readonly module: string;
  /** The module's label schema: the route's body in the API definition (API Gateway validates it). */
  readonly label: z.ZodType;
  /** What the label is about and what its outcome means (the module's `labels.entity` and `labels.outcome`). */
  readonly about: { readonly entity: string; readonly outcome: string };
}

/** One model the models API administers: its retraining state machine and its registry (package group + pointer). */
export interface AdministeredModel {
  readonly name: string;
  /** The version its bootstrap card records: the champion's version while the pointer is `bootstrap`. */
  readonly bootstrapVersion: string;
  readonly stateMachine: IStateMachine;
  readonly registry: ModelRegistry;
}

/** The model lifecycle's resources the models API (admin routes) reads and drives. */
export interface ServicesLifecycle {
  readonly models: readonly AdministeredModel[];
  /** How versions that pass the gate are approved here (manual: the approve route releases the parked token). */
  readonly approval: 'auto' | 'manual';
  /** The retraining lock table (the parked approval token lives on the model's item). */
  readonly lockTable: ITable;
  /** The stack the rollback updates with its previous template, as the retraining deploy step does. */
  readonly modelsStack: Stack;
  /** Where the stream drift checks write their latest assessment. */
  readonly driftStatusBucket: IBucket;
  /** Holds each registered version's files (the API reads their metrics.json). */
  readonly artifactsBucket: IBucket;
  /** Where batch models' nightly runs write their predictions (GET /v1/models/{name}/predictions reads them).
   *  @default - no model is served in batch */
  readonly predictions?: { readonly bucket: IBucket; readonly models: readonly string[] };
}

export interface ServicesStackProps extends StackProps {
  readonly data: ServicesData;
  readonly model: ScoringModel;
  /** The models served in real time (manifest `serving.modes` has 'realtime'): one predict function and route each.
   *  @default - none */
  readonly predictModels?: readonly PredictingModel[];
  /** The models with entity-level labels: one labels function and route each. @default - none */
  readonly labelledModels?: readonly LabelledModel[];
  readonly clients: readonly ApiClientConfig[];
  /** Cognito hosted-domain prefix (must be unique in the region). */
  readonly authDomainPrefix: string;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: RetentionDays;
  readonly memorySize: number;
  readonly api: EnvironmentConfig['api'];
  /** How this environment serves the model of POST /v1/score (its entry in the environments table's models). */
  readonly scoring: ModelServingSettings;
  readonly decisionTtlDays: number;
  readonly lifecycle: ServicesLifecycle;
}

export class ServicesStack extends Stack {
  public readonly auth: ApiAuth;
  public readonly api: ScoringApi;
  public readonly functions: Readonly<Record<string, ServiceFunction>>;
  /** The predict function of each real-time model, by model name. */
  public readonly predictFunctions: Readonly<Record<string, ServiceFunction>>;
  /** The labels function of each labelled model, by model name. */
  public readonly labelFunctions: Readonly<Record<string, ServiceFunction>>;
  public readonly decisionLog: DecisionLog;
  public readonly alertsTopic: Topic;
  /** Kinesis records the features service gave up on. */
  public readonly featuresDeadLetterQueue: Queue;
  /** Bus events a target could not take after retries. */
  public readonly eventsDeadLetterQueue: Queue;
  /** Decisions-stream batches the outbox gave up on (the mapping's on-failure destination). */
  public readonly outboxDeadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { data } = props;
    validate(props);

    const make = (
      fnId: string,
      entry: string,
      serviceName: string,
      extra: Partial<ServiceFunctionProps> = {},
    ): ServiceFunction =>
      new ServiceFunction(this, fnId, {
        entry,
        serviceName,
        metricsNamespace: 'AIMS',
        logRetention: props.logRetention,
        logRemovalPolicy: props.removalPolicy,
        memorySize: props.memorySize,
        ...extra,
      });

    this.decisionLog = new DecisionLog(this, 'DecisionLog', {
      bucket: data.lakeBucket,
      key: data.key,
      prefix: BUCKET_LAYOUT.decisionLog,
      errorPrefix: BUCKET_LAYOUT.decisionLogErrors,
      deliveryPolicy: data.decisionLogDeliveryPolicy,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.alertsTopic = new Topic(this, 'AlertsTopic', { masterKey: data.key, enforceSSL: true });

    this.featuresDeadLetterQueue = deadLetterQueue(this, 'FeaturesDeadLetterQueue', {
      removalPolicy: props.removalPolicy,
      acknowledgement: DLQ_ACKNOWLEDGEMENT,
    });
    this.eventsDeadLetterQueue = deadLetterQueue(this, 'EventsDeadLetterQueue', {
      removalPolicy: props.removalPolicy,
      acknowledgement: DLQ_ACKNOWLEDGEMENT,
    });
    this.outboxDeadLetterQueue = deadLetterQueue(this, 'OutboxDeadLetterQueue', {
      removalPolicy: props.removalPolicy,
      acknowledgement: DLQ_ACKNOWLEDGEMENT,
    });

    // Handlers, each granted exactly what its adapters call.
    const score = make('Score', 'lambdas/score/handler.ts', 'score', {
      description: 'Scores a transaction: features, model (rules fallback), decision, explanation, audit record',
      modelModule: props.model.module,
      modelTag: { model: props.model.name, role: 'score' },
      environment: {
        FEATURES_TABLE: data.featuresTable.tableName,
        DECISIONS_TABLE: data.decisionsTable.tableName,
        ...this.modelInvokeEnvironment(props.model),
        MODEL_NAME: props.model.name,
        MODEL_TIMEOUT_MS: String(props.model.timeoutMs),
        MODEL_THRESHOLDS: JSON.stringify(props.scoring.thresholds),
        DECISION_TTL_DAYS: String(props.decisionTtlDays),
      },
    });
    // The API integrates this alias in every environment, so requests land on the provisioned environments where
    // the environment has them (staging, prod) and the local stage routes the same alias ARN in dev.
    const scoreAlias = score.addLiveAlias({ provisionedConcurrency: props.scoring.provisionedConcurrency });
    score.allowTable(data.featuresTable, ['BatchGetItem', 'GetItem']);
    score.allowTable(data.decisionsTable, ['PutItem', 'GetItem']);
    this.allowModelInvoke(score, props.model);

    this.predictFunctions = this.predictFunctionsOf(make, props);

    const outbox = this.outboxFunction(make, data);

    const ingest = make('Ingest', 'lambdas/ingest/handler.ts', 'ingest', {
      description: 'Puts submitted transactions on the stream (partial success per record)',
      environment: { TRANSACTION_STREAM_NAME: data.transactionStream.streamName },
    });
    const ingestEvents = make('IngestEvents', 'lambdas/ingest/handler.ts', 'ingest', {
      handler: 'onTransactionSubmitted',
      description: 'Puts TransactionSubmitted bus events on the stream',
      environment: { TRANSACTION_STREAM_NAME: data.transactionStream.streamName },
    });
    for (const fn of [ingest, ingestEvents]) fn.allowStreamPut(data.transactionStream);

    const features = make('Features', 'lambdas/features/handler.ts', 'features', {
      description: 'Stream consumer: updates customer and merchant aggregates (idempotent, partial batch failures)',
      timeout: Duration.seconds(60),
      modelModule: props.model.module,
      modelTag: { model: props.model.name, role: 'features' },
      environment: { FEATURES_TABLE: data.featuresTable.tableName },
    });
    features.allowTable(data.featuresTable, ['GetItem', 'PutItem']);
    // The mapping and its grants are explicit: the L2 event source would also grant enhanced fan-out and queue
    // reads the mapping never uses.
    features.allowStreamRead(data.transactionStream);
    features.allowQueueSend(this.featuresDeadLetterQueue);
    const featuresDlq = this.featuresDeadLetterQueue;
    features.function.addEventSourceMapping('TransactionStream', {
      eventSourceArn: data.transactionStream.streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      bisectBatchOnError: true,
      retryAttempts: 3,
      maxRecordAge: Duration.hours(6),
      reportBatchItemFailures: true,
      onFailure: { bind: () => ({ destination: featuresDlq.queueArn }) },
    });

    const feedbackEnv = {
      LABELS_TABLE: data.labelsTable.tableName,
      DECISIONS_TABLE: data.decisionsTable.tableName,
      GROUND_TRUTH_BUCKET: data.monitoringBucket.bucketName,
      GROUND_TRUTH_PREFIX: BUCKET_LAYOUT.groundTruth,
    };
    const feedback = make('Feedback', 'lambdas/feedback/handler.ts', 'feedback', {
      description: 'Stores labels and writes Model Monitor ground truth; publishes LabelReported',
      environment: { ...feedbackEnv, EVENT_BUS_NAME: data.bus.eventBusName },
    });
    const feedbackEvents = make('FeedbackEvents', 'lambdas/feedback/events-handler.ts', 'feedback', {
      description: 'Stores LabelReported bus events from external publishers',
      environment: feedbackEnv,
    });
    for (const fn of [feedback, feedbackEvents]) {
      fn.allowTable(data.labelsTable, ['GetItem', 'PutItem']);
      // A label resolves its decision's review item (taking it out of the review queue).
      fn.allowTable(data.decisionsTable, ['UpdateItem']);
      fn.attachPolicy(data.groundTruthWritePolicy);
    }
    feedback.allowPutEvents(data.bus);
    this.labelFunctions = this.labelFunctionsOf(make, props);

    const decisions = make('Decisions', 'lambdas/decisions/handler.ts', 'decisions', {
      description: 'Reads decisions: an audit record, the list, the review queue, an audit trail, the live figures',
      environment: {
        DECISIONS_TABLE: data.decisionsTable.tableName,
        LABELS_TABLE: data.labelsTable.tableName,
        DECISION_TTL_DAYS: String(props.decisionTtlDays),
      },
    });
    decisions.allowTable(data.decisionsTable, ['GetItem', 'BatchGetItem']);
    decisions.allowIndexQuery(data.decisionsTable, DECISIONS_BY_DAY.indexName);
    decisions.allowTable(data.labelsTable, ['GetItem', 'BatchGetItem']);

    const review = make('Review', 'lambdas/review/handler.ts', 'review', {
      description: 'Overrides a decision: a new audit record pointing at the original, the review item resolved',
      environment: { DECISIONS_TABLE: data.decisionsTable.tableName },
    });
    review.allowTable(data.decisionsTable, ['GetItem', 'PutItem', 'UpdateItem']);

    const alerts = make('Alerts', 'lambdas/alerts/handler.ts', 'alerts', {
      description: 'Publishes FraudSuspected events to the alerts topic, once per transaction',
      environment: { ALERTS_TOPIC_ARN: this.alertsTopic.topicArn, IDEMPOTENCY_TABLE: data.idempotencyTable.tableName },
    });
    alerts.allowPublish(this.alertsTopic);
    alerts.allowTable(data.idempotencyTable, ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);

    const health = make('Health', 'lambdas/health/handler.ts', 'health', {
      description: 'Liveness of the API',
      memorySize: 256,
    });

    const models = this.modelsFunction(make, props.lifecycle, data.key);

    const predictModels = props.predictModels ?? [];
    this.auth = new ApiAuth(this, 'Auth', {
      predictModels: predictModels.map((m) => m.name),
      clients: props.clients,
      domainPrefix: props.authDomainPrefix,
      removalPolicy: props.removalPolicy,
    });
    const authorizer = make('Authorizer', 'lambdas/authorizer/handler.ts', 'authorizer', {
      description: 'Verifies Cognito access tokens and the scope each route needs',
      memorySize: 256,
      environment: {
        JWT_ISSUER: this.auth.issuer,
        JWT_JWKS_URI: this.auth.jwksUri,
        PREDICT_MODELS: predictModels.map((m) => m.name).join(','),
        LABEL_MODELS: (props.labelledModels ?? []).map((m) => m.name).join(','),
      },
    });
    // The usage-plan key of a token's client (ApiKey.CustomerId = the app client id), returned to API Gateway as the
    // request's key. GetApiKeys has no narrower resource than the collection; it reads nothing but API keys.
    authorizer.allow(
      new PolicyStatement({
        actions: ['apigateway:GET'],
        resources: [
          Stack.of(this).formatArn({
            service: 'apigateway',
            account: '',
            resource: '/apikeys',
            arnFormat: ArnFormat.NO_RESOURCE_NAME,
          }),
        ],
      }),
    );

    this.api = new ScoringApi(this, 'Api', {
      handlers: {
        score: scoreAlias,
        ingest: ingest.function,
        feedback: feedback.function,
        decisions: decisions.function,
        review: review.function,
        health: health.function,
        models: models.function,
      },
      predict: Object.fromEntries(
        predictModels.map((m) => [
          m.name,
          { request: m.request, handler: (this.predictFunctions[m.name] as ServiceFunction).function },
        ]),
      ),
      labels: Object.fromEntries(
        (props.labelledModels ?? []).map((m) => [
          m.name,
          { label: m.label, about: m.about, handler: (this.labelFunctions[m.name] as ServiceFunction).function },
        ]),
      ),
      authorizer: authorizer.function,
      clients: this.auth.clients,
      tokenUrl: this.auth.tokenUrl,
      rateLimit: props.api.rateLimit,
      burstLimit: props.api.burstLimit,
      dailyQuota: props.api.dailyQuota,
      wafRateLimitPer5Min: props.api.wafRateLimitPer5Min,
      viewerRateLimitPer5Min: props.api.viewerRateLimitPer5Min,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    // Bus rules: the public events external publishers may put, and the alerting path.
    const target = (fn: ServiceFunction) =>
      fn.asEventTarget(this.eventsDeadLetterQueue, { retryAttempts: 4, maxEventAge: Duration.hours(2) });
    new Rule(this, 'TransactionSubmittedRule', {
      description: 'TransactionSubmitted from any publisher → the stream',
      eventBus: data.bus,
      eventPattern: { detailType: [DETAIL_TYPES.TransactionSubmitted] },
      targets: [target(ingestEvents)],
    });
    new Rule(this, 'LabelReportedRule', {
      description: 'LabelReported from external publishers → labels (AIMS already stored its own)',
      eventBus: data.bus,
      eventPattern: {
        detailType: [DETAIL_TYPES.LabelReported],
        source: [{ 'anything-but': EVENT_SOURCES.feedback }] as unknown as string[],
      },
      targets: [target(feedbackEvents)],
    });
    new Rule(this, 'FraudSuspectedRule', {
      description: 'FraudSuspected from the scorer → alerts',
      eventBus: data.bus,
      eventPattern: { source: [EVENT_SOURCES.score], detailType: [DETAIL_TYPES.FraudSuspected] },
      targets: [target(alerts)],
    });

    // Every event schema in the registry, versioned by the detail's `version`.
    for (const [detailType, schema] of Object.entries(eventJsonSchemas())) {
      new CfnSchema(this, `Schema${detailType}`, {
        registryName: data.schemaRegistry.attrRegistryName,
        type: 'JSONSchemaDraft4',
        description: `aims ${detailType} event, detail version 1`,
        content: JSON.stringify(schema),
      });
    }

    this.functions = {
      score,
      outbox,
      ingest,
      ingestEvents,
      features,
      feedback,
      feedbackEvents,
      decisions,
      review,
      alerts,
      health,
      authorizer,
      models,
      ...Object.fromEntries(Object.entries(this.predictFunctions).map(([name, fn]) => [`predict:${name}`, fn])),
      ...Object.fromEntries(Object.entries(this.labelFunctions).map(([name, fn]) => [`labels:${name}`, fn])),
    };
  }

  /** What a function calling `model`'s endpoint is told: the endpoint, and its inference component where it has one. */
  private modelInvokeEnvironment(model: ScoringModel): Record<string, string> {
    return {
      MODEL_ENDPOINT_NAME: model.endpointName,
      ...(model.inferenceComponentName ? { MODEL_INFERENCE_COMPONENT: model.inferenceComponentName } : {}),
    };
  }

  /** InvokeEndpoint on `model`'s endpoint only (and on its inference component, where the endpoint has one). */
  private allowModelInvoke(fn: ServiceFunction, model: ScoringModel): void {
    const component = model.inferenceComponentName;
    fn.allow(
      new PolicyStatement({
        actions: ['sagemaker:InvokeEndpoint'],
        resources: [
          this.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: model.endpointName }),
          ...(component
            ? [this.formatArn({ service: 'sagemaker', resource: 'inference-component', resourceName: component })]
            : []),
        ],
      }),
    );
  }

  /**
   * One function per labelled model (its module bundled for the label schema, tagged role 'labels'): writes each
   * label under that model's partition of the lake's entity-labels prefix, nothing else.
   */
  private labelFunctionsOf(
    make: (fnId: string, entry: string, serviceName: string, extra?: Partial<ServiceFunctionProps>) => ServiceFunction,
    props: ServicesStackProps,
  ): Record<string, ServiceFunction> {
    const { data } = props;
    const out: Record<string, ServiceFunction> = {};
    for (const model of props.labelledModels ?? []) {
      const fn = make(`Labels-${model.name}`, 'lambdas/labels/handler.ts', 'labels', {
        description: `POST /v1/models/${model.name}/labels: the model's entity labels into the lake`,
        modelModule: model.module,
        modelTag: { model: model.name, role: 'labels' },
        environment: { MODEL_NAME: model.name, LAKE_BUCKET: data.lakeBucket.bucketName },
      });
      const prefix = `${ENTITY_LABELS_PREFIX}/model=${model.name}/`;
      fn.allow(
        new PolicyStatement({ actions: ['s3:PutObject'], resources: [data.lakeBucket.arnForObjects(`${prefix}*`)] }),
      );
      // PutObject under SSE-KMS with a bucket key needs Decrypt as well as GenerateDataKey.
      fn.allow(new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [data.key.keyArn] }));
      acknowledgeWildcards(fn.role.node.findChild('DefaultPolicy'), {
        [`Resource::${nagBucketArn(data.lakeBucket)}/${prefix}*`]:
          "Each label is its own object, named by its content, under this model's day partitions.",
      });
      out[model.name] = fn;
    }
    return out;
  }

  /**
   * One function per real-time model (its module bundled, tagged role 'predict'): reads the model's entity states,
   * calls that model's endpoint only, writes prediction audit records beside the decisions (the outbox relays them).
   */
  private predictFunctionsOf(
    make: (fnId: string, entry: string, serviceName: string, extra?: Partial<ServiceFunctionProps>) => ServiceFunction,
    props: ServicesStackProps,
  ): Record<string, ServiceFunction> {
    const { data } = props;
    const out: Record<string, ServiceFunction> = {};
    for (const model of props.predictModels ?? []) {
      validateTimeout(model);
      const fn = make(`Predict-${model.name}`, 'lambdas/predict/handler.ts', 'predict', {
        description: `POST /v1/models/${model.name}/predict: features, model (baseline fallback), policy, explanation, audit record`,
        modelModule: model.module,
        modelTag: { model: model.name, role: 'predict' },
        environment: {
          FEATURES_TABLE: data.featuresTable.tableName,
          DECISIONS_TABLE: data.decisionsTable.tableName,
          ...this.modelInvokeEnvironment(model),
          MODEL_NAME: model.name,
          MODEL_TIMEOUT_MS: String(model.timeoutMs),
          MODEL_THRESHOLDS: JSON.stringify(model.thresholds),
          DECISION_TTL_DAYS: String(props.decisionTtlDays),
        },
      });
      fn.allowTable(data.featuresTable, ['BatchGetItem', 'GetItem']);
      fn.allowTable(data.decisionsTable, ['PutItem', 'GetItem']);
      this.allowModelInvoke(fn, model);
      out[model.name] = fn;
    }
    return out;
  }

  /**
   * The decision outbox (docs/decisions/0004-decision-outbox.md): a relay on the decisions table's stream that turns
   * each new audit record into its events and decision-log line (a prediction's into PredictionMade only, 0005). The mapping never gives up on a record while the
   * stream can still be read back: retries are unbounded and only a record 23 hours old (the stream keeps 24) goes
   * to the dead-letter queue, whose message names its shard and sequence numbers for a replay; the alarm on the queue
   * and on the iterator age fire long before. Poison records are parked by the function itself and not retried.
   */
  private outboxFunction(
    make: (fnId: string, entry: string, serviceName: string, extra?: Partial<ServiceFunctionProps>) => ServiceFunction,
    data: ServicesData,
  ): ServiceFunction {
    const fn = make('Outbox', 'lambdas/outbox/handler.ts', 'outbox', {
      description:
        'Outbox: each new audit record (decisions stream) → its events on the bus; a decision also its decision-log line',
      timeout: Duration.seconds(60),
      environment: {
        EVENT_BUS_NAME: data.bus.eventBusName,
        DECISION_LOG_STREAM: this.decisionLog.deliveryStreamName,
        // Poison records are parked here with their image, beside the mapping's on-failure messages.
        DEAD_LETTER_QUEUE_URL: this.outboxDeadLetterQueue.queueUrl,
        DECISIONS_TABLE: data.decisionsTable.tableName,
      },
    });
    // Review items: opened for new review decisions, override heads moved (lambdas/shared/adapters/review-items.ts).
    fn.allowTable(data.decisionsTable, ['PutItem', 'UpdateItem']);
    fn.allowPutEvents(data.bus);
    this.decisionLog.grantPutRecordBatch(fn);
    fn.allowTableStreamRead(data.decisionsTable);
    fn.allowQueueSend(this.outboxDeadLetterQueue);
    const streamArn = data.decisionsTable.tableStreamArn;
    if (!streamArn) throw new Error('data.decisionsTable must have a stream (the outbox reads it)');
    const dlq = this.outboxDeadLetterQueue;
    fn.function.addEventSourceMapping('DecisionsStream', {
      eventSourceArn: streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      // New audit records only: the table holds nothing but decisions, each written once; REMOVE is TTL expiry.
      // Validity is the function's to judge (a malformed INSERT is parked with its image, never silently filtered).
      filters: [FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT') })],
      batchSize: 100,
      // No batching window: events (alerts among them) leave as soon as a poll returns records.
      bisectBatchOnError: true,
      retryAttempts: -1,
      maxRecordAge: Duration.hours(23),
      reportBatchItemFailures: true,
      onFailure: { bind: () => ({ destination: dlq.queueArn }) },
    });
    return fn;
  }

  /** The models API: each grant names the exact state machines, package groups, pointers and the models stack. */
  private modelsFunction(
    make: (fnId: string, entry: string, serviceName: string, extra?: Partial<ServiceFunctionProps>) => ServiceFunction,
    lifecycle: ServicesLifecycle,
    key: Key,
  ): ServiceFunction {
    const { models, lockTable, modelsStack, driftStatusBucket, artifactsBucket } = lifecycle;
    if (models.length === 0) throw new Error('lifecycle.models must name at least one model');
    const fn = make('Models', 'lambdas/models/handler.ts', 'models', {
      description: 'Models API: versions, champions, retraining runs, approval, rollback, drift history',
      timeout: Duration.seconds(29),
      environment: {
        MODELS: this.toJsonString(
          models.map((m) => ({
            name: m.name,
            bootstrapVersion: m.bootstrapVersion,
            stateMachineArn: m.stateMachine.stateMachineArn,
            championParameter: m.registry.championPointer.parameterName,
            packageGroup: m.registry.packageGroupName,
          })),
        ),
        MODELS_APPROVAL: lifecycle.approval,
        LOCK_TABLE_NAME: lockTable.tableName,
        MODELS_STACK_NAME: modelsStack.stackName,
        DRIFT_STATUS_BUCKET: driftStatusBucket.bucketName,
        ...(lifecycle.predictions && lifecycle.predictions.models.length > 0
          ? {
              PREDICTIONS_BUCKET: lifecycle.predictions.bucket.bucketName,
              BATCH_MODELS: lifecycle.predictions.models.join(','),
            }
          : {}),
      },
    });
    const stateMachines = models.map((m) => m.stateMachine.stateMachineArn);
    fn.allow(
      new PolicyStatement({
        actions: ['states:StartExecution', 'states:ListExecutions', 'states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: stateMachines,
      }),
    );
    // An execution's ARN carries its state machine's name, which CloudFormation generates (a cross-stack token here);
    // the read-only execution actions are therefore granted on this account's executions in this region.
    const executions = this.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    fn.allow(
      new PolicyStatement({
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: [executions],
      }),
    );
    // ListModelPackages has no resource-level permissions; what it returns is described per package below.
    fn.allow(new PolicyStatement({ actions: ['sagemaker:ListModelPackages'], resources: ['*'] }));
    const packages = models.map((m) =>
      this.formatArn({
        service: 'sagemaker',
        resource: 'model-package',
        resourceName: `${m.registry.packageGroupName}/*`,
      }),
    );
    fn.allow(
      new PolicyStatement({
        actions: ['sagemaker:DescribeModelPackage', 'sagemaker:UpdateModelPackage'],
        resources: packages,
      }),
    );
    fn.allow(
      new PolicyStatement({
        actions: ['ssm:GetParameter', 'ssm:PutParameter'],
        resources: models.map((m) => m.registry.championPointer.parameterArn),
      }),
    );
    const stackArn = this.formatArn({
      service: 'cloudformation',
      resource: 'stack',
      resourceName: `${modelsStack.stackName}/*`,
    });
    fn.allow(
      new PolicyStatement({
        actions: ['cloudformation:DescribeStacks', 'cloudformation:UpdateStack'],
        resources: [stackArn],
      }),
    );
    fn.allowTable(lockTable, ['GetItem']);
    // Versions' metrics.json (artifacts bucket) and the drift assessments (monitoring bucket).
    fn.allow(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [
          ...models.map(
            (m) => `${ModelRegistry.versionsArnPattern(artifactsBucket.bucketArn, m.name)}/${VERSION_LAYOUT.metrics}`,
          ),
          ...models.map((m) => driftStatusBucket.arnForObjects(driftStatusKey(m.name))),
          ...models.map((m) => driftStatusBucket.arnForObjects(`${driftHistoryPrefix(m.name)}*`)),
        ],
      }),
    );
    // The newest dated assessments first: a listing of each model's drift history.
    fn.allow(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [driftStatusBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': models.map((m) => `${driftHistoryPrefix(m.name)}*`) } },
      }),
    );
    const predictions = lifecycle.predictions?.models.length ? lifecycle.predictions : undefined;
    if (predictions) {
      // Each batch model's predictions, one prefix per model (runs write one day's folder each night).
      fn.allow(
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: predictions.models.map((m) => predictions.bucket.arnForObjects(`${predictionModelPrefix(m)}*`)),
        }),
      );
    }
    fn.allow(new PolicyStatement({ actions: ['kms:Decrypt'], resources: [key.keyArn] }));
    acknowledgeWildcards(fn.role.node.findChild('DefaultPolicy'), {
      ...Object.fromEntries(
        (predictions?.models ?? []).map((m) => [
          `Resource::${nagBucketArn(predictions?.bucket as IBucket)}/${predictionModelPrefix(m)}*`,
          "Reads the nightly predictions of this batch model, one folder per day under the model's prefix.",
        ]),
      ),
      'Resource::*':
        'X-Ray and sagemaker:ListModelPackages have no resource-level permissions; every other grant names its resource.',
      [`Resource::${this.resolve(stackArn)}`]:
        "The models stack's id suffix is assigned by CloudFormation; the name is fixed.",
      [`Resource::${this.resolve(executions)}`]:
        'Read-only (DescribeExecution, GetExecutionHistory): execution ARNs carry the state machine name CloudFormation generates.',
      ...Object.fromEntries(
        packages.map((arn) => [
          `Resource::${this.resolve(arn)}`,
          "Model package versions are numbered by SageMaker inside this model's package group.",
        ]),
      ),
      ...Object.fromEntries(
        models.map((m) => [
          `Resource::${nagBucketArn(driftStatusBucket)}/${driftHistoryPrefix(m.name)}*`,
          "Reads this model's dated drift assessments, named by their window.",
        ]),
      ),
      ...Object.fromEntries(
        models.map((m) => [
          `Resource::${nagBucketArn(artifactsBucket)}/${modelVersionsPrefix(m.name)}/*/${VERSION_LAYOUT.metrics}`,
          "Reads the metrics.json of this model's registered versions, whose names the registry assigns.",
        ]),
      ),
    });
    return fn;
  }
}

// SQS-managed encryption: the services that write here (Lambda, EventBridge) need no key grant.
const DLQ_ACKNOWLEDGEMENT = 'This queue is itself a dead-letter queue (of an event-source mapping or a bus rule).';

// The thresholds are the model's policy's to judge: bin/ checks them with its module before synth (checkModelModules).
function validate(props: ServicesStackProps): void {
  validateTimeout(props.model);
}

function validateTimeout(model: ScoringModel): void {
  if (!Number.isInteger(model.timeoutMs) || model.timeoutMs < 1) {
    throw new Error(`model.timeoutMs of ${model.name} must be a positive integer, got ${model.timeoutMs}`);
  }
}
