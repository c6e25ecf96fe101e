// Adapter for ports that write JSON Lines objects by key into one bucket (ground truth, entity labels): put only, so
// a function that writes is granted s3:PutObject and nothing else.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export class S3JsonLinesSink {
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
