import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { authorizeMilestoneCheck, authorizeQuery } from '../../activities/perimeter/deal-terms';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import {
  budgetKeyOf,
  signTerms,
  termsMessage,
  termsSignatureValid,
  x25519KeyRef,
  type SignedTerms,
} from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const operator = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const RESULT_KEY = 'B'.repeat(43);
const COMPLIANCE = { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: ['health'] };
const deal = {
  dealId: 'deal-1',
  templateId: 'cohort',
  templateHash: HASH,
  parameters: { min_age: 30, sex: 'F' },
  price: '1000',
  buyerPublicKey: RESULT_KEY,
  compliance: COMPLIANCE,
};
const signedDeal = () => signTerms('cohort_query', 'acme', deal, buyer.privateKeyPem);
const reserve = (terms: unknown) => ({
  dealId: 'deal-1',
  templateId: 'cohort',
  templateHash: HASH,
  parameters: { sex: 'F', min_age: 30 },
  compliance: COMPLIANCE,
  terms: terms as SignedTerms,
});

function refusal(run: () => unknown): { type?: string | null; message?: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof ApplicationFailure) return { type: error.type, message: error.message };
    throw error;
  }
  throw new Error('not refused');
}

describe('signed terms: canonical bytes', () => {
  it('sign the same bytes whatever the key order, and carry a domain tag', () => {
    const reordered = {
      ...Object.fromEntries(Object.entries(deal).reverse()),
      parameters: { sex: 'F', min_age: 30 },
    };
    const unsigned = { kind: 'cohort_query' as const, signer: 'acme', publicKey: buyer.publicKey };
    expect(termsMessage({ ...unsigned, body: reordered })).toBe(termsMessage({ ...unsigned, body: deal }));
    expect(termsMessage({ ...unsigned, body: { b: 1, a: [2, 'x'] } })).toBe(
      `tusk terms v1\n{"body":{"a":[2,"x"],"b":1},"kind":"cohort_query","publicKey":"${buyer.publicKey}","signer":"acme"}`,
    );
  });

  it('name the result key by its blob reference, so a history carries no key', () => {
    const { buyerPublicKey: _, ...rest } = deal;
    expect(signedDeal().body).toEqual({ ...rest, resultKeyRef: x25519KeyRef(RESULT_KEY) });
  });

  it('verify only unchanged: any field, the kind, the signer or the key changed fails', () => {
    const terms = signedDeal();
    expect(terms.publicKey).toBe(buyer.publicKey);
    expect(termsSignatureValid(terms)).toBe(true);
    expect(termsSignatureValid({ ...terms, body: { ...deal, price: '1' } })).toBe(false);
    expect(termsSignatureValid({ ...terms, body: { ...deal, parameters: { min_age: 18, sex: 'F' } } })).toBe(
      false,
    );
    expect(termsSignatureValid({ ...terms, kind: 'subscription' })).toBe(false);
    expect(termsSignatureValid({ ...terms, signer: 'other' })).toBe(false);
    expect(termsSignatureValid({ ...terms, publicKey: operator.publicKey })).toBe(false);
    expect(termsSignatureValid({ ...terms, signature: 'garbage' })).toBe(false);
  });
});

describe('the perimeter authorises a query only as signed', () => {
  it('charges the verified key, not whatever buyer id arrived', () => {
    expect(authorizeQuery(reserve(signedDeal()), 'seller')).toBe(budgetKeyOf(buyer.publicKey));
  });

  it('refuses missing, forged and re-signed terms with TermsSignatureInvalid', () => {
    expect(refusal(() => authorizeQuery(reserve(undefined), 'seller')).type).toBe('TermsSignatureInvalid');
    const forged = { ...signedDeal(), body: { ...deal, parameters: { min_age: 18, sex: 'F' } } };
    expect(refusal(() => authorizeQuery(reserve(forged), 'seller')).type).toBe('TermsSignatureInvalid');
    // The operator's own key signing "for" acme is a valid signature, but by another identity.
    const byOperator = signTerms('cohort_query', 'acme', deal, operator.privateKeyPem);
    expect(authorizeQuery(reserve(byOperator), 'seller')).toBe(budgetKeyOf(operator.publicKey));
    const grant = signTerms('grant', 'acme', { grantId: 'g', milestones: [] }, buyer.privateKeyPem);
    expect(refusal(() => authorizeQuery(reserve(grant), 'seller')).type).toBe('TermsSignatureInvalid');
  });

  it('refuses an activity whose fields differ from the signed ones with TermsMismatch', () => {
    const terms = signedDeal();
    const altered = { ...reserve(terms), parameters: { min_age: 18, sex: 'F' } };
    expect(refusal(() => authorizeQuery(altered, 'seller'))).toEqual({
      type: 'TermsMismatch',
      message: "the deal's parameters differ from the terms its buyer signed",
    });
    expect(refusal(() => authorizeQuery({ ...reserve(terms), dealId: 'deal-2' }, 'seller')).type).toBe(
      'TermsMismatch',
    );
    const run = { ...reserve(terms), compliance: undefined, buyerKeyRef: x25519KeyRef(RESULT_KEY) };
    expect(authorizeQuery(run, 'seller')).toBe(budgetKeyOf(buyer.publicKey));
    expect(
      refusal(() => authorizeQuery({ ...run, buyerKeyRef: x25519KeyRef('C'.repeat(43)) }, 'seller')),
    ).toEqual({
      type: 'TermsMismatch',
      message: "the deal's result key differ from the terms its buyer signed",
    });
    const selection = { heKeyRef: HASH, selectionRefs: [HASH] };
    expect(refusal(() => authorizeQuery({ ...run, privateSelection: selection }, 'seller')).type).toBe(
      'TermsMismatch',
    );
  });

  it('multi-seller: only a seller named in the terms, with its own hash', () => {
    const body = {
      dealId: 'm-1',
      templateId: 'cohort',
      sellers: [
        { sellerId: 'north', templateHash: HASH },
        { sellerId: 'south', templateHash: `sha256:${'b'.repeat(64)}` },
      ],
      parameters: { min_age: 30 },
      price: '2000',
      heKeyRef: HASH,
      compliance: COMPLIANCE,
    };
    const terms = signTerms('multi_seller', 'acme', body, buyer.privateKeyPem);
    const call = {
      dealId: 'm-1',
      templateId: 'cohort',
      templateHash: HASH,
      parameters: { min_age: 30 },
      terms,
    };
    expect(authorizeQuery({ ...call, heKeyRef: HASH }, 'north')).toBe(budgetKeyOf(buyer.publicKey));
    expect(refusal(() => authorizeQuery(call, 'south')).type).toBe('TermsMismatch');
    expect(refusal(() => authorizeQuery(call, 'east')).type).toBe('TermsMismatch');
  });

  it('subscriptions: scheduled runs of the signed queries only', () => {
    const body = {
      subscriptionId: 'sub-1',
      queries: [{ templateId: 'cohort', templateHash: HASH, parameters: { min_age: 30 } }],
      pricePerPeriod: '1000',
      periodSeconds: 60,
      buyerPublicKey: RESULT_KEY,
      compliance: COMPLIANCE,
    };
    const terms = signTerms('subscription', 'acme', body, buyer.privateKeyPem);
    const call = { templateId: 'cohort', templateHash: HASH, parameters: { min_age: 30 }, terms };
    expect(authorizeQuery({ ...call, dealId: 'sub-1/period-3/query-0' }, 's')).toBe(
      budgetKeyOf(buyer.publicKey),
    );
    expect(refusal(() => authorizeQuery({ ...call, dealId: 'sub-1/period-3/query-1' }, 's')).type).toBe(
      'TermsMismatch',
    );
    expect(refusal(() => authorizeQuery({ ...call, dealId: 'sub-2/period-1/query-0' }, 's')).type).toBe(
      'TermsMismatch',
    );
    // Only the id the workflow builds: no other spelling of a period or query maps onto the same run.
    for (const dealId of ['sub-1/period-03/query-0', 'sub-1/period-0/query-0', 'sub-1/x/period-3/query-0'])
      expect(refusal(() => authorizeQuery({ ...call, dealId }, 's')).type).toBe('TermsMismatch');
    // Terms that state a number of periods bound the periods answered.
    const bounded = signTerms('subscription', 'acme', { ...body, periods: 2 }, buyer.privateKeyPem);
    const run = (dealId: string) => ({ ...call, terms: bounded, dealId });
    expect(authorizeQuery(run('sub-1/period-2/query-0'), 's')).toBe(budgetKeyOf(buyer.publicKey));
    expect(refusal(() => authorizeQuery(run('sub-1/period-3/query-0'), 's')).type).toBe('TermsMismatch');
  });

  it('milestone checks: the sponsor-signed threshold, not a lower one', () => {
    const check = {
      kind: 'query',
      templateId: 'cohort',
      templateHash: HASH,
      parameters: {},
      metric: 'n',
      threshold: 1000,
    };
    const body = { grantId: 'g', granteeId: 'lab', milestones: [{ milestoneId: 'm', amount: '5', check }] };
    const terms = signTerms('grant', 'sponsor', body, buyer.privateKeyPem);
    const call = {
      grantId: 'g',
      milestoneId: 'm',
      templateId: 'cohort',
      templateHash: HASH,
      parameters: {},
      metric: 'n',
      threshold: 1000,
      terms,
    };
    expect(() => authorizeMilestoneCheck(call)).not.toThrow();
    expect(refusal(() => authorizeMilestoneCheck({ ...call, threshold: 1 })).type).toBe('TermsMismatch');
    expect(refusal(() => authorizeMilestoneCheck({ ...call, terms: signedDeal() })).type).toBe(
      'TermsSignatureInvalid',
    );
  });
});
