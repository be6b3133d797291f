import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { blobStoreFromEnv } from '../../lib/blob-store-env';
import { DirectoryBlobBackend } from '../../lib/blob-store-directory';
import { S3BlobBackend } from '../../lib/blob-store-s3';
import { temporalSecurityFromEnv } from '../../lib/temporal';

describe('Temporal TLS and API key settings', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-tls-env-'));
    for (const name of ['ca.pem', 'client.pem', 'client.key'])
      await writeFile(join(dir, name), `PEM ${name}`);
  });

  it('is plaintext when nothing is set (a local dev server), or when the variables are empty', () => {
    expect(temporalSecurityFromEnv({})).toEqual({});
    expect(temporalSecurityFromEnv({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: '', TEMPORAL_API_KEY: '' })).toEqual(
      {},
    );
  });

  it('reads the server CA, the client pair (mTLS) and the server name from the files named', () => {
    expect(
      temporalSecurityFromEnv({
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
        TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.pem'),
        TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key'),
        TEMPORAL_TLS_SERVER_NAME: 'temporal.example',
      }),
    ).toEqual({
      tls: {
        serverRootCACertificate: Buffer.from('PEM ca.pem'),
        clientCertPair: { crt: Buffer.from('PEM client.pem'), key: Buffer.from('PEM client.key') },
        serverNameOverride: 'temporal.example',
      },
    });
  });

  it('passes an API key on; TEMPORAL_TLS=true uses the system roots, false keeps plaintext', () => {
    expect(temporalSecurityFromEnv({ TEMPORAL_API_KEY: 'k' })).toEqual({ apiKey: 'k' });
    expect(temporalSecurityFromEnv({ TEMPORAL_TLS: 'true', TEMPORAL_API_KEY: 'k' })).toEqual({
      tls: true,
      apiKey: 'k',
    });
    expect(temporalSecurityFromEnv({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toEqual({
      tls: false,
      apiKey: 'k',
    });
  });

  it('refuses half a client pair, an unreadable file and a contradiction, saying which', () => {
    expect(() => temporalSecurityFromEnv({ TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.pem') })).toThrow(
      'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together',
    );
    expect(() =>
      temporalSecurityFromEnv({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing.pem') }),
    ).toThrow(/cannot read the server CA certificate .*missing\.pem/);
    expect(() =>
      temporalSecurityFromEnv({
        TEMPORAL_TLS: 'false',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
      }),
    ).toThrow('TEMPORAL_TLS=false contradicts');
    expect(() => temporalSecurityFromEnv({ TEMPORAL_TLS: 'yes' })).toThrow(/TEMPORAL_TLS/);
  });
});

describe('blob store settings', () => {
  it('is the directory by default', () => {
    const store = blobStoreFromEnv('/var/tusk/blobs', {});
    expect(store.backend).toBeInstanceOf(DirectoryBlobBackend);
    expect(store.backend.description).toBe('directory /var/tusk/blobs');
  });

  it('is an S3 bucket when asked, path-style by default against a named endpoint', () => {
    const store = blobStoreFromEnv('/unused', {
      TUSK_BLOB_STORE: 's3',
      TUSK_S3_BUCKET: 'deals',
      TUSK_S3_ENDPOINT: 'http://127.0.0.1:8333',
      TUSK_S3_ACCESS_KEY_ID: 'id',
      TUSK_S3_SECRET_ACCESS_KEY: 'secret',
    });
    expect(store.backend).toBeInstanceOf(S3BlobBackend);
    expect((store.backend as S3BlobBackend).settings).toMatchObject({
      bucket: 'deals',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    expect(store.backend.description).toBe('s3 bucket deals at http://127.0.0.1:8333');
    const aws = blobStoreFromEnv('/unused', { TUSK_BLOB_STORE: 's3', TUSK_S3_BUCKET: 'deals' });
    expect((aws.backend as S3BlobBackend).settings.forcePathStyle).toBe(false);
  });

  it('refuses an S3 store without a bucket, half a key pair, or an unknown kind', () => {
    expect(() => blobStoreFromEnv('/x', { TUSK_BLOB_STORE: 's3' })).toThrow(
      'TUSK_BLOB_STORE=s3 needs TUSK_S3_BUCKET',
    );
    expect(() =>
      blobStoreFromEnv('/x', { TUSK_BLOB_STORE: 's3', TUSK_S3_BUCKET: 'b', TUSK_S3_ACCESS_KEY_ID: 'id' }),
    ).toThrow('go together');
    expect(() => blobStoreFromEnv('/x', { TUSK_BLOB_STORE: 'ftp' })).toThrow(/TUSK_BLOB_STORE/);
  });
});
