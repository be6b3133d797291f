import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeAnswers } from '../../activities/perimeter/he-answers';
import { BlobStore } from '../../lib/blob-store';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { MAX_SELLERS } from '../../lib/he/vector-layout';
import { signTerms } from '../../lib/signed-terms';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tusk-he-width-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** Terms the buyer signed naming `count` sellers (the perimeter has verified them already). */
function termsNaming(count: number) {
  const buyer = generateEd25519KeyPair();
  const sellers = Array.from({ length: count }, (_, i) => ({
    sellerId: `seller-${i}`,
    templateHash: 'sha256:template',
    price: '1',
  }));
  return signTerms(
    'multi_seller',
    'buyer',
    {
      dealId: 'wide',
      templateId: 't',
      sellers,
      parameters: {},
      price: String(count),
      heKeyRef: 'sha256:key',
      compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: ['health'] },
    },
    buyer.privateKeyPem,
  );
}

describe("a contribution's limb width comes from the signed seller count", () => {
  it('refuses terms naming more sellers than can be summed exactly, before charging any budget', async () => {
    const blobs = new BlobStore(join(work, 'blobs'));
    let released = 0;
    const answers = createHeAnswers({
      blobs,
      releaseFor: () => {
        released++;
        throw new Error('no release may be made');
      },
      sign: () => Promise.reject(new Error('nothing may be signed')),
    });
    const input = {
      dealId: 'wide',
      buyerId: 'buyer',
      templateId: 't',
      templateHash: 'sha256:template',
      parameters: {},
      heKeyRef: 'sha256:key',
      terms: termsNaming(MAX_SELLERS + 1),
    };
    await expect(answers.encryptContribution(input)).rejects.toMatchObject({
      type: 'TooManySellers',
      message: expect.stringContaining(`${MAX_SELLERS + 1} sellers`),
    });
    expect(released).toBe(0);
    expect(await readdir(join(work, 'blobs')).catch(() => [])).toEqual([]);
  });
});
