// The shadow comparison's S3 adapter: one variant's captured answers of a window (ShadowCompared goes out through
// the shared EventPublisher).
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { captureHourPrefixes } from '../shared/capture.js';
import { type CapturedScore, parseCapturedScores } from './core.js';

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
