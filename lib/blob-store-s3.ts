import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { BlobBackend } from './blob-store';

export interface S3BlobSettings {
  bucket: string;
  /** Keys start with this (e.g. `tusk/`), so one bucket can hold several deployments. */
  prefix?: string;
  /** An S3-compatible server's URL; unset: AWS itself. */
  endpoint?: string;
  region: string;
  /** Unset: the AWS SDK's own chain (AWS_ACCESS_KEY_ID, a profile, an instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** `bucket` in the path rather than the host name, as most self-hosted servers need. */
  forcePathStyle: boolean;
}

const isNotFound = (error: unknown): boolean =>
  error instanceof S3ServiceException &&
  (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404);

/** Blobs as objects `<prefix>sha256/<hash>` in an S3-API bucket: the store when parties run on several machines. */
export class S3BlobBackend implements BlobBackend {
  readonly client: S3Client;

  constructor(readonly settings: S3BlobSettings) {
    this.client = new S3Client({
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
    });
  }

  get description(): string {
    return `s3 bucket ${this.settings.bucket}${this.settings.endpoint ? ` at ${this.settings.endpoint}` : ''}`;
  }

  private keyOf(hash: string): string {
    return `${this.settings.prefix ?? ''}sha256/${hash}`;
  }

  async write(hash: string, bytes: Uint8Array): Promise<void> {
    // One PUT is atomic in S3: a reader sees the whole object or none.
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.settings.bucket,
        Key: this.keyOf(hash),
        Body: bytes,
        ContentType: 'application/octet-stream',
      }),
    );
  }

  async exists(hash: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.keyOf(hash) }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async read(hash: string): Promise<Buffer | undefined> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.keyOf(hash) }),
      );
      if (!object.Body) return undefined;
      return Buffer.from(await object.Body.transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
