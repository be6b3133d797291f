import { describe, expect, it } from 'vitest';
import { generateHeKeys } from '../../lib/he/buyer-keys';
import { openSum } from '../../sdk/he-selection';
import { encryptChunks } from '../../lib/he/ciphertexts';
import { ciphertextTexts, decodeEnvelope, type HeVectorEnvelope } from '../../lib/he/he-result';
import { HE_PARAMETER_ID } from '../../lib/he/seal-context';
import { sumEnvelope, SumMismatchError } from '../../lib/he/sum-envelope';
import { encodeValues, FOUR_LIMBS, limbEncodingFor, vectorLayout } from '../../lib/he/vector-layout';
import type { QueryTemplate } from '../../query-policies/template';

const deal = { dealId: 'deal-1', heKeyRef: 'sha256:key' };

/** A contribution envelope; its ciphertexts are only loaded once the sum's checks pass. */
const contribution = (limbBits: number | undefined, ciphertexts = ['AA==']): HeVectorEnvelope => ({
  kind: 'contribution',
  parameters: HE_PARAMETER_ID,
  dealId: deal.dealId,
  keyRef: deal.heKeyRef,
  quantities: ['units'],
  groups: 4,
  ...(limbBits === undefined ? {} : { limbBits }),
  ciphertexts,
});

describe('the sum envelope of contributions in varying limb widths', () => {
  it('refuses more contributions than their limbs add exactly, before adding anything', async () => {
    const many = Array.from({ length: FOUR_LIMBS.maxAddends + 1 }, () => contribution(undefined));
    await expect(sumEnvelope(deal, many)).rejects.toThrow(SumMismatchError);
    await expect(sumEnvelope(deal, many)).rejects.toThrow(/13-bit limbs could wrap: at most 126/);
  });

  it('refuses contributions in different limb widths', async () => {
    await expect(sumEnvelope(deal, [contribution(undefined), contribution(9)])).rejects.toThrow(
      /not all for this deal, key and layout/,
    );
  });

  it('carries the limb width into the sum, and omits the four-limb one so older sums keep their bytes', async () => {
    const keys = await generateHeKeys();
    for (const encoding of [FOUR_LIMBS, limbEncodingFor(600)]) {
      const layout = vectorLayout(4, 1, encoding);
      const chunks = ciphertextTexts(
        await encryptChunks(keys.publicKey, encodeValues(layout, [[1n], [2n], [3n], [4n]])),
      );
      const limbBits = encoding === FOUR_LIMBS ? undefined : encoding.limbBits;
      const sum = decodeEnvelope(
        await sumEnvelope(deal, [contribution(limbBits, chunks), contribution(limbBits, chunks)]),
      );
      expect(sum.limbBits).toBe(limbBits);
      expect('limbBits' in sum).toBe(limbBits !== undefined);
      expect(sum.contributors).toBe(2);
    }
  }, 60_000);

  it('the buyer refuses a sum of more vectors than its limbs carry instead of misreading it', async () => {
    const sum: HeVectorEnvelope = { ...contribution(undefined), kind: 'sum', contributors: 127 };
    const secret = { keyRef: deal.heKeyRef } as Parameters<typeof openSum>[0];
    await expect(openSum(secret, {} as QueryTemplate, sum)).rejects.toThrow(/carry at most 126 exactly/);
  });
});
