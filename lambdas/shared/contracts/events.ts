// The bus events: sources, detail types, versioned zod envelopes, PutEvents entries and schema-registry JSON Schemas.
import * as z from 'zod';
import { Attribution, ModelRef } from '../../../models/shared/contracts/decision.js';
import { Label, Transaction } from '../../../models/shared/contracts/transaction.js';
import { OverrideRecord } from './review.js';
import { ScoredDecision } from './scored-decision.js';

/** The version every detail carries today; a breaking change bumps it and adds a schema, never edits one. */
export const EVENT_VERSION = 1;

export const EVENT_SOURCES = {
  score: 'aims.score',
  ingest: 'aims.ingest',
  feedback: 'aims.feedback',
  alerts: 'aims.alerts',
  /** The real-time predict routes (POST /v1/models/{name}/predict), through the outbox. */
  predict: 'aims.predict',
  /** Model Monitor alarms and the stream drift check. */
  drift: 'aims.drift',
  /** The retraining state machine. */
  retraining: 'aims.retraining',
  /** The shadow comparison (champion vs the shadow variant's challenger). */
  shadow: 'aims.shadow',
  /** A batch model's scheduled run (Scheduler → Step Functions → Batch Transform). */
  batch: 'aims.batch',
  /** The review routes (overrides), through the outbox. */
  review: 'aims.review',
  /** External publishers; rules match on detail-type, so any source is accepted for the public events. */
  external: 'aims.external',
} as const;
export type EventSource = (typeof EVENT_SOURCES)[keyof typeof EVENT_SOURCES];

/** A decision the scorer answered (the console's decisions lists show the same fields). */
export const TransactionScoredData = ScoredDecision;
export type TransactionScoredData = z.infer<typeof TransactionScoredData>;

export const FraudSuspectedData = TransactionScoredData.extend({
  decision: z.enum(['review', 'decline']),
  reasons: z.array(z.string()),
  explanation: z.array(Attribution),
}).strict();
export type FraudSuspectedData = z.infer<typeof FraudSuspectedData>;

const ModelName = z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);

/** One feature (or the score, named `score`) whose distribution moved past its threshold. */
export const DriftedFeature = z
  .object({
    name: z.string().min(1),
    /** Population stability index of the window vs the training baseline (absent for monitor alarms). */
    psi: z.number().min(0).optional(),
    threshold: z.number().min(0),
  })
  .strict();

export const ModelDriftDetectedData = z
  .object({
    model: ModelName,
    /** `stream`: the near-real-time PSI check; `monitor`: a Model Monitor drift alarm. */
    detector: z.enum(['stream', 'monitor']),
    features: z.array(DriftedFeature).min(1),
    /** Records in the window (stream) or 0 when the monitor does not say. */
    samples: z.number().int().min(0),
    windowStart: z.iso.datetime({ offset: true }),
    windowEnd: z.iso.datetime({ offset: true }),
  })
  .strict();
export type ModelDriftDetectedData = z.infer<typeof ModelDriftDetectedData>;

export const RetrainingFailedData = z
  .object({
    model: ModelName,
    executionArn: z.string().min(1),
    /** The state that failed (or `Gate` when the challenger did not pass). */
    stage: z.string().min(1),
    error: z.string(),
    cause: z.string(),
  })
  .strict();
export type RetrainingFailedData = z.infer<typeof RetrainingFailedData>;

export const ModelDeployedData = z
  .object({
    model: ModelName,
    version: z.string().min(1),
    modelPackageArn: z.string().min(1),
    /** The champion pointer's new value (the version's artifact prefix). */
    artifactUri: z.string().min(1),
    executionArn: z.string().min(1),
  })
  .strict();
export type ModelDeployedData = z.infer<typeof ModelDeployedData>;

/** The shadow comparison of a window: the champion's and the shadow's captured answers paired by inference id. */
export const ShadowComparedData = z
  .object({
    model: ModelName,
    /** `schedule`: the routine comparison; `pipeline`: the retraining state machine judging a candidate. */
    trigger: z.enum(['schedule', 'pipeline']),
    windowStart: z.iso.datetime({ offset: true }),
    windowEnd: z.iso.datetime({ offset: true }),
    pairs: z.number().int().min(0),
    unpaired: z.object({ champion: z.number().int().min(0), shadow: z.number().int().min(0) }).strict(),
    meanAbsDiff: z.number().min(0),
    p99AbsDiff: z.number().min(0),
    agreement: z.number().min(0).max(1),
    scorePsi: z.number().min(0),
    passed: z.boolean(),
    /** Whether there were enough pairs to judge; a window without enough evidence does not pass. */
    judged: z.boolean(),
    /** Why it failed, one line per failed check (empty when it passed). */
    reasons: z.array(z.string()),
  })
  .strict();
export type ShadowComparedData = z.infer<typeof ShadowComparedData>;

/** A batch model's run of one day has written its predictions (what GET /v1/models/{name}/predictions reads). */
export const PredictionsReadyData = z
  .object({
    model: ModelName,
    /** The champion that scored (its registry version, or `bootstrap`). */
    version: z.string().min(1),
    /** The UTC day the requests cover (YYYY-MM-DD). */
    date: z.iso.date(),
    rows: z.number().int().min(0),
    /** Predictions per outcome of the model's policy. */
    outcomes: z.record(z.string(), z.number().int().min(0)),
    /** `s3://…/predictions.jsonl` (its summary.json beside it). */
    location: z.string().min(1),
    executionArn: z.string().min(1),
  })
  .strict();
export type PredictionsReadyData = z.infer<typeof PredictionsReadyData>;
/** A real-time prediction was audited (derived by the outbox from its audit record). */
export const PredictionMadeData = z
  .object({
    /** The audit record's id: `prediction#<model>#<idempotency key>`. */
    auditId: z.string().regex(/^prediction#/),
    /** The model the route serves. */
    modelName: ModelName,
    /** What scored: the model's version, or its baseline when degraded. */
    model: ModelRef,
    score: z.number().min(0).max(1),
    /** The model policy's outcome (its own vocabulary, e.g. clear / watch / block-review). */
    outcome: z.string().min(1),
    degraded: z.boolean(),
    predictedAt: z.iso.datetime({ offset: true }),
  })
  .strict();
export type PredictionMadeData = z.infer<typeof PredictionMadeData>;

/** The data schema of every detail type, in one table: the single source for validation and the registry. */
export const EVENT_DATA = {
  TransactionScored: TransactionScoredData,
  FraudSuspected: FraudSuspectedData,
  TransactionSubmitted: Transaction,
  LabelReported: Label,
  ModelDriftDetected: ModelDriftDetectedData,
  RetrainingFailed: RetrainingFailedData,
  ModelDeployed: ModelDeployedData,
  ShadowCompared: ShadowComparedData,
  PredictionsReady: PredictionsReadyData,
  PredictionMade: PredictionMadeData,
  /** A person overrode a decision (derived by the outbox from the override's audit record). */
  DecisionOverridden: OverrideRecord,
} as const;
export type DetailType = keyof typeof EVENT_DATA;

export const DETAIL_TYPES = {
  TransactionScored: 'TransactionScored',
  FraudSuspected: 'FraudSuspected',
  TransactionSubmitted: 'TransactionSubmitted',
  LabelReported: 'LabelReported',
  ModelDriftDetected: 'ModelDriftDetected',
  RetrainingFailed: 'RetrainingFailed',
  ModelDeployed: 'ModelDeployed',
  ShadowCompared: 'ShadowCompared',
  PredictionsReady: 'PredictionsReady',
  PredictionMade: 'PredictionMade',
  DecisionOverridden: 'DecisionOverridden',
} as const satisfies { [K in DetailType]: K };

/** Detail types that publishers outside AIMS may put on the bus (the bus rules match on detail-type only). */
export const EXTERNAL_DETAIL_TYPES = [DETAIL_TYPES.TransactionSubmitted, DETAIL_TYPES.LabelReported] as const;

/** Data as the producer holds it (defaults applied). */
export type EventData<T extends DetailType> = z.output<(typeof EVENT_DATA)[T]>;

const envelope = <S extends z.ZodType>(data: S) => z.object({ version: z.literal(EVENT_VERSION), data }).strict();

/** The `{ version, data }` detail schema of each detail type. */
export const EVENT_DETAILS = {
  TransactionScored: envelope(TransactionScoredData),
  FraudSuspected: envelope(FraudSuspectedData),
  TransactionSubmitted: envelope(Transaction),
  LabelReported: envelope(Label),
  ModelDriftDetected: envelope(ModelDriftDetectedData),
  RetrainingFailed: envelope(RetrainingFailedData),
  ModelDeployed: envelope(ModelDeployedData),
  ShadowCompared: envelope(ShadowComparedData),
  PredictionsReady: envelope(PredictionsReadyData),
  PredictionMade: envelope(PredictionMadeData),
  DecisionOverridden: envelope(OverrideRecord),
} as const satisfies { [K in DetailType]: z.ZodType };

export type EventDetail<T extends DetailType> = z.output<(typeof EVENT_DETAILS)[T]>;

/** An event ready to publish: what the EventPublisher port accepts. */
export interface BusEvent<T extends DetailType = DetailType> {
  readonly detailType: T;
  readonly source: EventSource;
  readonly data: EventData<T>;
  /** When it happened. @default - the time PutEvents is called */
  readonly time?: Date;
  /** ARNs the event is about. @default - none */
  readonly resources?: readonly string[];
}

/** Builds a BusEvent with the detail type and data tied together by the types. */
export function busEvent<T extends DetailType>(detailType: T, source: EventSource, data: EventData<T>): BusEvent<T> {
  return { detailType, source, data };
}

/** Thrown when an event's detail does not match its schema (publishing or consuming). */
export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';
  constructor(
    readonly detailType: string,
    readonly issues: readonly z.core.$ZodIssue[],
  ) {
    super(`invalid ${detailType} event detail: ${z.prettifyError(new z.ZodError([...issues]))}`);
  }
}

function isDetailType(value: string): value is DetailType {
  return Object.hasOwn(EVENT_DATA, value);
}

/** Validates an event's detail (`{ version, data }`) and returns the typed data. Throws EventValidationError. */
export function parseEventDetail<T extends DetailType>(detailType: T, detail: unknown): EventData<T> {
  const result = EVENT_DETAILS[detailType].safeParse(detail);
  if (!result.success) throw new EventValidationError(detailType, result.error.issues);
  return result.data.data as EventData<T>;
}

/** A received event whose detail type is known, narrowed by `detailType`. */
export type ParsedBusEvent = { [K in DetailType]: { detailType: K; source: string; data: EventData<K> } }[DetailType];

/** Validates an EventBridge event (as Lambda receives it) of any known detail type. */
export function parseBusEvent(event: { 'detail-type': string; source: string; detail: unknown }): ParsedBusEvent {
  const detailType = event['detail-type'];
  if (!isDetailType(detailType)) {
    throw new EventValidationError(detailType, [
      { code: 'custom', message: `unknown detail-type '${detailType}'`, path: ['detail-type'], input: detailType },
    ]);
  }
  return { detailType, source: event.source, data: parseEventDetail(detailType, event.detail) } as ParsedBusEvent;
}

/** The PutEvents entry shape (structurally the SDK's PutEventsRequestEntry, without importing the client). */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName: string;
  Time?: Date;
  Resources?: string[];
}

/** Validates a BusEvent and renders it as a PutEvents entry with the `{ version, data }` detail. */
export function toPutEventsEntry(event: BusEvent, eventBusName: string): PutEventsEntry {
  const detail = { version: EVENT_VERSION, data: event.data };
  const result = EVENT_DETAILS[event.detailType].safeParse(detail);
  if (!result.success) throw new EventValidationError(event.detailType, result.error.issues);
  return {
    Source: event.source,
    DetailType: event.detailType,
    Detail: JSON.stringify(result.data),
    EventBusName: eventBusName,
    ...(event.time ? { Time: event.time } : {}),
    ...(event.resources ? { Resources: [...event.resources] } : {}),
  };
}

/** JSON Schema draft-04 (what the EventBridge schema registry's `JSONSchemaDraft4` type takes) of each detail. */
export function eventDetailJsonSchemas(): Record<DetailType, Record<string, unknown>> {
  const out = {} as Record<DetailType, Record<string, unknown>>;
  for (const detailType of Object.keys(EVENT_DETAILS) as DetailType[]) {
    // io 'input': the registry documents what a publisher may send (defaults such as Label.source are optional).
    out[detailType] = {
      ...z.toJSONSchema(EVENT_DETAILS[detailType], { target: 'draft-04', io: 'input' }),
      title: detailType,
    };
  }
  return out;
}

/** JSON Schema draft-04 of the whole EventBridge event (source, detail-type, detail) for each detail type. */
export function eventJsonSchemas(): Record<DetailType, Record<string, unknown>> {
  const details = eventDetailJsonSchemas();
  const out = {} as Record<DetailType, Record<string, unknown>>;
  for (const detailType of Object.keys(details) as DetailType[]) {
    const { $schema, title: _title, ...detail } = details[detailType];
    out[detailType] = {
      $schema,
      title: `${detailType}Event`,
      type: 'object',
      required: ['source', 'detail-type', 'detail'],
      properties: {
        source: { type: 'string' },
        'detail-type': { type: 'string', enum: [detailType] },
        detail,
      },
    };
  }
  return out;
}
