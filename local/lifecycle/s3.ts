// The lifecycle's view of local S3 (s3rver): get/put/list by s3:// URI, as the cloud services read and write buckets.
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** `s3://bucket/key`, or the virtual-host/path `https://…amazonaws.com/bucket/key` URL some integrations render. */
export function parseS3Location(uri: string): { bucket: string; key: string } {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (s3) return { bucket: s3[1] as string, key: s3[2] as string };
  const https = /^https:\/\/s3[.-][a-z0-9-]*\.?amazonaws\.com\/([^/]+)\/?(.*)$/.exec(uri);
  if (https) return { bucket: https[1] as string, key: https[2] as string };
  throw new Error(`expected an s3://bucket/key location, got '${uri}'`);
}

export class LocalS3 {
  readonly client: S3Client;
  constructor(endpoint: string, region: string) {
    this.client = new S3Client({
      endpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: new NodeHttpHandler(),
    });
  }

  async get(uri: string): Promise<Buffer> {
    const { bucket, key } = parseS3Location(uri);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
    } catch (error) {
      throw new Error(`cannot read ${uri} from local S3: ${(error as Error).name}: ${(error as Error).message}`);
    }
  }

  async put(uri: string, body: Buffer | string, contentType = 'application/octet-stream'): Promise<void> {
    const { bucket, key } = parseS3Location(uri);
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  }

  /** Keys (with their times) under a prefix URI, every page. */
  async list(prefixUri: string): Promise<{ key: string; uri: string; lastModified: Date | undefined }[]> {
    const { bucket, key: prefix } = parseS3Location(prefixUri);
    const out: { key: string; uri: string; lastModified: Date | undefined }[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) out.push({ key: o.Key, uri: `s3://${bucket}/${o.Key}`, lastModified: o.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async ensureBucket(bucket: string): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await this.client.send(new CreateBucketCommand({ Bucket: bucket }));
    }
  }

  close(): void {
    this.client.destroy();
  }
}
