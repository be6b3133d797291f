import type { EscrowRef } from '../../lib/ids/escrow-ids';
import { subscriptionRunId } from '../../lib/ids/run-ids';
import { refusalStatementProblems } from '../../lib/refusal-statement';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import type { ActivityCall } from '../history-json';
import type { AuditorKeys } from './auditor-keys';
import { keyThatSigned } from './key-at-time';

/**
 * Why a subscription period's refund is not proven to give back a charge for nothing delivered;
 * undefined when it is: the seller's perimeter signed a refusal of every run of the period under the
 * subscriber's terms (as settlement checks it, activities/settlement/period-refund-proof.ts). There is
 * no expiry exemption: the subscriber signs no period end.
 */
export function periodRefundProblem(
  call: ActivityCall,
  ref: EscrowRef & { kind: 'period' },
  terms: SignedTerms,
  keys: AuditorKeys,
): string | undefined {
  const input = call.input[0] as { dealId: string; refusal?: unknown };
  const queries = Array.isArray(terms.body.queries) ? terms.body.queries : [];
  const sellerId = String((queries[0] as { sellerId?: unknown } | undefined)?.sellerId);
  const statements = Array.isArray(input.refusal) ? (input.refusal as unknown[]) : [];
  if (statements.length === 0)
    return `${input.dealId} was refunded with no refusal signed by ${sellerId}'s perimeter`;
  const termsHash = termsHashOf(terms);
  const runIds = queries.map((_, index) => subscriptionRunId(ref.subscriptionId, ref.period, index));
  const held = keys.perimeterPeriods?.[sellerId] ?? {
    keys: keys.perimeters[sellerId] ? [keys.perimeters[sellerId]] : [],
    from: 'pinned',
  };
  const verifies = (perimeterKey: string) =>
    runIds.every((dealId) =>
      statements.some(
        (s) => refusalStatementProblems(s, { perimeterKey, sellerId, dealId, termsHash }).length === 0,
      ),
    );
  const signing = keyThatSigned(held, verifies, call.completedAt);
  if (signing.kind === 'valid') return undefined;
  if (signing.kind === 'none-held')
    return `no perimeter key is held for ${sellerId} to check ${input.dealId}'s refusals`;
  return `${input.dealId} was refunded without ${sellerId}'s perimeter refusing each of its ${runIds.length} runs under these terms`;
}
