import { ApplicationFailure, log } from '@temporalio/activity';
import type { BlobStore } from '../../lib/blob-store';
import { canonicalHash } from '../../lib/canonical-json';
import { HeKeyError, sumChunks } from '../../lib/he/ciphertexts';
import { ciphertextBytes, ciphertextTexts, decodeEnvelope, encodeEnvelope } from '../../lib/he/he-result';
import { HE_PARAMETER_ID } from '../../lib/he/seal-context';
import { MAX_SELLERS } from '../../lib/he/vector-layout';

export interface SumCiphertextsInput {
  dealId: string;
  /** The buyer's HE key document: every contribution must be encrypted to it. */
  heKeyRef: string;
  contributionRefs: string[];
}

export interface SumCiphertextsResult {
  resultRef: string;
  commitment: string;
  contributors: number;
}

const refuse = (type: string, message: string): never => {
  throw ApplicationFailure.nonRetryable(message, type);
};

/**
 * The coordinator's one HE step: adds the sellers' encrypted vectors. It holds no secret key, so it
 * cannot read a contribution or the sum; it checks only what the envelopes say in the clear (deal,
 * key, shape) and refuses fewer than two contributions, so no single seller's vector is delivered.
 */
export function createHeSumActivities(deps: { blobs: BlobStore }) {
  async function sumCiphertexts(input: SumCiphertextsInput): Promise<SumCiphertextsResult> {
    const refs = [...new Set(input.contributionRefs)];
    if (refs.length < 2) refuse('TooFewSellers', 'a multi-seller sum needs at least two contributions');
    if (refs.length > MAX_SELLERS)
      refuse('TooManySellers', `at most ${MAX_SELLERS} sellers can be summed exactly`);
    const envelopes = await Promise.all(refs.map(async (ref) => decodeEnvelope(await deps.blobs.get(ref))));
    const first = envelopes[0]!;
    for (const envelope of envelopes) {
      const fits =
        envelope.kind === 'contribution' &&
        envelope.dealId === input.dealId &&
        envelope.keyRef === input.heKeyRef &&
        envelope.groups === first.groups &&
        envelope.ciphertexts.length === first.ciphertexts.length &&
        envelope.quantities.join() === first.quantities.join();
      if (!fits)
        refuse('ContributionMismatch', 'the contributions are not all for this deal, key and layout');
    }
    let total;
    try {
      total = await sumChunks(envelopes.map(ciphertextBytes));
    } catch (error) {
      if (error instanceof HeKeyError) refuse('ContributionMismatch', error.message);
      throw error;
    }
    const resultRef = await deps.blobs.put(
      encodeEnvelope({
        kind: 'sum',
        parameters: HE_PARAMETER_ID,
        dealId: input.dealId,
        keyRef: input.heKeyRef,
        quantities: first.quantities,
        groups: first.groups,
        contributors: envelopes.length,
        ciphertexts: ciphertextTexts(total),
      }),
    );
    log.info('multi-seller sum computed', { dealId: input.dealId, contributors: envelopes.length });
    return { resultRef, commitment: canonicalHash({ resultRef }), contributors: envelopes.length };
  }

  return { sumCiphertexts };
}
