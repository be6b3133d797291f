import type { RegisteredKeys, ReleaseLog } from '../../lib/key-log';
import { releaseLookupKey } from '../../lib/transparency/release-entry';
import { parseEscrowId } from '../../lib/ids/escrow-ids';
import { EXPIRY_CLOCK_MARGIN_MS, refusalStatementProblems } from '../../lib/refusal-statement';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { requirePeriodRefundProof } from './period-refund-proof';
import { SettlementRefusedError } from './port';
import { signedEscrowOf, WHOLE } from './signed-payment';

export { EXPIRY_CLOCK_MARGIN_MS };

/** An undelivered escrow's refund, as the settlement activity received it. */
export interface UndeliveredRefund {
  /** The escrow id (`deal:…`, `share:…`). */
  dealId: string;
  terms: SignedTerms;
  /**
   * The payee's perimeter's signed refusal of this deal under these terms (lib/refusal-statement.ts);
   * for a subscription period, an array of them, one per run of the period.
   */
  refusal?: unknown;
}

const unproven = (reason: string): never => {
  throw new SettlementRefusedError('RefundUnproven', reason);
};

/**
 * An escrow settlement has no delivery record for goes back to the buyer only when the buyer provably
 * got nothing: the payee's perimeter signed that it refused this deal under these terms (it then never
 * answers them), checked under the perimeter key the transparency log registers for that seller now;
 * or the buyer's signed `notAfter` has passed on settlement's own clock (the perimeter answers nothing
 * fresh after it) and the log holds no release of the deal by that seller (the perimeter logs each
 * before returning it). Otherwise refused (RefundUnproven): an operator who never reported the release
 * cannot give the seller's delivered answer back for free.
 *
 * A multi-seller deal's shares are each their own escrow: each needs its own seller's refusal, or the
 * expiry. One seller's refusal does not refund another's share, whose contribution may have gone out.
 * A subscription's period needs its perimeter's refusal of every run of the period (./period-refund-proof.ts).
 */
export async function requireUndeliveredRefund(
  input: UndeliveredRefund,
  deps: { keys: RegisteredKeys & Partial<ReleaseLog>; now: number },
): Promise<void> {
  const kind = parseEscrowId(input.dealId)?.kind;
  if (kind === 'period') return requirePeriodRefundProof(input, deps);
  if (kind !== 'deal' && kind !== 'share') return;
  const signed = signedEscrowOf(input.terms, input.dealId);
  const sellerId = signed.payouts.get(WHOLE)!.payeeId;
  const expired = signed.notAfter !== undefined && deps.now > signed.notAfter + EXPIRY_CLOCK_MARGIN_MS;
  // The perimeter's refusal proves it on its own, as before; past notAfter, so does an empty log.
  if (expired && (input.refusal === undefined || (await refusalProblems(input, sellerId, deps.keys)).length))
    return requireNoLoggedRelease(input, sellerId, deps.keys);
  const until = signed.notAfter === undefined ? 'ever' : new Date(signed.notAfter).toISOString();
  if (input.refusal === undefined)
    unproven(
      `settlement has no record of ${input.dealId}'s delivery and no refusal signed by ${sellerId}'s perimeter comes with the refund: the buyer's terms allow an answer until ${until}`,
    );
  const problems = await refusalProblems(input, sellerId, deps.keys);
  if (problems.length > 0)
    unproven(`the refusal is not ${sellerId}'s perimeter refusing this deal: ${problems.join('; ')}`);
}

/** Why the refund's refusal is not the seller's perimeter refusing this deal under these terms. */
async function refusalProblems(
  input: UndeliveredRefund,
  sellerId: string,
  keys: RegisteredKeys,
): Promise<string[]> {
  const perimeter = await keys.currentKey(sellerId, 'perimeter');
  if (!perimeter) return [`the transparency log registers no perimeter key for ${sellerId}`];
  return refusalStatementProblems(input.refusal, {
    perimeterKey: perimeter.publicKey,
    sellerId,
    dealId: String(input.terms.body.dealId),
    termsHash: termsHashOf(input.terms),
  });
}

/**
 * Past `notAfter`, the refund of an escrow settlement was not shown delivered still waits on the log:
 * a release the seller's perimeter logged for these terms is the seller's answer out, and giving the
 * money back would be the seller's loss without its side. A settlement that reads no release log
 * cannot tell, and refuses.
 */
async function requireNoLoggedRelease(
  input: UndeliveredRefund,
  sellerId: string,
  log: Partial<ReleaseLog>,
): Promise<void> {
  if (!log.loggedReleases)
    return unproven(
      `settlement reads no release log, so it cannot tell whether ${sellerId} released ${input.dealId}`,
    );
  const lookupKey = releaseLookupKey({
    sellerId,
    dealId: String(input.terms.body.dealId),
    termsHash: termsHashOf(input.terms),
  });
  const logged = await log.loggedReleases(lookupKey);
  if (logged.length > 0)
    unproven(
      `the transparency log holds ${sellerId}'s release of ${input.dealId} under these terms (leaf ${logged[0]!.leafIndex}, statement ${logged[0]!.digest}): its refund needs the seller's loss decided, not the buyer's expiry`,
    );
}
