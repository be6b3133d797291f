import { describe, expect, it } from 'vitest';
import { SettlementRefusedError } from '../../activities/settlement/port';
import { assertSignedMove, type MoneyMove } from '../../activities/settlement/signed-payment';
import {
  dealEscrowId,
  disputeEscrowId,
  grantEscrowId,
  periodEscrowId,
  shareEscrowId,
} from '../../lib/ids/escrow-ids';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms, withSignedMoney, type TermsBody, type TermsKind } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const operator = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const NONCE = 'nonce-of-these-terms';
const NOW = Date.parse('2026-12-07T10:00:00Z');
const COMPLIANCE = { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] };

const sign = (kind: TermsKind, body: TermsBody, key = buyer.privateKeyPem) =>
  signTerms(kind, 'acme', { nonce: NONCE, ...body }, key);

const deal = {
  dealId: 'd1',
  templateId: 't',
  sellerId: 'seller-a',
  templateHash: HASH,
  parameters: {},
  price: '1000',
  feeBps: 250,
  notAfter: '2026-12-08T10:00:00Z',
  acceptanceWindowSeconds: 3600,
  resultKeyRef: HASH,
  compliance: COMPLIANCE,
};
const dealTerms = sign('cohort_query', deal);
const escrow = dealEscrowId('d1', NONCE);

function refusal(move: MoneyMove, terms = dealTerms, now = NOW): string {
  try {
    assertSignedMove(move, terms, now);
  } catch (error) {
    if (error instanceof SettlementRefusedError) return `${error.refusal}: ${error.message}`;
    throw error;
  }
  return 'allowed';
}

describe('settlement moves only what the payer signed: a one-time deal', () => {
  const lock = { action: 'lock', escrowId: escrow, payerId: 'acme', amount: '1000' } as const;
  const release = {
    action: 'release',
    escrowId: escrow,
    payeeId: 'seller-a',
    payerId: 'acme',
    amount: '1000',
    feeBps: 250,
  } as const;

  it('allows the signed lock, release and refund', () => {
    expect(refusal(lock)).toBe('allowed');
    expect(refusal(release)).toBe('allowed');
    expect(refusal({ action: 'refund', escrowId: escrow, payerId: 'acme', amount: '1000' })).toBe('allowed');
  });

  it('refuses a deal whose terms state no acceptance window: the operator would choose it', () => {
    const { acceptanceWindowSeconds: _w, ...windowless } = deal;
    expect(refusal(lock, sign('cohort_query', windowless))).toMatch(
      /^TermsMismatch: the terms sign no acceptanceWindowSeconds/,
    );
    // An escrow locked before windows were signed is still paid out or refunded.
    expect(refusal(release, sign('cohort_query', windowless))).toBe('allowed');
  });

  it('refuses another price, another fee, another payee, another payer', () => {
    expect(refusal({ ...lock, amount: '5000' })).toMatch(
      /^TermsMismatch: a lock of 5000 asked; the payer signed 1000/,
    );
    expect(refusal({ ...release, feeBps: 10_000 })).toMatch(
      /^TermsMismatch: a fee of 10000 bps asked; the payer signed 250/,
    );
    expect(refusal({ ...release, payeeId: 'operator' })).toMatch(
      /payout to operator asked; the payer signed seller-a/,
    );
    expect(refusal({ ...lock, payerId: 'victim' })).toMatch(/the terms are acme's: victim neither pays/);
    expect(refusal({ action: 'refund', escrowId: escrow, payerId: 'acme', amount: '1' })).toMatch(
      /TermsMismatch/,
    );
  });

  it('refuses an escrow of another deal, or one without the signed nonce', () => {
    expect(refusal({ ...lock, escrowId: dealEscrowId('d2', NONCE) })).toMatch(/escrow is for deal d2/);
    expect(refusal({ ...lock, escrowId: dealEscrowId('d1') })).toMatch(/names no nonce/);
    expect(refusal({ ...lock, escrowId: dealEscrowId('d1', 'another-nonce-00001') })).toMatch(
      /another nonce/,
    );
  });

  it('refuses a lock after the terms expire, but still pays out a deal locked before', () => {
    const later = Date.parse(deal.notAfter) + 1;
    expect(refusal(lock, dealTerms, later)).toMatch(/^TermsMismatch: the terms expired/);
    expect(refusal(release, dealTerms, later)).toBe('allowed');
  });

  it('refuses terms the named key did not sign, terms of another kind, and none at all', () => {
    const forged = { ...dealTerms, body: { ...dealTerms.body, price: '5000' } };
    expect(refusal({ ...lock, amount: '5000' }, forged)).toMatch(/^TermsSignatureInvalid/);
    const byOperator = { ...sign('cohort_query', deal, operator.privateKeyPem), publicKey: buyer.publicKey };
    expect(refusal(lock, byOperator)).toMatch(/^TermsSignatureInvalid/);
    expect(() => assertSignedMove(lock, undefined, NOW)).toThrow(/no signed terms of the payer came with it/);
    const grant = sign('grant', { grantId: 'd1', milestones: [] });
    expect(refusal(lock, grant)).toMatch(/the signed terms are grant terms/);
  });

  it('refuses terms that state no fee, payee or expiry', () => {
    const { feeBps: _fee, ...noFee } = deal;
    expect(refusal(lock, sign('cohort_query', noFee))).toMatch(/do not state the money: feeBps/);
    const { sellerId: _seller, ...noPayee } = deal;
    expect(refusal(lock, sign('cohort_query', noPayee))).toMatch(/do not state the money: sellerId/);
  });

  it("a dispute's split conserves the signed price, pays the signed seller at the signed fee", () => {
    const split = {
      action: 'split',
      escrowId: escrow,
      splitId: disputeEscrowId('d1', NONCE),
      payerId: 'acme',
      payeeId: 'seller-a',
      amount: '1000',
      sellerAmount: '400',
      feeBps: 250,
    } as const;
    expect(refusal(split)).toBe('allowed');
    expect(refusal({ ...split, sellerAmount: '1001' })).toMatch(/exceeds the signed price 1000/);
    expect(refusal({ ...split, amount: '2000', sellerAmount: '1500' })).toMatch(/a split of 2000 asked/);
    expect(refusal({ ...split, payeeId: 'operator' })).toMatch(/a split paying operator/);
    expect(refusal({ ...split, feeBps: 9000 })).toMatch(/a fee of 9000 bps/);
    expect(refusal({ ...split, splitId: disputeEscrowId('d9', NONCE) })).toMatch(/escrow is for deal d9/);
  });
});

describe('multi-seller shares, subscription periods and grant tranches', () => {
  it('pays each seller exactly its signed share', () => {
    const terms = sign('multi_seller', {
      dealId: 'm1',
      templateId: 't',
      sellers: [
        { sellerId: 'a', templateHash: HASH, price: '1000' },
        { sellerId: 'b', templateHash: HASH, price: '2000' },
      ],
      parameters: {},
      price: '3000',
      feeBps: 250,
      notAfter: '2026-12-08T10:00:00Z',
      acceptanceWindowSeconds: 3600,
      heKeyRef: HASH,
      compliance: COMPLIANCE,
    });
    const lock = (sellerId: string, amount: string) =>
      refusal(
        { action: 'lock', escrowId: shareEscrowId('m1', sellerId, NONCE), payerId: 'acme', amount },
        terms,
      );
    expect(lock('a', '1000')).toBe('allowed');
    expect(lock('b', '2000')).toBe('allowed');
    expect(lock('b', '1000')).toMatch(/a lock of 1000 asked; the payer signed 2000/);
    expect(lock('c', '1000')).toMatch(/no share for seller c/);
  });

  it('charges a period only at the signed price and within the signed number of periods', () => {
    const terms = sign('subscription', {
      subscriptionId: 's1',
      queries: [{ templateId: 't', sellerId: 'seller-a', templateHash: HASH, parameters: {} }],
      pricePerPeriod: '300',
      periodSeconds: 60,
      periods: 2,
      feeBps: 250,
      notAfter: '2026-12-08T10:00:00Z',
      resultKeyRef: HASH,
      compliance: COMPLIANCE,
    });
    const lock = (period: number, amount = '300') =>
      refusal(
        { action: 'lock', escrowId: periodEscrowId('s1', period, NONCE), payerId: 'acme', amount },
        terms,
      );
    expect(lock(1)).toBe('allowed');
    expect(lock(2)).toBe('allowed');
    expect(lock(3)).toMatch(/period 3 is past the 2 periods the subscriber signed/);
    expect(lock(1, '301')).toMatch(/a lock of 301 asked/);
    // The window bounds the start only: a later period is charged after it.
    expect(
      refusal(
        { action: 'lock', escrowId: periodEscrowId('s1', 2, NONCE), payerId: 'acme', amount: '300' },
        terms,
        Date.parse('2027-01-01T00:00:00Z'),
      ),
    ).toBe('allowed');
  });

  it("locks the grant's signed total and pays each tranche only to the signed grantee", () => {
    const body = withSignedMoney('grant', {
      grantId: 'g1',
      granteeId: 'lab',
      nonce: NONCE,
      milestones: [
        {
          milestoneId: 'm1',
          amount: '600',
          deadline: '2027-01-01T00:00:00Z',
          check: { kind: 'sponsor_approval' },
        },
        {
          milestoneId: 'm2',
          amount: '400',
          deadline: '2027-01-01T00:00:00Z',
          check: { kind: 'sponsor_approval' },
        },
      ],
    });
    expect(body.total).toBe('1000');
    const terms = sign('grant', body);
    const escrowId = grantEscrowId('g1', NONCE);
    expect(refusal({ action: 'lock', escrowId, payerId: 'acme', amount: '1000' }, terms)).toBe('allowed');
    const part = {
      action: 'release_part',
      escrowId,
      partId: 'm1',
      payeeId: 'lab',
      amount: '600',
      feeBps: 250,
    } as const;
    expect(refusal(part, terms)).toBe('allowed');
    expect(refusal({ ...part, payeeId: 'operator-friend' }, terms)).toMatch(
      /payout to operator-friend asked; the payer signed lab/,
    );
    expect(refusal({ ...part, amount: '1000' }, terms)).toMatch(
      /a payout of 1000 asked; the payer signed 600/,
    );
    expect(refusal({ ...part, partId: 'm9' }, terms)).toMatch(/signed no payout m9/);
    expect(refusal({ action: 'refund_remainder', escrowId, payerId: 'lab' }, terms)).toMatch(
      /neither pays nor is refunded/,
    );
    const tampered = sign('grant', { ...body, total: '2000' });
    expect(refusal({ action: 'lock', escrowId, payerId: 'acme', amount: '2000' }, tampered)).toMatch(
      /milestones add up to 1000, the signed total is 2000/,
    );
  });
});
