// Adapters of the drift check: the capture window from S3, the champion's baseline (SSM pointer → psi-bins.json).
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { parseS3Uri } from '../shared/adapters/object-store.js';
import { captureHourPrefixes } from '../shared/capture.js';
import type { DriftAssessment } from '../shared/contracts/api.js';
import { type CapturedRows, type DriftWindow, PsiBins, parseCapture } from './core.js';

async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return out.Body.transformToString('utf8');
}

/** The champion's psi-bins.json: from the version the pointer names, or the bundled bootstrap baseline. */
export async function loadChampionBaseline(deps: {
  ssm: SSMClient;
  s3: S3Client;
  parameterName: string;
  bootstrapUri: string;
  psiBinsFile: string;
}): Promise<{ baseline: PsiBins; source: string }> {
  const { Parameter } = await deps.ssm.send(new GetParameterCommand({ Name: deps.parameterName }));
  const pointer = Parameter?.Value;
  if (!pointer) throw new Error(`champion pointer ${deps.parameterName} has no value`);
  const source = pointer === 'bootstrap' ? deps.bootstrapUri : `${pointer}${deps.psiBinsFile}`;
  const { bucket, key } = parseS3Uri(source);
  const parsed = PsiBins.safeParse(JSON.parse(await getText(deps.s3, bucket, key)));
  if (!parsed.success) throw new Error(`${source} is not a psi-bins.json baseline: ${parsed.error.message}`);
  return { baseline: parsed.data, source };
}

/** Objects of a listing under `prefix` written at or after `since`, page by page. */
async function* objectsSince(s3: S3Client, bucket: string, prefix: string, since: Date): AsyncGenerator<string> {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (object.Key && !(object.LastModified && object.LastModified < since)) yield object.Key;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** The rows and scores of the capture files `keys` yields, read in that order. */
async function readWindow(
  deps: { s3: S3Client; bucket: string; width: number; now: Date },
  start: Date,
  keys: AsyncIterable<string>,
  take: CapturedRows,
): Promise<DriftWindow & { files: number; skipped: number }> {
  const rows: number[][] = [];
  const scores: number[] = [];
  let files = 0;
  let skipped = 0;
  for await (const key of keys) {
    const parsed = parseCapture(await getText(deps.s3, deps.bucket, key), deps.width, take);
    rows.push(...parsed.rows);
    scores.push(...parsed.scores);
    skipped += parsed.skipped;
    files++;
  }
  return { rows, scores, start, end: deps.now, files, skipped };
}

/**
 * Every row a batch transform captured under `prefix` in [now − minutes, now]: all rows of each request (one entity
 * each). Files are chosen by when they were written, not by a path layout, because the transform's capture layout
 * under its destination is not the endpoint's (a job folder per run); a file written before the window is not read.
 */
export function readBatchCaptureWindow(deps: {
  s3: S3Client;
  bucket: string;
  prefix: string;
  width: number;
  minutes: number;
  now: Date;
}): Promise<DriftWindow & { files: number; skipped: number }> {
  const start = new Date(deps.now.getTime() - deps.minutes * 60_000);
  return readWindow(deps, start, objectsSince(deps.s3, deps.bucket, deps.prefix, start), 'all');
}

/** Writes one dated assessment beside the latest: its key orders the history newest window first. */
export async function saveDriftHistory(deps: {
  s3: S3Client;
  bucket: string;
  key: string;
  assessment: DriftAssessment;
}): Promise<void> {
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.bucket,
      Key: deps.key,
      Body: JSON.stringify(deps.assessment),
      ContentType: 'application/json',
    }),
  );
}

/** Captured rows of [now − minutes, now] from the champion variant, newest files last. */
export function readCaptureWindow(deps: {
  s3: S3Client;
  bucket: string;
  prefix: string;
  variant: string;
  width: number;
  minutes: number;
  now: Date;
}): Promise<DriftWindow & { files: number; skipped: number }> {
  const start = new Date(deps.now.getTime() - deps.minutes * 60_000);
  async function* keys(): AsyncGenerator<string> {
    for (const prefix of captureHourPrefixes(deps.prefix, deps.variant, start, deps.now)) {
      yield* objectsSince(deps.s3, deps.bucket, prefix, start);
    }
  }
  return readWindow(deps, start, keys(), 'first');
}

/** Whether `a` assesses a later window than `b` (then a later run of the same window). */
export function isLaterAssessment(a: DriftAssessment, b: DriftAssessment): boolean {
  return a.windowEnd !== b.windowEnd ? a.windowEnd > b.windowEnd : a.assessedAt > b.assessedAt;
}

/** S3's answers to a conditional write that lost: the object changed (412) or another one is under way (409). */
const LOST_RACE = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);
const MAX_RACES = 5;

/**
 * Writes the latest assessment where the models API reads it (one object per model), unless a later one is stored.
 * Runs may overlap (EventBridge delivers a schedule at least once, and nothing reserves one instance), so the write
 * is a compare-and-swap on S3 conditional writes: create-if-absent, else replace-if-unchanged after comparing; a lost
 * race compares again. Returns whether this assessment is now the stored one.
 */
export async function saveDriftAssessment(deps: {
  s3: S3Client;
  bucket: string;
  key: string;
  assessment: DriftAssessment;
}): Promise<'written' | 'kept-later'> {
  const put = (condition: { IfNoneMatch: string } | { IfMatch: string }) =>
    deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: deps.key,
        Body: JSON.stringify(deps.assessment),
        ContentType: 'application/json',
        ...condition,
      }),
    );
  // Absent first: reading a missing key without s3:ListBucket answers AccessDenied, not NoSuchKey.
  let condition: { IfNoneMatch: string } | { IfMatch: string } = { IfNoneMatch: '*' };
  for (let race = 0; race < MAX_RACES; race++) {
    try {
      await put(condition);
      return 'written';
    } catch (error) {
      if (!LOST_RACE.has((error as Error).name)) throw error;
    }
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: deps.key }));
    const stored = JSON.parse((await out.Body?.transformToString('utf8')) ?? '{}') as DriftAssessment;
    if (!isLaterAssessment(deps.assessment, stored)) return 'kept-later';
    if (!out.ETag) throw new Error(`s3://${deps.bucket}/${deps.key} answered without an ETag`);
    condition = { IfMatch: out.ETag };
  }
  throw new Error(`s3://${deps.bucket}/${deps.key}: lost ${MAX_RACES} conditional writes in a row`);
}
