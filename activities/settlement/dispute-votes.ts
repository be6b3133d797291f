import type { RegisteredKeys } from '../../lib/key-log';
import { decisionMismatch, decisionSignatureValid, type SignedDecision } from '../../lib/signed-decision';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { parseEscrowId } from '../../lib/ids/escrow-ids';
import { SettlementRefusedError, type SettlementRefusal } from './port';

/** A dispute's outcome as the compliance principals sign it (workflows/dispute/state.ts). */
export type VotedOutcome = { kind: 'release' } | { kind: 'refund' } | { kind: 'split'; sellerBps: number };

/** How many distinct compliance principals must sign the same outcome (as the dispute counts them). */
export const VOTES_NEEDED = 2;

/** The dispute workflow's id for a deal (lib/ids/workflow-ids.ts): its votes are signed for it. */
const disputeWorkflowOf = (dealId: string) => `${dealId}:dispute`;

export interface VotesRequest {
  terms: SignedTerms;
  outcome: VotedOutcome;
  votes?: readonly SignedDecision[] | undefined;
  /** The escrow decided: a subscription period's votes are signed in that period's own dispute. */
  escrowId?: string;
}

/**
 * Whose dispute the votes are signed in: a deal's (`<deal>:dispute`, subject the deal), or a
 * subscription period's (`<period escrow>:dispute`, subject the subscription), so votes on one
 * period never refund another.
 */
function disputeOf(request: VotesRequest): { workflowId: string; subjectId: string } {
  const ref = request.escrowId === undefined ? undefined : parseEscrowId(request.escrowId);
  if (ref?.kind === 'period')
    return { workflowId: disputeWorkflowOf(request.escrowId!), subjectId: ref.subscriptionId };
  const dealId = String(request.terms.body.dealId);
  return { workflowId: disputeWorkflowOf(dealId), subjectId: dealId };
}

/**
 * Whether `VOTES_NEEDED` distinct compliance principals signed exactly this outcome for the dispute of
 * this deal and these terms, each under the key the transparency log registers for it; `undefined`
 * when they did, or why not. The run is not compared: the subject (the deal and the hash of terms that
 * carry the nonce) is what binds a vote, and any run of that deal's dispute decides the same escrow.
 * Expiry is not checked either: it bounds when the dispute could count the vote, and a settlement
 * retried later carries out what was counted in time.
 */
export async function votesProblem(request: VotesRequest, keys: RegisteredKeys): Promise<string | undefined> {
  const { workflowId, subjectId } = disputeOf(request);
  const subject = { id: subjectId, termsHash: termsHashOf(request.terms) };
  const principals = new Set<string>();
  const publicKeys = new Set<string>();
  const problems: string[] = [];
  for (const vote of request.votes ?? []) {
    const problem = await voteProblem(vote, { workflowId, subject, outcome: request.outcome }, keys);
    if (problem) problems.push(problem);
    else {
      principals.add(vote.statement.principal);
      publicKeys.add((await keys.currentKey(vote.statement.principal))!.publicKey);
    }
  }
  if (principals.size >= VOTES_NEEDED && publicKeys.size >= VOTES_NEEDED) return undefined;
  const counted = `${principals.size} of the ${VOTES_NEEDED} compliance votes needed`;
  return problems.length ? `${counted}: ${problems.join('; ')}` : counted;
}

async function voteProblem(
  vote: SignedDecision,
  expected: { workflowId: string; subject: { id: string; termsHash: string }; outcome: VotedOutcome },
  keys: RegisteredKeys,
): Promise<string | undefined> {
  const statement = vote?.statement;
  if (!statement || typeof vote.signature !== 'string') return 'a vote is not signed';
  const mismatch = decisionMismatch(
    { ...statement, notAfter: Number.MAX_SAFE_INTEGER },
    {
      scope: {
        workflowId: expected.workflowId,
        runId: String(statement.runId),
        subject: expected.subject,
      },
      action: 'dispute_outcome',
      content: { outcome: expected.outcome },
    },
    0,
  );
  if (mismatch) return mismatch;
  const key = await keys.currentKey(String(statement.principal));
  if (!key || key.role !== 'compliance')
    return `${statement.principal} is not a registered compliance principal`;
  if (!decisionSignatureValid(key.publicKey, vote))
    return `${statement.principal}'s vote is not signed by its registered key`;
  return undefined;
}

/** Refuses with `code` unless the votes decide this outcome. */
export async function requireVotes(
  code: SettlementRefusal,
  what: string,
  request: VotesRequest,
  keys: RegisteredKeys,
): Promise<void> {
  const problem = await votesProblem(request, keys);
  if (problem) throw new SettlementRefusedError(code, `${what}: ${problem}`);
}
