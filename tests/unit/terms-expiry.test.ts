import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { freshAnswerDeadlineOf, refuseExpiredTerms } from '../../activities/perimeter/deal-terms';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms, type SignedTerms } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const NOT_AFTER = Date.parse('2026-12-07T12:00:00.000Z');
const HASH = `sha256:${'a'.repeat(64)}`;
const dealBody = {
  dealId: 'deal-1',
  templateId: 'cohort',
  templateHash: HASH,
  parameters: { min_age: 30 },
  notAfter: new Date(NOT_AFTER).toISOString(),
};
const sign = (kind: SignedTerms['kind'], body: Record<string, unknown>) =>
  signTerms(kind, 'acme', body, buyer.privateKeyPem);

function refusalType(run: () => unknown): string | null | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ApplicationFailure) return error.type;
    throw error;
  }
  return undefined;
}

describe('the perimeter honours the signed notAfter', () => {
  const terms = sign('cohort_query', dealBody);

  it('allows a fresh answer up to and at the signed instant', () => {
    expect(refusalType(() => refuseExpiredTerms(terms, NOT_AFTER - 60_000))).toBeUndefined();
    expect(refusalType(() => refuseExpiredTerms(terms, NOT_AFTER))).toBeUndefined();
  });

  it('refuses a fresh answer one millisecond after it, as TermsExpired', () => {
    expect(refusalType(() => refuseExpiredTerms(terms, NOT_AFTER + 1))).toBe('TermsExpired');
  });

  it('reads the deadline of multi-seller terms too', () => {
    const multi = sign('multi_seller', { ...dealBody, sellers: [{ sellerId: 's1', templateHash: HASH }] });
    expect(freshAnswerDeadlineOf(multi)).toBe(NOT_AFTER);
    expect(refusalType(() => refuseExpiredTerms(multi, NOT_AFTER + 1))).toBe('TermsExpired');
  });

  it('sets no deadline for terms that sign none, or for a subscription whose periods outlive its window', () => {
    const { notAfter: _unsigned, ...older } = dealBody;
    expect(freshAnswerDeadlineOf(sign('cohort_query', older))).toBeUndefined();
    expect(
      freshAnswerDeadlineOf(sign('subscription', { subscriptionId: 'sub-1', notAfter: dealBody.notAfter })),
    ).toBeUndefined();
  });

  it('treats an unreadable deadline as passed', () => {
    const garbled = { ...terms, body: { ...terms.body, notAfter: 'not a date' } } as SignedTerms;
    expect(refusalType(() => refuseExpiredTerms(garbled, NOT_AFTER))).toBe('TermsExpired');
  });
});
