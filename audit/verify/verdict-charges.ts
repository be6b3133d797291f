import { milestoneChargeId } from '../../lib/ids/run-ids';
import type { SignedBundle } from '../bundle';
import { callsOfSubject } from '../deal-facts';
import type { PrivacyEntries } from '../privacy-entries';
import { finding, fromProblems, type CheckResult } from './report';

const CHECK = "milestone verdicts' ε in the seller's ledger";

/** A milestone verdict the histories record, with the ε its perimeter's statement says was charged. */
interface VerdictCharge {
  /** The privacy-ledger id its run is charged under, and the grant terms' nonce beside it. */
  chargeId: string;
  nonce?: string;
  label: string;
  sellerId: string | undefined;
  /** As the seller's perimeter signed it; undefined when the verdict carries no statement. */
  epsilonCharged: number | undefined;
}

/** Every completed milestone check of the subject, with the ε its statement states. */
export function verdictChargesOf(bundle: SignedBundle): VerdictCharge[] {
  return callsOfSubject(bundle.body.subject, bundle.body.runs)
    .filter((c) => c.completed && c.activityType === 'checkMilestone')
    .map((c) => {
      const input = c.input[0] as {
        grantId: string;
        milestoneId: string;
        checkId: string;
        terms?: { body?: { nonce?: unknown } };
      };
      const release = (c.result as { release?: { body?: { epsilonCharged?: unknown; sellerId?: string } } })
        ?.release?.body;
      const nonce = input.terms?.body?.nonce;
      return {
        chargeId: milestoneChargeId(input.grantId, input.milestoneId),
        ...(typeof nonce === 'string' ? { nonce } : {}),
        label: `${input.grantId} milestone ${input.milestoneId} check ${input.checkId}`,
        sellerId: c.taskQueue?.startsWith('perimeter.')
          ? c.taskQueue.slice('perimeter.'.length)
          : release?.sellerId,
        epsilonCharged: typeof release?.epsilonCharged === 'number' ? release.epsilonCharged : undefined,
      };
    });
}

/**
 * Each milestone verdict's ε, as the seller's perimeter signed it in the verdict's statement, against
 * the seller's own privacy-ledger entry of the milestone's run (its id and the terms' nonce): a run is
 * charged once, committed, at the ε every verdict of it states. A mismatch is a finding: the perimeter
 * said one cost and its ledger kept another. Verdicts without a statement are the release check's.
 */
export function checkVerdictCharges(bundle: SignedBundle, ledger: PrivacyEntries): CheckResult[] {
  const verdicts = verdictChargesOf(bundle).filter(
    (v) => v.epsilonCharged !== undefined && (v.sellerId === undefined || v.sellerId === ledger.sellerId),
  );
  if (verdicts.length === 0) return [];
  const problems = verdicts.flatMap((verdict) => {
    const entries = ledger.entries.filter((e) => e.dealId === verdict.chargeId);
    // The run of these terms' nonce, else one kept before nonces were recorded.
    const entry =
      entries.find((e) => verdict.nonce !== undefined && e.nonce === verdict.nonce) ??
      entries.find((e) => !e.nonce);
    if (!entry) return [`${verdict.label}: its run has no entry in the seller's privacy ledger`];
    const charged = entry.microEpsilon / 1e6;
    const found: string[] = [];
    if (entry.state !== 'committed')
      found.push(`${verdict.label}: its run is ${entry.state} in the ledger, not charged`);
    if (Math.round(verdict.epsilonCharged! * 1e6) !== entry.microEpsilon)
      found.push(
        `${verdict.label}: the perimeter's verdict states ε ${verdict.epsilonCharged}, its ledger charged the run ε ${charged}`,
      );
    return found;
  });
  return problems.length === 0
    ? fromProblems(
        CHECK,
        [],
        `${verdicts.length} verdict${verdicts.length === 1 ? '' : 's'}, each as its run was charged`,
      )
    : problems.map((p) => finding(CHECK, p));
}
