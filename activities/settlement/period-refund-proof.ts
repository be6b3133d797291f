import type { RegisteredKeys } from '../../lib/key-log';
import { parseEscrowId } from '../../lib/ids/escrow-ids';
import { subscriptionRunId } from '../../lib/ids/run-ids';
import { refusalStatementProblems } from '../../lib/refusal-statement';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { SettlementRefusedError } from './port';
import { signedEscrowOf, verifiedPaymentTerms, WHOLE } from './signed-payment';

/** A subscription period's refund, as the settlement activity received it. */
export interface PeriodRefund {
  /** The period's escrow id (`period:<subscription>:<n>:…`). */
  dealId: string;
  terms: SignedTerms;
  /** The seller's perimeter's signed refusals, one per query the subscriber scheduled for the period. */
  refusal?: unknown;
}

const unproven = (reason: string): never => {
  throw new SettlementRefusedError('RefundUnproven', reason);
};

/**
 * A period's charge goes back to the subscriber only when the subscriber provably got nothing for
 * it: the seller's perimeter signed a refusal of every query run of that period (run id
 * `subscriptionRunId(subscription, period, i)` for each of the signed queries) under these terms,
 * each checked under the perimeter key the transparency log registers for the seller now. The
 * perimeter signs a refusal only after recording that it will never release an answer for that run
 * under these terms (first outcome stands), so one answered run of the period has no refusal and its
 * charge stays the seller's: an operator cannot give a delivered period back for free.
 *
 * There is no expiry path, unlike a deal's: the subscriber signs no period end. It signs a start
 * window (`notAfter`), a period length and a count; the start within the window is the operator's
 * choice, and the perimeter bounds no subscription run by time, so a period's run may still be
 * answered after any time settlement could compute.
 */
export async function requirePeriodRefundProof(
  input: PeriodRefund,
  deps: { keys: RegisteredKeys },
): Promise<void> {
  const ref = parseEscrowId(input.dealId);
  if (ref?.kind !== 'period') return;
  const body = verifiedPaymentTerms(input.terms, 'subscription');
  const sellerId = signedEscrowOf(input.terms, input.dealId).payouts.get(WHOLE)!.payeeId;
  const runIds = body.queries.map((_, index) => subscriptionRunId(ref.subscriptionId, ref.period, index));
  const statements = Array.isArray(input.refusal) ? (input.refusal as unknown[]) : [];
  if (statements.length === 0)
    unproven(
      `settlement has no proof that period ${ref.period} of ${ref.subscriptionId} went undelivered: a refund needs ${sellerId}'s perimeter's signed refusal of each of its ${runIds.length} runs`,
    );
  const perimeter = await deps.keys.currentKey(sellerId, 'perimeter');
  if (!perimeter) return unproven(`the transparency log registers no perimeter key for ${sellerId}`);
  const termsHash = termsHashOf(input.terms);
  for (const runId of runIds) {
    const expected = { perimeterKey: perimeter.publicKey, sellerId, dealId: runId, termsHash };
    const problems = statements.map((statement) => refusalStatementProblems(statement, expected));
    if (problems.some((found) => found.length === 0)) continue;
    const closest = problems.find((found) => !found.some((p) => p.startsWith('it refuses deal')));
    unproven(
      `no refusal signed by ${sellerId}'s perimeter of run ${runId} under these terms comes with the refund${closest ? `: ${closest.join('; ')}` : ''}`,
    );
  }
}
