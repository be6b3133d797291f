import { parseEscrowId } from '../../lib/ids/escrow-ids';
import { decisionMismatch, decisionSignatureValid, type SignedDecision } from '../../lib/signed-decision';
import { termsHashOf, termsSignatureValid, type SignedTerms } from '../../lib/signed-terms';
import type { SignedBundle } from '../bundle';
import { callsOfSubject } from '../deal-facts';
import { readHistory, type ActivityCall } from '../history-json';
import type { AuditorKeys } from './auditor-keys';
import { countedDecisions } from './decision-checks';
import { keyThatSigned, retiredKeyProblem } from './key-at-time';
import { NO_KEYS } from './key-checks';
import { finding, fromProblems, skipped, type CheckResult } from './report';

const CHECK = 'money back against the losing side';
/** As the dispute counts them (workflows/approvals.ts), and as settlement checks them. */
const VOTES_NEEDED = 2;
/**
 * The perimeter activity whose result is a deal's answer itself, with the seller's signed release. A
 * multi-seller contribution goes to the coordinator's sum, not to the buyer: a share counts as
 * delivered once settlement recorded it (a failed sum refunds every share, legitimately).
 */
const DELIVERING = new Set(['runApprovedQuery']);

type Outcome = { kind: 'refund' } | { kind: 'split'; sellerBps: number };

/**
 * When a signed vote or consent took effect, by the histories: when the dispute accepted the update
 * that carried it (the key must have spoken for its principal then); one no run counted, when
 * settlement carried out the move it came with. Undefined where the history holds no time.
 */
type EffectTime = (signed: SignedDecision) => number | undefined;

function effectTimes(bundle: SignedBundle, call: ActivityCall): EffectTime {
  const counted = new Map<string, number | undefined>();
  for (const run of bundle.body.runs)
    for (const decision of countedDecisions(run)) counted.set(decision.signed.signature, decision.at);
  return (signed) => (counted.has(signed.signature) ? counted.get(signed.signature) : call.completedAt);
}

/** Why `principal`'s signature does not count under the key valid when it took effect, or undefined. */
function signedAtTime(
  what: string,
  known: AuditorKeys['parties'][string] | undefined,
  signed: SignedDecision,
  at: number | undefined,
): string | undefined {
  const signing = keyThatSigned(known, (key) => decisionSignatureValid(key, signed), at);
  if (signing.kind === 'valid') return undefined;
  if (signing.kind === 'retired') return retiredKeyProblem(what, signing, at);
  return `${what} is not signed by its key`;
}

/** Whether the histories show the escrow's deal delivered: settlement's record, or a seller's release. */
export function delivered(calls: ActivityCall[], escrowId: string, dealId: string): boolean {
  const ref = parseEscrowId(escrowId);
  return calls.some((call) => {
    if (!call.completed) return false;
    const input = call.input[0] as { dealId?: unknown } | undefined;
    if (call.activityType === 'recordDelivery') return input?.dealId === escrowId;
    if (!DELIVERING.has(call.activityType)) return false;
    const release = (call.result as { release?: { body?: { dealId?: string } } })?.release;
    return ref?.kind === 'deal' && release?.body?.dealId === dealId;
  });
}

/** The outcome a refund or split needs votes for; a split's basis points as the votes state them. */
function outcomeOf(call: ActivityCall, votes: SignedDecision[]): Outcome | string {
  if (call.activityType === 'refundEscrow') return { kind: 'refund' };
  const input = call.input[0] as { amount?: string; sellerAmount?: string };
  const voted = (votes[0]?.statement?.content as { outcome?: { kind?: string; sellerBps?: number } })
    ?.outcome;
  if (voted?.kind !== 'split' || !Number.isInteger(voted.sellerBps))
    return 'no compliance vote for a split came with it';
  if (!/^[0-9]{1,31}$/.test(String(input.amount)))
    return `the split moved an amount of ${String(input.amount).slice(0, 32)}`;
  const share = (BigInt(String(input.amount)) * BigInt(voted.sellerBps!)) / 10_000n;
  if (String(share) !== String(input.sellerAmount))
    return `the votes split ${voted.sellerBps} bps to the seller, not the ${input.sellerAmount} paid`;
  return { kind: 'split', sellerBps: voted.sellerBps! };
}

/** Why the votes do not decide this outcome for the deal, under keys the auditor holds; or undefined. */
function votesProblem(
  votes: SignedDecision[],
  outcome: Outcome,
  terms: SignedTerms,
  keys: AuditorKeys,
  timeOf: EffectTime,
) {
  const dealId = String(terms.body.dealId);
  const subject = { id: dealId, termsHash: termsHashOf(terms) };
  const counted = new Set<string>();
  const problems: string[] = [];
  for (const vote of votes) {
    const statement = vote?.statement;
    if (!statement) continue;
    const mismatch = decisionMismatch(
      { ...statement, notAfter: Number.MAX_SAFE_INTEGER },
      {
        scope: { workflowId: `${dealId}:dispute`, runId: String(statement.runId), subject },
        action: 'dispute_outcome',
        content: { outcome },
      },
      0,
    );
    const known = keys.parties[statement.principal];
    const unsigned = signedAtTime(`${statement.principal}'s vote`, known, vote, timeOf(vote));
    if (mismatch) problems.push(mismatch);
    else if (known?.role !== undefined && known.role !== 'compliance')
      problems.push(`${statement.principal} is not a compliance principal`);
    else if (unsigned) problems.push(unsigned);
    else counted.add(statement.principal);
  }
  if (counted.size >= VOTES_NEEDED) return undefined;
  return `${counted.size} of the ${VOTES_NEEDED} compliance votes${problems.length ? ` (${problems.join('; ')})` : ''}`;
}

/**
 * Whether the refund carries the payee's signed `refund_consent` of this escrow, under the key held
 * for it that spoke for the seller when the consent took effect.
 */
function sellerConsented(
  call: ActivityCall,
  terms: SignedTerms,
  keys: AuditorKeys,
  timeOf: EffectTime,
): boolean {
  const input = call.input[0] as { dealId?: string; consent?: SignedDecision };
  const statement = input.consent?.statement;
  const ref = parseEscrowId(String(input.dealId));
  const sellerId = ref?.kind === 'share' ? ref.sellerId : String(terms.body.sellerId);
  if (!statement || call.activityType !== 'refundEscrow') return false;
  const mismatch = decisionMismatch(
    { ...statement, notAfter: Number.MAX_SAFE_INTEGER },
    {
      scope: {
        workflowId: String(statement.workflowId),
        runId: String(statement.runId),
        subject: { id: String(terms.body.dealId), termsHash: termsHashOf(terms) },
      },
      action: 'refund_consent',
      principal: sellerId,
      content: { escrowId: input.dealId },
    },
    0,
  );
  const at = timeOf(input.consent!);
  const signing = keyThatSigned(keys.parties[sellerId], (k) => decisionSignatureValid(k, input.consent!), at);
  return mismatch === undefined && signing.kind === 'valid';
}

/**
 * A delivered deal's (or share's) refund, and any split, takes money the seller was owed: each must
 * carry two distinct compliance principals' signed votes for exactly that outcome on this deal's
 * terms (a refund: or the seller's own signed consent), under keys the auditor holds, each the key
 * that spoke for its principal when the vote or consent took effect (a key rotated since still counts
 * for what it signed before; a retired key's signature after its rotation is named). One without is
 * named: the operator moved it.
 */
export function checkLoserConsent(bundle: SignedBundle, keys?: AuditorKeys): CheckResult[] {
  const calls = callsOfSubject(bundle.body.subject, bundle.body.runs);
  const input = readHistory(bundle.body.runs[0]!.history).input[0] as { terms?: SignedTerms } | undefined;
  const terms = input?.terms;
  const dealId = String(terms?.body?.dealId);
  const moves = calls.filter((call) => {
    const escrowId = String((call.input[0] as { dealId?: unknown })?.dealId);
    if (!call.completed) return false;
    if (call.activityType === 'splitEscrow') return true;
    return call.activityType === 'refundEscrow' && delivered(calls, escrowId, dealId);
  });
  if (moves.length === 0) return [skipped(CHECK, 'no delivered deal was refunded or split')];
  if (!terms || !termsSignatureValid(terms)) return [finding(CHECK, 'money went back without signed terms')];
  if (!keys) return [skipped(CHECK, NO_KEYS)];
  const problems = moves.flatMap((call) => {
    const timeOf = effectTimes(bundle, call);
    if (sellerConsented(call, terms, keys, timeOf)) return [];
    const escrowId = String((call.input[0] as { dealId?: unknown }).dealId);
    const votes = ((call.input[0] as { votes?: SignedDecision[] }).votes ?? []).filter(Boolean);
    const outcome = outcomeOf(call, votes);
    const problem = typeof outcome === 'string' ? outcome : votesProblem(votes, outcome, terms, keys, timeOf);
    const what = call.activityType === 'refundEscrow' ? 'refunded after delivery' : 'split';
    return problem ? [`${escrowId} was ${what} without the seller's side decided: ${problem}`] : [];
  });
  return fromProblems(CHECK, problems, `${moves.length} refunds or splits, each on two compliance votes`);
}
