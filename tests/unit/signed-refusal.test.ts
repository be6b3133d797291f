import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { termsHashOf as stateKeyOf } from '../../activities/perimeter/deal-terms';
import { PrivacyLedger } from '../../activities/perimeter/privacy-ledger';
import { confirmExpiry, withdrawDeal, withSignedRefusal } from '../../activities/perimeter/signed-refusal';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { refusalStatementProblems } from '../../lib/refusal-statement';
import { signTerms, termsHashOf, type SignedTerms } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const perimeter = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const terms = signTerms(
  'cohort_query',
  'acme',
  {
    dealId: 'd1',
    templateId: 't',
    sellerId: 'seller-a',
    templateHash: HASH,
    parameters: {},
    price: '1000',
    feeBps: 250,
    notAfter: '2026-12-08T10:00:00Z',
    nonce: 'n1',
    acceptanceWindowSeconds: 3600,
    resultKeyRef: HASH,
    compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
  },
  buyer.privateKeyPem,
);
const call = { dealId: 'd1', terms };
// The perimeter keys a deal's outcome as its releases do (`stateKeyOf`); a statement names the terms by
// their hash with the signature (lib/signed-terms.ts), as settlement and audit compute it.
const expectation = {
  perimeterKey: perimeter.publicKey,
  sellerId: 'seller-a',
  dealId: 'd1',
  termsHash: termsHashOf(terms),
};

/** What the activity's caller receives: the failure, and the refusal statement it carries, if any. */
async function failureOf(work: () => Promise<unknown>) {
  try {
    await work();
  } catch (error) {
    const failure = error as ApplicationFailure;
    return { type: failure.type, statement: failure.details?.[0], retryable: !failure.nonRetryable };
  }
  throw new Error('the activity did not fail');
}

describe("the perimeter signs a deal's refusal only when it will never answer those terms", () => {
  let ledger: PrivacyLedger;
  beforeEach(async () => {
    ledger = PrivacyLedger.open(join(await mkdtemp(join(tmpdir(), 'tusk-refusal-')), 'ledger.sqlite'));
  });
  afterEach(() => ledger.close());
  const signer = () => ({ sellerId: 'seller-a', ledger, releaseKey: perimeter });
  const refusing = (type: string) =>
    withSignedRefusal(signer(), async (_: typeof call) => {
      throw ApplicationFailure.nonRetryable('no', type);
    });

  it('signs a typed refusal for the deal and its terms, and records it as the outcome for good', async () => {
    const failed = await failureOf(() => refusing('BudgetExhausted')(call));
    expect(failed.type).toBe('BudgetExhausted');
    expect(refusalStatementProblems(failed.statement, expectation)).toEqual([]);
    expect(ledger.outcomeOf('d1', stateKeyOf(terms))).toBe('refused');
    // An answer for the same terms afterwards is not released.
    expect(ledger.claimOutcome('d1', stateKeyOf(terms), 'released', 2)).toBe('refused');
  });

  it('signs no refusal once an answer for these terms was released', async () => {
    expect(ledger.claimOutcome('d1', stateKeyOf(terms), 'released', 1)).toBe('released');
    const failed = await failureOf(() => refusing('InvalidBuyerKey')(call));
    expect(failed.type).toBe('InvalidBuyerKey');
    expect(failed.statement).toBeUndefined();
  });

  it('signs nothing for a failure that may still be retried into an answer', async () => {
    const transient = withSignedRefusal(signer(), async (_: typeof call) => {
      throw new Error('the blob store is down');
    });
    await expect(transient(call)).rejects.toThrow('the blob store is down');
    expect(ledger.outcomeOf('d1', stateKeyOf(terms))).toBeUndefined();
  });

  it('signs nothing for a call that carries no signed terms', async () => {
    const unsigned = withSignedRefusal(signer(), async (_: { dealId: string; terms: unknown }) => {
      throw ApplicationFailure.nonRetryable('no terms', 'TermsSignatureInvalid');
    });
    const failed = await failureOf(() => unsigned({ dealId: 'd1', terms: { body: {} } }));
    expect(failed.statement).toBeUndefined();
  });

  it('withdraws a deal it has not answered, for good, and signs that; withdraws none it answered', async () => {
    const { refusal } = await withdrawDeal(signer())(call);
    expect(refusalStatementProblems(refusal, expectation)).toEqual([]);
    expect(refusal!.body.code).toBe('Withdrawn');
    expect(ledger.claimOutcome('d1', stateKeyOf(terms), 'released', 2)).toBe('refused');

    // Other terms for the same deal id (another nonce): answered, so no withdrawal is signed for them.
    const other = {
      dealId: 'd1',
      terms: signTerms('cohort_query', 'acme', { ...terms.body, nonce: 'n2' }, buyer.privateKeyPem),
    };
    expect(ledger.claimOutcome('d1', stateKeyOf(other.terms), 'released', 3)).toBe('released');
    expect(await withdrawDeal(signer())(other)).toEqual({});
  });

  /** The same deal, signed to expire at `notAfter`. */
  const expiringAt = (notAfter: string): { dealId: string; terms: SignedTerms } => ({
    dealId: 'd1',
    terms: signTerms('cohort_query', 'acme', { ...terms.body, notAfter }, buyer.privateKeyPem),
  });

  it("confirms an expired deal it never answered, for good, as an 'Expired' refusal of those terms", async () => {
    const expired = expiringAt(new Date(Date.now() - 1_000).toISOString());
    const answer = await confirmExpiry(signer())(expired);
    expect('refusal' in answer).toBe(true);
    const { refusal } = answer as { refusal: unknown };
    expect(
      refusalStatementProblems(refusal, { ...expectation, termsHash: termsHashOf(expired.terms) }),
    ).toEqual([]);
    expect((refusal as { body: { code: string } }).body.code).toBe('Expired');
    // An answer for those terms afterwards is never released; asked again, the same refusal is signed.
    expect(ledger.claimOutcome('d1', stateKeyOf(expired.terms), 'released', Date.now())).toBe('refused');
    expect(await confirmExpiry(signer())(expired)).toEqual(answer);
  });

  it('signs no expiry for a deal it answered, nor before notAfter on its own clock, nor for terms without one', async () => {
    const expired = expiringAt(new Date(Date.now() - 1_000).toISOString());
    expect(ledger.claimOutcome('d1', stateKeyOf(expired.terms), 'released', 1)).toBe('released');
    expect(await confirmExpiry(signer())(expired)).toEqual({ released: true });

    const running = expiringAt(new Date(Date.now() + 60_000).toISOString());
    const early = await failureOf(() => confirmExpiry(signer())(running));
    expect(early).toMatchObject({ type: 'NotExpiredYet', statement: undefined, retryable: true });
    expect(ledger.outcomeOf('d1', stateKeyOf(running.terms))).toBeUndefined();

    const { notAfter: _none, ...timeless } = terms.body;
    const forever = { dealId: 'd1', terms: signTerms('cohort_query', 'acme', timeless, buyer.privateKeyPem) };
    const refused = await failureOf(() => confirmExpiry(signer())(forever));
    expect(refused).toMatchObject({ type: 'TermsSignatureInvalid', statement: undefined, retryable: false });
  });
});
