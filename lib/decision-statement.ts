import canonicalize from 'canonicalize';
import { z } from 'zod';

// No node:crypto here: workflows import this file to compare what was signed with their own state.
const canonicalJson = (value: unknown): string => {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('not JSON');
  return text;
};

/**
 * A principal's decision (an approval, a nomination, evidence, a read, a view), signed over what it
 * decides: one run of one workflow, one subject (the deal or grant and the hash of its signed terms),
 * one action and its content, by one named principal, until an expiry. A signature copied onto another
 * run, subject, action or content, or presented after its expiry, is refused wherever it is checked.
 */
export const DECISION_DOMAIN = 'tusk decision v2';

export const DECISION_ACTIONS = [
  'dispute_outcome',
  'reviewer_nomination',
  'dispute_evidence',
  'evidence_read',
  'disclosure_decision',
  'disclosure_view',
  /** An auditor's export of a deal's audit bundle under an approved disclosure, used once (its nonce). */
  'bundle_export',
  'grant_evidence',
  'milestone_approval',
  'deadline_extension',
  /** The buyer accepts a delivered deal: the seller is paid now, not at the window's end. */
  'deal_confirmation',
  /** The buyer or the seller opens a dispute of a delivered deal (its reason is the content). */
  'dispute_opening',
  /** The subscriber ends its subscription at the current period's end. */
  'subscription_cancellation',
  /** The subscriber has topped up in a grace window: the period's charge is tried again now. */
  'subscription_payment_ready',
  /** The seller agrees that a delivered deal's escrow (its content) goes back to the buyer. */
  'refund_consent',
  /** The grantee gives a grant's unpaid remainder (its content's amount) back to the sponsor before the deadlines. */
  'remainder_consent',
  /** The seller comments on, asks changes to, rejects, or sets the deadline of a template proposal. */
  'template_review',
] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/** What every decision is bound to; a workflow's status shows it, so a signer knows what it signs. */
export const decisionScope = z.object({
  workflowId: z.string(),
  /** The run this decision is for: a new run of the same workflow id has another. */
  runId: z.string(),
  /** The deal (or grant) decided about, and the hash of the terms its payer signed. */
  subject: z.object({ id: z.string(), termsHash: z.string() }),
});
export type DecisionScope = z.infer<typeof decisionScope>;

export interface DecisionStatement<C = unknown> extends DecisionScope {
  action: DecisionAction;
  /** The party that signs: the signature must verify under its registered key. */
  principal: string;
  /** What is decided: an outcome, a disclosure decision with its fields and auditor, a milestone... */
  content: C;
  /** Milliseconds since the epoch: the decision is refused from then on. */
  notAfter: number;
}

export interface SignedDecision<C = unknown> {
  statement: DecisionStatement<C>;
  /** base64url Ed25519 signature over `decisionMessage(statement)`. */
  signature: string;
}

/** What the place that counts a decision expects it to say, besides its signature and expiry. */
export interface ExpectedDecision<C = unknown> {
  scope: DecisionScope;
  action: DecisionAction;
  /** Absent where any principal of the right role may decide (compliance votes). */
  principal?: string;
  content: C;
}

/**
 * Why this signed statement does not decide what is expected at `now`, or undefined when it does.
 * Compared as canonical JSON, so a field added, dropped or changed anywhere is a mismatch.
 */
export function decisionMismatch(
  statement: DecisionStatement,
  expected: ExpectedDecision,
  now: number,
): string | undefined {
  try {
    return mismatchOf(statement, expected, now);
  } catch {
    return 'the decision is malformed';
  }
}

function mismatchOf(
  statement: DecisionStatement,
  expected: ExpectedDecision,
  now: number,
): string | undefined {
  const { scope, action, principal, content } = expected;
  if (statement.workflowId !== scope.workflowId || statement.runId !== scope.runId)
    return `the decision was signed for run ${statement.runId} of ${statement.workflowId}, not run ${scope.runId} of ${scope.workflowId}`;
  if (canonicalJson(statement.subject) !== canonicalJson(scope.subject))
    return `the decision was signed about ${statement.subject?.id} (terms ${statement.subject?.termsHash}), not ${scope.subject.id} (terms ${scope.subject.termsHash})`;
  if (statement.action !== action) return `the decision was signed as ${statement.action}, not ${action}`;
  if (principal !== undefined && statement.principal !== principal)
    return `the decision was signed as ${statement.principal}'s; ${principal} must sign it`;
  if (canonicalJson(statement.content) !== canonicalJson(content))
    return `the decision was signed over ${canonicalJson(statement.content)}, not ${canonicalJson(content)}`;
  if (typeof statement.notAfter !== 'number' || !Number.isFinite(statement.notAfter))
    return 'the decision has no expiry: it must be signed with notAfter';
  if (now >= statement.notAfter)
    return `the decision expired at ${new Date(statement.notAfter).toISOString()}`;
  return undefined;
}

/** How long a client's signed decision stays valid by default: long enough to reach the workflow. */
export const DEFAULT_DECISION_TTL_MS = 10 * 60 * 1000;
