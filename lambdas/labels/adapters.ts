// Adapter of the labels port: the lake bucket, put only (the function is granted nothing else).
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { EntityLabelSink } from './core.js';

export class S3EntityLabelSink implements EntityLabelSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/jsonlines' }),
    );
  }
}
