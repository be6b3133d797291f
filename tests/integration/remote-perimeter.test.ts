import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDealResult } from '../../cli/buyer/commands';
import { BlobStore } from '../../lib/blob-store';
import { S3BlobBackend } from '../../lib/blob-store-s3';
import { newKeyFileJson } from '../../lib/codec/keyring';
import { createSyntheticPatients } from '../../lib/synthetic-patients';
import { temporalSecurityFromEnv } from '../../lib/temporal';
import { startSeaweedS3, type SeaweedS3 } from '../../scripts/lib/seaweedfs';
import { makeTestCertificates, type TestCertificates } from '../../scripts/lib/test-certificates';
import { startTlsTerminator, type TlsTerminator } from '../../scripts/lib/tls-terminator';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';

const BUCKET = 'tusk-remote';

/**
 * The seller's perimeter on "its own machine": a directory of its own holding its dataset, its
 * signed policies, its TLS client pair and its state, and an environment naming nothing else. It
 * reaches Temporal only through a TLS terminator that asks for its client certificate, and the
 * blob store only through S3 (a real SeaweedFS); the API and the coordinator use the same bucket.
 */
describe('a seller perimeter on its own machine: Temporal through mTLS, blobs through S3', () => {
  let work: string;
  let sellerMachine: string;
  let s3: SeaweedS3;
  let certs: TestCertificates;
  let tls: TlsTerminator;
  let test: TestDeployment;
  let perimeterEnv: Record<string, string>;

  beforeAll(async () => {
    const weed = inject('seaweedfsWeed');
    if (!weed) throw new Error(`no SeaweedFS binary: ${inject('seaweedfsProblem')}`);
    work = await mkdtemp(join(tmpdir(), 'tusk-it-remote-'));
    sellerMachine = join(work, 'seller-machine');
    await mkdir(join(sellerMachine, 'tls'), { recursive: true });
    s3 = await startSeaweedS3({ dataDir: join(work, 'seaweedfs'), weed, log: () => undefined });
    await s3.createBucket(BUCKET);
    certs = await makeTestCertificates(join(work, 'pki'));
    tls = await startTlsTerminator({
      target: inject('temporalAddress'),
      cert: certs.serverCert,
      key: certs.serverKey,
      clientCa: certs.caCert,
      dataDir: work,
      log: () => undefined,
    });
    // What the operator hands the seller: the CA to check Temporal by, and a client pair.
    for (const [from, to] of [
      [certs.caCert, 'ca.pem'],
      [certs.clientCert, 'client.pem'],
      [certs.clientKey, 'client.key'],
    ] as const)
      await copyFile(from, join(sellerMachine, 'tls', to));
    const sellerDataset = join(sellerMachine, 'data', 'patients.duckdb');
    await mkdir(dirname(sellerDataset), { recursive: true });
    await createSyntheticPatients({ path: sellerDataset, rows: 100_000 });

    test = await startTestDeployment(
      'remote',
      async (seller) => {
        await seller.publishDemoTemplate();
        await seller.publishDatasetPolicy();
        // The seller keeps its own copy of what it signed; the operator's catalog has another.
        await cp(seller.directory, join(sellerMachine, 'policies'), { recursive: true });
        // The history codec's key, handed to the seller by value, not as a path into the operator's home.
        const operatorHome = dirname(seller.policiesRoot);
        await writeFile(join(operatorHome, 'codec-keys.json'), newKeyFileJson('remote-1'));
        perimeterEnv = {
          TUSK_HOME: sellerMachine,
          TEMPORAL_ADDRESS: tls.address,
          TEMPORAL_NAMESPACE: 'default',
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(sellerMachine, 'tls', 'ca.pem'),
          TEMPORAL_TLS_CLIENT_CERT_PATH: join(sellerMachine, 'tls', 'client.pem'),
          TEMPORAL_TLS_CLIENT_KEY_PATH: join(sellerMachine, 'tls', 'client.key'),
          TEMPORAL_TLS_SERVER_NAME: certs.serverName,
          TUSK_CODEC_KEYS: await readFile(join(operatorHome, 'codec-keys.json'), 'utf8'),
          TUSK_SELLER_ID: seller.id,
          TUSK_SELLER_PUBLIC_KEY: seller.keys.publicKey,
          TUSK_DATASETS: `patients=${sellerDataset}`,
          TUSK_POLICIES_DIR: join(sellerMachine, 'policies'),
          ...s3.envFor(BUCKET),
        };
      },
      () => ({
        datasetPath: sellerDataset,
        env: s3.envFor(BUCKET),
        remotePerimeter: { cwd: sellerMachine, env: perimeterEnv },
      }),
    );
  });
  afterAll(async () => {
    await test?.close();
    await tls?.stop();
    await s3?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('delivers an answer the buyer opens, with the perimeter knowing no operator path or plaintext address', async () => {
    for (const [name, value] of Object.entries(perimeterEnv)) {
      expect(value, name).not.toContain(test.home);
      expect(value, name).not.toContain(inject('temporalAddress'));
    }

    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', {
      min_age: 30,
      max_age: 50,
      sex: 'F',
    });
    expect(deal.created.status).toBe(201);
    const delivered = await deal.delivered();
    expect(delivered.problem).toBeUndefined();
    expect(delivered.stage).toBe('delivered');

    const payload = await openDealResult(
      test.deployment.buyer.client,
      test.deployment.buyer.resultKeyPem,
      deal.dealId,
    );
    expect(payload.columns).toEqual(['zip3', 'diagnosis_code', 'patients', 'avg_cost', 'total_cost']);
    expect(payload.rows.filter((row) => row[2] !== null).length).toBeGreaterThan(10);
    expect(payload.privacy.epsilonSpent).toBe(2);

    // The sealed answer is an object in the bucket; the operator's blob directory was never used.
    const bucket = new BlobStore(
      new S3BlobBackend({
        bucket: BUCKET,
        endpoint: s3.endpoint,
        region: s3.region,
        credentials: s3.credentials,
        forcePathStyle: true,
      }),
    );
    expect(await bucket.has(delivered.result!.resultRef)).toBe(true);
    expect(await readdir(test.home)).not.toContain('blobs');
    // The privacy ledger is on the seller's machine, not in the operator's home.
    expect(await readdir(test.home)).not.toContain('perimeter');
    expect(await readdir(join(sellerMachine, 'perimeter', test.seller.id))).not.toEqual([]);
  });

  it('the terminator refuses a client without a certificate, or with one another CA signed', async () => {
    const tlsOnly = temporalSecurityFromEnv({
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
      TEMPORAL_TLS_SERVER_NAME: certs.serverName,
    });
    const stranger = temporalSecurityFromEnv({
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.strangerCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.strangerKey,
      TEMPORAL_TLS_SERVER_NAME: certs.serverName,
    });
    // The same terminator, with the seller's pair: answers.
    const seller = await NativeConnection.connect({
      address: tls.address,
      ...temporalSecurityFromEnv(perimeterEnv),
    });
    expect((await seller.workflowService.getSystemInfo({})).serverVersion).toBeTruthy();
    await seller.close();
    for (const security of [tlsOnly, stranger]) {
      const attempt = NativeConnection.connect({ address: tls.address, ...security }).then(
        async (connection) => {
          try {
            await connection.workflowService.getSystemInfo({});
          } finally {
            await connection.close();
          }
        },
      );
      await expect(attempt).rejects.toThrow(/tonic::transport::Error/);
    }
  });

  it('a blob written through S3 reads back checked; a missing one and a corrupt one are told apart', async () => {
    const backend = new S3BlobBackend({
      bucket: BUCKET,
      prefix: 'probe/',
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: s3.credentials,
      forcePathStyle: true,
    });
    const store = new BlobStore(backend);
    const ref = await store.put(Buffer.from('the same bytes'));
    expect(await store.put(Buffer.from('the same bytes'))).toBe(ref);
    expect((await store.get(ref)).toString()).toBe('the same bytes');
    const missing = `sha256:${'0'.repeat(64)}`;
    expect(await store.has(missing)).toBe(false);
    await expect(store.get(missing)).rejects.toThrow(`no blob ${missing}`);
    await backend.write(ref.slice('sha256:'.length), Buffer.from('other bytes'));
    await expect(store.get(ref)).rejects.toThrow(/is corrupt/);
    const wrongKey = new BlobStore(
      new S3BlobBackend({
        ...backend.settings,
        credentials: { accessKeyId: 'nobody', secretAccessKey: 'wrong' },
      }),
    );
    await expect(wrongKey.put(Buffer.from('refused'))).rejects.toThrow();
  });
});
