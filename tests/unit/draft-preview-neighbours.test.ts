import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDraftPreviewActivities } from '../../activities/perimeter/draft-preview';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import type { RegisteredKeys } from '../../lib/key-log';
import { createSyntheticPatients } from '../../lib/synthetic-patients';
import type { DeclaredColumns } from '../../query-policies/column-domains';
import { signDatasetPolicy, type DatasetPolicy } from '../../query-policies/dataset-policy';
import { datasetPolicyPath } from '../../query-policies/dataset-policy-file';
import { previewSignatureProblem, signDraft, type DraftToSign } from '../../query-policies/draft-signature';
import { sealDraft } from '../../query-policies/sealed-draft';
import { BlobStore } from '../../lib/blob-store';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import type { SignedDraft } from '../../workflows/template-review/shapes';
import type { QueryTemplate } from '../../query-policies/template';

const DIAGNOSES = ['I10', 'E11', 'J45', 'M54', 'F32', 'K21', 'N39', 'G43', 'C50', 'Z00', 'L40', 'D50'];
const COLUMNS: DeclaredColumns = {
  person_id: { type: 'integer', min: 1, max: 1500 },
  age: { type: 'integer', min: 5, max: 94 },
  sex: { type: 'enum', values: ['F', 'M'] },
  diagnosis_code: { type: 'enum', values: DIAGNOSES },
  cost: { type: 'decimal', scale: 2, min: 50, max: 4050 },
};

const seller = generateEd25519KeyPair();
const perimeter = generateEd25519KeyPair();
const perimeterSealing = generateX25519KeyPair();
const proposer = generateEd25519KeyPair();
/** The transparency log's answer, fixed: the proposer is a registered buyer under its key. */
const keys: RegisteredKeys = {
  currentKey: async (partyId) =>
    partyId === 'buyer-a'
      ? {
          type: 'tusk.key-registration/v1',
          partyId,
          role: 'buyer',
          purpose: 'party',
          publicKey: proposer.publicKey,
          sequence: 0,
        }
      : undefined,
};

const draft: QueryTemplate = {
  id: 'proposed',
  version: 1,
  seller: 'seller-a',
  title: 'Patients and cost per diagnosis',
  description: 'per diagnosis',
  dataset: 'patients',
  sql: 'SELECT person_id, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex',
  parameters: {
    min_age: { type: 'integer', min: 0, max: 120 },
    max_age: { type: 'integer', min: 0, max: 120 },
    sex: { type: 'enum', values: ['F', 'M'] },
  },
  constraints: [{ lessOrEqual: ['min_age', 'max_age'] }],
  dimensions: ['diagnosis_code'],
  metrics: [
    { name: 'patients', aggregate: 'count_units' },
    { name: 'total_cost', aggregate: 'sum', column: 'cost', min: 0, max: 4000 },
  ],
  privacyUnit: 'person_id',
  maxGroupsPerUnit: 3,
  minCohortSize: 20,
  privacy: { mechanism: 'discrete_laplace', epsilon: 2 },
  price: '500',
  compliance: { jurisdictions: ['US'], purposes: ['research'], dataClasses: ['health'] },
  multiSeller: false,
  privateSelection: false,
  groupDomain: { diagnosis_code: DIAGNOSES },
};

/**
 * The preview's privacy claim, tested against its definition: for neighbouring datasets D and D′
 * (D′ = D without every row of one person), what leaves the perimeter is identical, so it says
 * nothing about whether that person is in the data (PRIVACY.md, "Template proposals").
 */
describe('a draft preview on neighbouring datasets', () => {
  let dir: string;
  let blobs: BlobStore;
  const activitiesOn = (datasetFile: string) =>
    createDraftPreviewActivities({
      sellerId: 'seller-a',
      sellerPublicKey: seller.publicKey,
      policiesDir: dir,
      datasets: { patients: datasetFile },
      keys,
      queryTimeoutMs: 30_000,
      releaseKey: perimeter,
      blobs,
      sealingKey: perimeterSealing,
    });
  /** As the proposer's CLI sends it: sealed to the perimeter, stored, and its hash signed. */
  const sealedAndSigned = async (
    toSign: DraftToSign,
    signerPem = proposer.privateKeyPem,
    sealTo = perimeterSealing.publicKey,
  ): Promise<SignedDraft> => ({
    reviewId: toSign.reviewId,
    revision: toSign.revision,
    proposer: toSign.proposer,
    seller: toSign.draft.seller,
    dataset: toSign.draft.dataset,
    templateId: toSign.draft.id,
    draftRef: await blobs.put(await sealDraft(toSign, { perimeter: sealTo })),
    ...signDraft(toSign, signerPem),
  });
  const first = { reviewId: 'r1', revision: 1, proposer: 'buyer-a', draft };
  const previewOn = async (datasetFile: string) =>
    activitiesOn(datasetFile).previewDraft(await sealedAndSigned(first));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-preview-'));
    blobs = new BlobStore(join(dir, 'blobs'));
    await createSyntheticPatients({ path: join(dir, 'd.duckdb'), rows: 3000 });
    await copyFile(join(dir, 'd.duckdb'), join(dir, 'd-prime.duckdb'));
    const instance = await DuckDBInstance.create(join(dir, 'd-prime.duckdb'));
    const connection = await instance.connect();
    await connection.run('DELETE FROM patients WHERE person_id = (SELECT min(person_id) FROM patients)');
    await connection.run('CHECKPOINT');
    connection.closeSync();
    instance.closeSync();
    const policy: DatasetPolicy = {
      seller: 'seller-a',
      version: 1,
      datasets: {
        patients: {
          total: { epsilon: 100, delta: 1e-5 },
          perBuyer: { epsilon: 10, delta: 1e-6 },
          columns: COLUMNS,
        },
      },
    };
    await writeFile(
      datasetPolicyPath(dir),
      JSON.stringify({ policy, signature: signDatasetPolicy(policy, seller.privateKeyPem) }),
    );
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is the same on D and on D′, and says what the draft would answer', async () => {
    const [onD, onNeighbour] = await Promise.all([
      previewOn(join(dir, 'd.duckdb')),
      previewOn(join(dir, 'd-prime.duckdb')),
    ]);
    expect(onD).toEqual(onNeighbour);
    expect(onD).toMatchObject({ kind: 'previewed', epsilon: 2, answersPerBuyer: 5, answersTotal: 50 });
    if (onD.kind !== 'previewed') throw new Error('refused');
    expect(previewSignatureProblem(onD, perimeter.publicKey)).toBeUndefined();
    // Made up by whoever completes the activity: not the perimeter's.
    expect(previewSignatureProblem({ ...onD, answersPerBuyer: 500 }, perimeter.publicKey)).toMatch(
      /not signed/,
    );
  });

  it('runs nothing for a draft its proposer did not sign', async () => {
    const forged = await sealedAndSigned(first, seller.privateKeyPem);
    await expect(activitiesOn(join(dir, 'd.duckdb')).previewDraft(forged)).rejects.toMatchObject({
      type: 'TermsSignatureInvalid',
    });
  });

  it('runs nothing when the reference is swapped for another sealed draft, or a box it cannot open', async () => {
    const activities = activitiesOn(join(dir, 'd.duckdb'));
    const signed = await sealedAndSigned(first);
    // Another draft, sealed to this perimeter for the same review: its reference in place of the signed one.
    const other = await sealedAndSigned({ ...first, draft: { ...draft, minCohortSize: 5 } });
    await expect(activities.previewDraft({ ...signed, draftRef: other.draftRef })).rejects.toMatchObject({
      type: 'TermsSignatureInvalid',
      message: expect.stringMatching(/not the signed one/),
    });
    // The signed draft, sealed to a key other than this perimeter's: it does not open here.
    const elsewhere = await sealedAndSigned(first, proposer.privateKeyPem, generateX25519KeyPair().publicKey);
    await expect(activities.previewDraft(elsewhere)).rejects.toMatchObject({
      type: 'TermsMismatch',
      message: expect.stringMatching(/does not open/),
    });
  });
});
