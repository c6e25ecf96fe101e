// Adapters of the shadow comparison: one variant's captured answers of a window from S3, and ShadowCompared on the bus.

import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  SHADOW_COMPARED,
  SHADOW_EVENT_VERSION,
  SHADOW_SOURCE,
  ShadowComparedData,
  type ShadowComparedData as ShadowComparedDataType,
} from './contract.js';
import { type CapturedScore, captureHourPrefixes, parseCapturedScores } from './core.js';

/**
 * The answers one variant gave in [start, end], read from `<prefix><variant>/yyyy/mm/dd/hh/*.jsonl`. A file last
 * written before the window is skipped unread; inside a file, answers whose inferenceTime falls outside the window
 * are dropped (a file spans the minutes before its flush).
 */
export async function readCapturedScores(deps: {
  s3: S3Client;
  bucket: string;
  prefix: string;
  variant: string;
  start: Date;
  end: Date;
}): Promise<{ scores: CapturedScore[]; files: number; skipped: number }> {
  const scores: CapturedScore[] = [];
  let files = 0;
  let skipped = 0;
  for (const prefix of captureHourPrefixes(deps.prefix, deps.variant, deps.start, deps.end)) {
    let token: string | undefined;
    do {
      const page = await deps.s3.send(
        new ListObjectsV2Command({ Bucket: deps.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key || (object.LastModified && object.LastModified < deps.start)) continue;
        const out = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: object.Key }));
        if (!out.Body) throw new Error(`s3://${deps.bucket}/${object.Key} has no body`);
        const parsed = parseCapturedScores(await out.Body.transformToString('utf8'));
        for (const s of parsed.scores) {
          if (s.time && (s.time < deps.start || s.time > deps.end)) continue;
          scores.push(s);
        }
        skipped += parsed.skipped;
        files++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  return { scores, files, skipped };
}

/** Port: where a comparison is announced. */
export interface ShadowEventPublisher {
  publish(data: ShadowComparedDataType): Promise<void>;
}

/** ShadowCompared on the app bus, validated before it is sent; a rejected entry fails the run. */
export class EventBridgeShadowPublisher implements ShadowEventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(data: ShadowComparedDataType): Promise<void> {
    const detail = { version: SHADOW_EVENT_VERSION, data: ShadowComparedData.parse(data) };
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: SHADOW_SOURCE,
            DetailType: SHADOW_COMPARED,
            Detail: JSON.stringify(detail),
            EventBusName: this.eventBusName,
          },
        ],
      }),
    );
    if (out.FailedEntryCount) {
      const entry = out.Entries?.[0];
      throw new Error(
        `ShadowCompared was not published: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`,
      );
    }
  }
}
