// Port and S3 adapter of the objects tasks read and write by `s3://bucket/key` (S3, or s3rver on the local stage).
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!match) throw new Error(`expected an s3://bucket/key URI, got '${uri}'`);
  return { bucket: match[1] as string, key: match[2] as string };
}

/** Port: the object store the tasks read and write (S3, or s3rver locally). */
export interface ObjectStore {
  get(uri: string): Promise<Buffer>;
  put(uri: string, body: Buffer | string, contentType: string): Promise<void>;
}

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}
  async get(uri: string) {
    const { bucket, key } = parseS3Uri(uri);
    const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!out.Body) throw new Error(`${uri} has no body`);
    return Buffer.from(await out.Body.transformToByteArray());
  }
  async put(uri: string, body: Buffer | string, contentType: string) {
    const { bucket, key } = parseS3Uri(uri);
    await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  }
}
