import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedTermsOf } from '../../api/signed-terms';
import { keepSignedTerms, readKeptTermsHash } from '../../cli/settlement/kept-terms';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import { termsHashOf } from '../../lib/signed-terms';
import { TuskClient } from '../../lib/tusk-client';

describe('the terms hash a buyer keeps when it signs', () => {
  let home: string;
  const signing = generateEd25519KeyPair();
  const client = new TuskClient('http://127.0.0.1:1', 'buyer-1', signing.privateKeyPem);
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tusk-kept-hash-'));
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  it("is the hash of the envelope the API builds from the request, so a statement's terms hash compares", async () => {
    const signed = client.signed('cohort_query', {
      dealId: 'd1',
      price: '1000',
      buyerPublicKey: generateX25519KeyPair().publicKey,
    });
    await keepSignedTerms(home, client, 'cohort_query', 'd1', signed);
    const asTheApiSeesIt = signedTermsOf(
      { id: 'buyer-1', role: 'buyer', publicKey: signing.publicKey },
      'cohort_query',
      signed,
    );
    expect(await readKeptTermsHash(home, 'buyer-1', 'cohort_query', 'd1')).toBe(termsHashOf(asTheApiSeesIt));
  });

  it('refuses, with what to do, when no terms were signed from this home', async () => {
    await expect(readKeptTermsHash(home, 'buyer-1', 'cohort_query', 'nope')).rejects.toThrow(
      /no cohort_query terms signed here for nope .*: tusk accepts only answers to terms you signed from this home/,
    );
  });
});
