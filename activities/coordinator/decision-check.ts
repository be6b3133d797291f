import { ApplicationFailure, Context } from '@temporalio/activity';
import { decisionSignatureValid, type SignedDecision } from '../../lib/signed-decision';
import type { RegisteredKeys } from '../../lib/key-log';
import type { PartyRole } from '../../lib/parties';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { checkSubjectTerms } from '../../lib/subject-terms';
import { dealTermsQuery } from '../../workflows/deal-terms';

export interface VerifyDecisionInput {
  signed: SignedDecision;
  /** The roles the registry may give the principal; absent where the workflow names the party itself. */
  roles?: PartyRole[];
  /**
   * A party the decision gives a role to (a nominated reviewer): it must be registered in one of these
   * roles, checked here where the nomination takes effect, whoever sent it to the workflow.
   */
  named?: { party: string; roles: PartyRole[] };
}

/** The principal as verified: its id and the key its signature verified under. */
export interface VerifiedDecision {
  principal: string;
  key: string;
}

const refuse = (message: string, type: string) => ApplicationFailure.nonRetryable(message, type);

/**
 * Verifies a signed decision before a workflow counts it: signed by the key the transparency log
 * registers for the principal it names, in a role that may decide (proven to the operator's signed
 * head, never read from the operator's registry file), for the very run that asks (Temporal tells
 * the activity which run scheduled it), and not expired. The workflow compares subject, action and
 * content with its own state first.
 */
export function createDecisionCheckActivities(deps: { keys: RegisteredKeys }) {
  async function verifyDecision({ signed, roles, named }: VerifyDecisionInput): Promise<VerifiedDecision> {
    const { statement } = signed;
    const asking = Context.current().info.workflowExecution;
    if (statement.workflowId !== asking?.workflowId || statement.runId !== asking.runId)
      throw refuse(
        `the decision was signed for run ${statement.runId} of ${statement.workflowId}, not for the run that asks`,
        'DecisionForAnotherRun',
      );
    if (!(typeof statement.notAfter === 'number' && Date.now() < statement.notAfter))
      throw refuse(`the decision expired (notAfter ${String(statement.notAfter)})`, 'DecisionExpired');
    const party = await deps.keys.currentKey(statement.principal);
    if (!party || (roles && !roles.includes(party.role)))
      throw refuse(
        `${statement.principal} is not a registered ${roles?.join(' or ') ?? ''} principal`.replace(
          '  ',
          ' ',
        ),
        'NotAPrincipal',
      );
    if (!decisionSignatureValid(party.publicKey, signed))
      throw refuse(
        `the signature is not ${statement.principal}'s over this decision on ${statement.workflowId}`,
        'DecisionSignatureInvalid',
      );
    if (named) await requireRole(named.party, named.roles);
    return { principal: party.partyId, key: party.publicKey };
  }
  /** The party a decision names is registered in one of `roles`; refused otherwise. */
  async function requireRole(partyId: string, roles: PartyRole[]): Promise<void> {
    const named = await deps.keys.currentKey(partyId);
    if (!named || !roles.includes(named.role))
      throw refuse(
        `${partyId} is not a registered ${roles.join(' or ')} party: the decision cannot name it`,
        'NotAPrincipal',
      );
  }
  /** The hash decisions name their subject's terms by: workflows cannot hash, so they ask. */
  async function termsHash(terms: SignedTerms): Promise<string> {
    return termsHashOf(terms);
  }
  /**
   * The hash of a deal's terms, only when they are what its buyer signed for that deal (see
   * `checkSubjectTerms`). Read here from the deal's own workflow (one-time or multi-seller), so the
   * disclosure's history holds neither the terms (which name the parties and price) nor a hash anyone
   * handed it.
   */
  async function signedSubjectHash({ dealId }: { dealId: string }): Promise<string> {
    const terms = await Context.current()
      .client.workflow.getHandle(dealId)
      .query(dealTermsQuery)
      .catch(() => undefined);
    const checked = await checkSubjectTerms(dealId, terms, deps.keys);
    if (!checked.ok) throw refuse(checked.reason, 'SubjectTermsRefused');
    return checked.termsHash;
  }
  return { verifyDecision, termsHash, signedSubjectHash };
}
