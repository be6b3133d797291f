import { parseEscrowId } from '../../lib/ids/escrow-ids';
import { EXPIRY_CLOCK_MARGIN_MS, refusalStatementProblems } from '../../lib/refusal-statement';
import { termsHashOf, termsSignatureValid, type SignedTerms } from '../../lib/signed-terms';
import type { SignedBundle } from '../bundle';
import { callsOfSubject } from '../deal-facts';
import { readHistory, type ActivityCall } from '../history-json';
import type { AuditorKeys } from './auditor-keys';
import { keyThatSigned } from './key-at-time';
import { NO_KEYS } from './key-checks';
import { delivered } from './loser-checks';
import { periodRefundProblem } from './period-refusal-checks';
import { finding, fromProblems, skipped, type CheckResult } from './report';

const CHECK = "undelivered refunds against the perimeter's refusal";

/** The seller an escrow pays: a share names it, a one-time deal's terms do. */
export const payeeOf = (escrowId: string, terms: SignedTerms) => {
  const ref = parseEscrowId(escrowId);
  return ref?.kind === 'share' ? ref.sellerId : String(terms.body.sellerId);
};

/** Why this refund is not proven to give back money for nothing delivered; undefined when it is. */
function refundProblem(call: ActivityCall, terms: SignedTerms, keys: AuditorKeys): string | undefined {
  const input = call.input[0] as { dealId: string; refusal?: unknown };
  const ref = parseEscrowId(input.dealId);
  if (ref?.kind === 'period') return periodRefundProblem(call, ref, terms, keys);
  const notAfter = Date.parse(String(terms.body.notAfter));
  if (call.completedAt !== undefined && call.completedAt > notAfter + EXPIRY_CLOCK_MARGIN_MS)
    return undefined;
  const sellerId = payeeOf(input.dealId, terms);
  if (input.refusal === undefined)
    return `${input.dealId} was refunded before the buyer's notAfter with no refusal signed by ${sellerId}'s perimeter`;
  const signing = refusalSigning(call, terms, keys);
  if (signing === 'valid') return undefined;
  if (signing === 'none-held')
    return `no perimeter key is held for ${sellerId} to check ${input.dealId}'s refusal`;
  return `${input.dealId} was refunded on a refusal that is not ${sellerId}'s perimeter refusing this deal and these terms`;
}

/**
 * Whether the refund's refusal is its payee's perimeter refusing this deal under these terms, signed
 * by the perimeter key that spoke for the seller when the refund completed.
 */
export function refusalSigning(
  call: ActivityCall,
  terms: SignedTerms,
  keys: AuditorKeys,
): 'valid' | 'none-held' | 'invalid' {
  const input = call.input[0] as { dealId: string; refusal?: unknown };
  if (input.refusal === undefined) return 'invalid';
  const sellerId = payeeOf(input.dealId, terms);
  const expected = { sellerId, dealId: String(terms.body.dealId), termsHash: termsHashOf(terms) };
  const held = keys.perimeterPeriods?.[sellerId] ?? {
    keys: keys.perimeters[sellerId] ? [keys.perimeters[sellerId]] : [],
    from: 'pinned',
  };
  const verifies = (perimeterKey: string) =>
    refusalStatementProblems(input.refusal, { ...expected, perimeterKey }).length === 0;
  const { kind } = keyThatSigned(held, verifies, call.completedAt);
  return kind === 'valid' || kind === 'none-held' ? kind : 'invalid';
}

/** The refunds of escrows (a deal's, a share's, a period's) the histories show nothing delivered for. */
export function undeliveredRefunds(bundle: SignedBundle): { terms?: SignedTerms; refunds: ActivityCall[] } {
  const calls = callsOfSubject(bundle.body.subject, bundle.body.runs);
  const input = readHistory(bundle.body.runs[0]!.history).input[0] as { terms?: SignedTerms } | undefined;
  const terms = input?.terms;
  const dealId = String(terms?.body?.dealId);
  const refunds = calls.filter((call) => {
    const escrowId = String((call.input[0] as { dealId?: unknown })?.dealId);
    const kind = parseEscrowId(escrowId)?.kind;
    return (
      call.completed &&
      call.activityType === 'refundEscrow' &&
      (kind === 'deal' || kind === 'share' || kind === 'period') &&
      !delivered(calls, escrowId, dealId)
    );
  });
  return { ...(terms ? { terms } : {}), refunds };
}

/**
 * A deal's (or share's) refund with no delivery in the histories gives the buyer its money back for
 * nothing only if the seller's perimeter signed its refusal of this deal under these terms, or the
 * buyer's signed notAfter had passed when it was refunded (as settlement checks them,
 * activities/settlement/refund-proof.ts). One with neither is named: the operator moved it. A
 * subscription period's needs its perimeter's refusal of every run of it (./period-refusal-checks.ts).
 */
export function checkUndeliveredRefunds(bundle: SignedBundle, keys?: AuditorKeys): CheckResult[] {
  const { terms, refunds } = undeliveredRefunds(bundle);
  if (refunds.length === 0) return [skipped(CHECK, 'no undelivered deal was refunded')];
  if (!terms || !termsSignatureValid(terms)) return [finding(CHECK, 'money went back without signed terms')];
  if (!keys) return [skipped(CHECK, NO_KEYS)];
  const problems = refunds.flatMap((call) => refundProblem(call, terms, keys) ?? []);
  return fromProblems(
    CHECK,
    problems,
    `${refunds.length} refunds, each on the perimeter's signed refusal or past the signed notAfter`,
  );
}
