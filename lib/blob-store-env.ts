import { z } from 'zod';
import { BlobStore } from './blob-store';
import { S3BlobBackend } from './blob-store-s3';

const flag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

const blobEnv = z
  .object({
    /** `directory` (default: TUSK_BLOB_DIR on this machine) or `s3` (a bucket over the network). */
    TUSK_BLOB_STORE: z.enum(['directory', 's3']).default('directory'),
    TUSK_S3_BUCKET: z.string().min(1).optional(),
    TUSK_S3_PREFIX: z.string().optional(),
    TUSK_S3_ENDPOINT: z.url().optional(),
    TUSK_S3_REGION: z.string().min(1).default('us-east-1'),
    TUSK_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    TUSK_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    TUSK_S3_FORCE_PATH_STYLE: flag.optional(),
  })
  .refine((env) => env.TUSK_BLOB_STORE !== 's3' || env.TUSK_S3_BUCKET, {
    message: 'TUSK_BLOB_STORE=s3 needs TUSK_S3_BUCKET',
    path: ['TUSK_S3_BUCKET'],
  })
  .refine((env) => !env.TUSK_S3_ACCESS_KEY_ID === !env.TUSK_S3_SECRET_ACCESS_KEY, {
    message: 'TUSK_S3_ACCESS_KEY_ID and TUSK_S3_SECRET_ACCESS_KEY go together',
    path: ['TUSK_S3_ACCESS_KEY_ID'],
  });

/** The blob store this process's environment names: the directory `blobDir` unless TUSK_BLOB_STORE=s3. */
export function blobStoreFromEnv(blobDir: string, env: NodeJS.ProcessEnv = process.env): BlobStore {
  const nonEmpty = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = blobEnv.safeParse(nonEmpty);
  if (!parsed.success) {
    throw new Error(`invalid blob store settings:\n${z.prettifyError(parsed.error)}`);
  }
  const settings = parsed.data;
  if (settings.TUSK_BLOB_STORE === 'directory') return new BlobStore(blobDir);
  return new BlobStore(
    new S3BlobBackend({
      bucket: settings.TUSK_S3_BUCKET!,
      prefix: settings.TUSK_S3_PREFIX,
      endpoint: settings.TUSK_S3_ENDPOINT,
      region: settings.TUSK_S3_REGION,
      ...(settings.TUSK_S3_ACCESS_KEY_ID && settings.TUSK_S3_SECRET_ACCESS_KEY
        ? {
            credentials: {
              accessKeyId: settings.TUSK_S3_ACCESS_KEY_ID,
              secretAccessKey: settings.TUSK_S3_SECRET_ACCESS_KEY,
            },
          }
        : {}),
      // A self-hosted server seldom has a wildcard DNS name per bucket.
      forcePathStyle: settings.TUSK_S3_FORCE_PATH_STYLE ?? settings.TUSK_S3_ENDPOINT !== undefined,
    }),
  );
}
