import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { refusalAsApiError, refusalCodes } from '../../api/refusal-codes';
import { errorCatalogue } from '../../api/errors';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms } from '../../lib/signed-terms';
import { assertMayVote } from '../../workflows/approvals';
import { DisclosureState } from '../../workflows/disclosure/state';
import { DisputeState } from '../../workflows/dispute/state';
import { GrantState } from '../../workflows/grant/state';
import type { SignedDecision } from '../../lib/decision-statement';
import { REFUSAL_TYPES, refusal, type RefusalType } from '../../workflows/refusals';
import { assertDecides } from '../../workflows/verified-decision';

/** The state keeps the sponsor's signed approval for settlement; its signature is checked before it. */
const approval = { statement: {}, signature: 'signed' } as unknown as SignedDecision<{ milestoneId: string }>;

/** What a user of the API sees for a refusal of this type: its HTTP status and code. */
const answerTo = (type: RefusalType) => {
  const error = refusalAsApiError(refusal(type, 'why'), 'fallback');
  return [error.status, error.code, error.reason];
};

/** The refusal a call throws: its type and message, as the update's caller receives them. */
function refusalOf(call: () => unknown): { type: string | undefined | null; message: string } {
  try {
    call();
  } catch (error) {
    if (error instanceof ApplicationFailure) return { type: error.type, message: error.message };
    throw error;
  }
  throw new Error('the call was not refused');
}

describe('typed refusals and their HTTP answers', () => {
  it('answers each refusal type with its own status and code, keeping the workflow reason', () => {
    expect(answerTo('Forbidden')).toEqual([403, 'forbidden', 'why']);
    expect(answerTo('NotFound')).toEqual([404, 'not_found', 'why']);
    expect(answerTo('InvalidState')).toEqual([409, 'invalid_state', 'why']);
    expect(answerTo('InvalidInput')).toEqual([422, 'invalid_terms', 'why']);
    expect(answerTo('AlreadyDecided')).toEqual([409, 'already_decided', 'why']);
    expect(answerTo('AccessExpired')).toEqual([403, 'access_expired', 'why']);
    expect(answerTo('DecisionInvalid')).toEqual([422, 'decision_signature_invalid', 'why']);
    expect(answerTo('DecisionExpired')).toEqual([422, 'decision_expired', 'why']);
    expect(answerTo('Unavailable')).toEqual([503, 'coordinator_unavailable', 'why']);
    // Every type has an answer, and every answer is in the catalogue.
    for (const type of REFUSAL_TYPES) expect(errorCatalogue[refusalCodes[type]]).toBeGreaterThanOrEqual(400);
  });

  it('answers a refusal without a known type as before: 409 with its reason', () => {
    const untyped = refusalAsApiError(new Error('deal d is running'), 'fallback');
    expect([untyped.status, untyped.code, untyped.reason]).toEqual([
      409,
      'invalid_state',
      'deal d is running',
    ]);
    const otherType = refusalAsApiError(ApplicationFailure.nonRetryable('r', 'SomethingElse'), 'fallback');
    expect([otherType.status, otherType.code]).toEqual([409, 'invalid_state']);
    expect(refusalAsApiError(undefined, 'fallback').reason).toBe('fallback');
  });

  it('refusals are non-retryable: a refused update is never tried again', () => {
    expect(refusal('Forbidden', 'x').nonRetryable).toBe(true);
  });
});

describe('state classes refuse with a type', () => {
  const sponsorKey = generateEd25519KeyPair().privateKeyPem;
  const grant = () => {
    const state = new GrantState({
      grantId: 'g',
      sponsorId: 'sp',
      granteeId: 'lab',
      feeBps: 0,
      milestones: [
        {
          milestoneId: 'report',
          name: 'report',
          amount: '400',
          deadline: 200,
          check: { kind: 'sponsor_approval' },
        },
      ],
      terms: signTerms('grant', 'sp', { grantId: 'g' }, sponsorKey),
    });
    state.funded();
    return state;
  };

  it('a grant: who, which milestone, which stage, what input', () => {
    expect(refusalOf(() => grant().submitEvidence('sp', 'report', 'sha256:e', 1))).toEqual({
      type: 'Forbidden',
      message: 'only the grantee submits evidence',
    });
    expect(refusalOf(() => grant().submitEvidence('lab', 'other', 'sha256:e', 1)).type).toBe('NotFound');
    expect(refusalOf(() => grant().approve('sp', 'report', 1, approval))).toMatchObject({
      type: 'InvalidState',
      message: expect.stringContaining('has no evidence yet'),
    });
    expect(refusalOf(() => grant().extend('sp', 'report', 150, 1)).type).toBe('InvalidInput');
    expect(refusalOf(() => grant().submitEvidence('lab', 'report', 'sha256:e', 300)).type).toBe(
      'InvalidState',
    );
  });

  it('a dispute: parties, reviewer access, a resolved dispute', () => {
    const dispute = new DisputeState(
      {
        dealId: 'd',
        terms: { kind: 'cohort_query', signer: 'b', publicKey: 'k', body: {}, signature: 's' },
        buyerId: 'b',
        sellerId: 's',
        price: '1000',
        openedBy: 'b',
        reason: 'the table is empty',
        reviewerAccessMs: 100,
        resolutionTimeoutMs: 1000,
        defaultOutcome: { kind: 'refund' },
      },
      0,
    );
    expect(refusalOf(() => dispute.addEvidence('c1', 'sha256:e', 1)).type).toBe('Forbidden');
    dispute.nameReviewer('c1', 'c2', 100, 1);
    expect(refusalOf(() => dispute.recordEvidenceRead('c1', [], 'n', 200)).type).toBe('AccessExpired');
    expect(refusalOf(() => dispute.recordEvidenceRead('c2', [], 'n', 2)).type).toBe('Forbidden');
    expect(refusalOf(() => dispute.concede('b', 2)).type).toBe('Forbidden');
    dispute.tick(1000, { kind: 'release' });
    expect(refusalOf(() => dispute.addEvidence('b', 'sha256:e', 1001)).type).toBe('InvalidState');
    expect(refusalOf(() => dispute.concede('s', 1002)).type).toBe('InvalidState');
  });

  it('votes: the same decision twice is already decided; another name under the same key is forbidden', () => {
    const votes = [{ principal: 'c1', key: 'k1', decision: 'approve', at: 0 }];
    expect(
      refusalOf(() => assertMayVote(votes, { principal: 'c1', key: 'k1' }, 'approve', String)).type,
    ).toBe('AlreadyDecided');
    expect(
      refusalOf(() => assertMayVote(votes, { principal: 'c2', key: 'k1' }, 'approve', String)).type,
    ).toBe('Forbidden');
  });

  it('a disclosure: the auditor who asked cannot approve; an ended view is expired', () => {
    const scope = { workflowId: 'disclosure-x', runId: 'r1', subject: { id: 'd', termsHash: 'sha256:t' } };
    const disclosure = new DisclosureState(
      {
        disclosureId: 'x',
        dealId: 'd',
        termsHash: 'sha256:t',
        auditorId: 'aud',
        reason: 'sampling audit',
        fields: ['amount'],
        approvalTimeoutMs: 1000,
        viewMs: 100,
      },
      scope,
      0,
    );
    expect(refusalOf(() => disclosure.decide({ principal: 'aud', key: 'ka' }, 'approve', 100, 1)).type).toBe(
      'Forbidden',
    );
    disclosure.decide({ principal: 'c1', key: 'k1' }, 'approve', 100, 1);
    disclosure.decide({ principal: 'c2', key: 'k2' }, 'approve', 100, 2);
    expect(refusalOf(() => disclosure.recordView('aud', 'sha256:v', 'n', 500)).type).toBe('AccessExpired');
  });
});

describe('signed decisions refuse with a type', () => {
  const scope = { workflowId: 'grant-g', runId: 'r1', subject: { id: 'g', termsHash: 'sha256:t' } };
  const expected = { scope, action: 'milestone_approval' as const, principal: 'sp', content: { m: 1 } };
  const signedAs = (principal: string, notAfter = Date.now() + 60_000) => ({
    statement: { ...scope, action: 'milestone_approval' as const, principal, content: { m: 1 }, notAfter },
    signature: 'sig',
  });

  it('signed by another party than the one the action needs: forbidden', () => {
    expect(refusalOf(() => assertDecides(signedAs('lab'), expected))).toEqual({
      type: 'Forbidden',
      message: "the decision was signed as lab's; sp must sign it",
    });
  });

  it('unsigned, off-scope or expired: invalid or expired decisions', () => {
    expect(refusalOf(() => assertDecides(undefined, expected)).type).toBe('DecisionInvalid');
    expect(refusalOf(() => assertDecides(signedAs('sp'), { ...expected, content: { m: 2 } })).type).toBe(
      'DecisionInvalid',
    );
    expect(refusalOf(() => assertDecides(signedAs('sp', Date.now() - 1), expected)).type).toBe(
      'DecisionExpired',
    );
    expect(() => assertDecides(signedAs('sp'), expected)).not.toThrow();
  });
});
