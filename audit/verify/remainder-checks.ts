import { parseEscrowId } from '../../lib/ids/escrow-ids';
import { decisionSignatureValid, type SignedDecision } from '../../lib/signed-decision';
import { termsHashOf, termsSignatureValid, type SignedTerms } from '../../lib/signed-terms';
import type { SignedBundle } from '../bundle';
import { callsOfSubject } from '../deal-facts';
import { allPayloadValues, readHistory, type ActivityCall } from '../history-json';
import type { AuditorKeys } from './auditor-keys';
import { NO_KEYS } from './key-checks';
import { finding, fromProblems, skipped, type CheckResult } from './report';

const CHECK = "grant remainders against the sponsor's deadlines and extensions";

interface GrantMilestone {
  milestoneId: string;
  deadline: string;
}

/** A payload that is the sponsor's signed extension of one of these terms' milestones, verified. */
export function isSponsorsExtension(
  value: unknown,
  terms: SignedTerms,
  sponsorKeys: readonly string[],
): boolean {
  const statement = (value as SignedDecision | null)?.statement;
  if (!statement || statement.action !== 'deadline_extension' || statement.principal !== terms.signer)
    return false;
  if (
    statement.subject?.id !== String(terms.body.grantId) ||
    statement.subject.termsHash !== termsHashOf(terms)
  )
    return false;
  return sponsorKeys.some((key) => decisionSignatureValid(key, value as SignedDecision));
}

/** A value and every object inside it: an extension sits in an update's request or a settlement call. */
export function nestedObjects(value: unknown): unknown[] {
  if (typeof value !== 'object' || value === null) return [];
  return [value, ...Object.values(value).flatMap(nestedObjects)];
}

/** Each milestone's latest deadline: the terms' own, moved later by every verified extension. */
function latestDeadlines(terms: SignedTerms, extensions: readonly SignedDecision[]): Map<string, number> {
  const milestones = (terms.body.milestones ?? []) as GrantMilestone[];
  const deadlines = new Map(milestones.map((m) => [m.milestoneId, Date.parse(m.deadline)]));
  for (const extension of extensions) {
    const { milestoneId, deadline } = extension.statement.content as {
      milestoneId: string;
      deadline: number;
    };
    if (deadlines.has(milestoneId) && typeof deadline === 'number')
      deadlines.set(milestoneId, Math.max(deadlines.get(milestoneId)!, deadline));
  }
  return deadlines;
}

/** Why a remainder returned without the grantee's consent was not due when it moved; undefined when it was. */
function remainderProblem(
  call: ActivityCall,
  calls: readonly ActivityCall[],
  deadlines: Map<string, number>,
): string | undefined {
  const input = call.input[0] as { dealId: string; consent?: unknown };
  if (input.consent !== undefined || call.completedAt === undefined) return undefined;
  const at = call.completedAt;
  const paid = new Set(
    calls
      .filter((c) => c.completed && c.activityType === 'releasePart' && (c.completedAt ?? Infinity) <= at)
      .map((c) => String((c.input[0] as { partId?: unknown }).partId)),
  );
  const unpaid = [...deadlines].filter(([milestoneId]) => !paid.has(milestoneId));
  if (unpaid.length === 0 || unpaid.some(([, deadline]) => at >= deadline)) return undefined;
  const next = Math.min(...unpaid.map(([, deadline]) => deadline));
  return `${input.dealId}'s remainder went back at ${new Date(at).toISOString()}, before the deadline the sponsor signed or extended (${new Date(next).toISOString()}), without the grantee's consent`;
}

/**
 * A grant's remainder goes back to the sponsor without the grantee's consent only once an unpaid
 * milestone is past its deadline: the terms' own, or a later one from any extension the sponsor
 * signed that the histories hold (shown to settlement or not), as settlement checks it
 * (activities/settlement/loser-consent.ts). One returned earlier is named: the operator left the
 * sponsor's extension out. With the log read (./log-checks.ts), the extensions it holds under the
 * grant's lookup key count too, as settlement counts them.
 */
export function checkRemainderTimes(
  bundle: SignedBundle,
  keys?: AuditorKeys,
  loggedExtensions: readonly unknown[] = [],
): CheckResult[] {
  if (bundle.body.subject.kind !== 'grant') return [];
  const calls = callsOfSubject(bundle.body.subject, bundle.body.runs);
  const remainders = calls.filter(
    (call) =>
      call.completed &&
      call.activityType === 'refundRemainder' &&
      parseEscrowId(String((call.input[0] as { dealId?: unknown })?.dealId))?.kind === 'grant',
  );
  if (remainders.length === 0) return [skipped(CHECK, 'no remainder was returned')];
  const terms = (readHistory(bundle.body.runs[0]!.history).input[0] as { terms?: SignedTerms } | undefined)
    ?.terms;
  if (!terms || !termsSignatureValid(terms))
    return [finding(CHECK, 'a remainder went back without signed terms')];
  if (!keys) return [skipped(CHECK, NO_KEYS)];
  const sponsorKeys = keys.parties[terms.signer]?.keys ?? [];
  const extensions = [
    ...bundle.body.runs.flatMap((run) => allPayloadValues(run.history)),
    ...loggedExtensions,
  ]
    .flatMap(nestedObjects)
    .filter((value): value is SignedDecision => isSponsorsExtension(value, terms, sponsorKeys));
  const deadlines = latestDeadlines(terms, extensions);
  const problems = remainders.flatMap((call) => remainderProblem(call, calls, deadlines) ?? []);
  return fromProblems(
    CHECK,
    problems,
    `${remainders.length} remainders, each past an unpaid milestone's deadline or on the grantee's consent`,
  );
}
