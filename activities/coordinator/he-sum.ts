import { ApplicationFailure, log } from '@temporalio/activity';
import type { BlobStore } from '../../lib/blob-store';
import { canonicalHash } from '../../lib/canonical-json';
import { HeKeyError } from '../../lib/he/ciphertexts';
import { decodeEnvelope } from '../../lib/he/he-result';
import { sumEnvelope, SumMismatchError } from '../../lib/he/sum-envelope';
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
    let sum: Buffer;
    try {
      sum = await sumEnvelope({ dealId: input.dealId, heKeyRef: input.heKeyRef }, envelopes);
    } catch (error) {
      if (error instanceof SumMismatchError || error instanceof HeKeyError)
        refuse('ContributionMismatch', error.message);
      throw error;
    }
    const resultRef = await deps.blobs.put(sum);
    log.info('multi-seller sum computed', { dealId: input.dealId, contributors: envelopes.length });
    return { resultRef, commitment: canonicalHash({ resultRef }), contributors: envelopes.length };
  }

  return { sumCiphertexts };
}
