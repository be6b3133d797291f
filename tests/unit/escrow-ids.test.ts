import { describe, expect, it } from 'vitest';
import {
  dealEscrowId,
  escrowId,
  grantEscrowId,
  parseEscrowId,
  periodEscrowId,
  shareEscrowId,
  termsNonceOf,
  type EscrowRef,
} from '../../lib/ids/escrow-ids';

describe('escrow ids', () => {
  it('name their kind, so a deal named like a share is not that share', () => {
    expect(shareEscrowId('m1', 'seller-a')).toBe('share:m1:seller-a');
    expect(dealEscrowId('m1.seller-a')).toBe('deal:m1.seller-a');
    expect(dealEscrowId('m1.seller-a')).not.toBe(shareEscrowId('m1', 'seller-a'));
    expect(grantEscrowId('g1')).not.toBe(dealEscrowId('g1'));
    expect(periodEscrowId('s1', 3)).toBe('period:s1:3');
    expect(escrowId({ kind: 'dispute', dealId: 'd1' })).not.toBe(dealEscrowId('d1'));
  });

  it('cannot collide across kinds or parts, whatever the ids contain', () => {
    const tricky = ['a', 'a:b', 'b', 'a%3Ab', 'share:a', 'a.b', ':', '%', 'deal:x'];
    const refs: EscrowRef[] = [];
    for (const x of tricky) {
      refs.push({ kind: 'deal', dealId: x }, { kind: 'grant', grantId: x }, { kind: 'dispute', dealId: x });
      for (const y of tricky) refs.push({ kind: 'share', dealId: x, sellerId: y });
      for (const period of [1, 2, 12]) refs.push({ kind: 'period', subscriptionId: x, period });
    }
    const ids = refs.map(escrowId);
    expect(new Set(ids).size).toBe(refs.length);
    // And each reads back as the escrow it names.
    for (const [i, id] of ids.entries()) expect(parseEscrowId(id)).toEqual(refs[i]);
  });

  it('refuses ids that are not namespaced, or not spelled canonically', () => {
    for (const id of [
      'd1',
      'm1.seller-a',
      'deal:',
      'deal:a:b',
      'share:a',
      'period:s:0',
      'period:s:01',
      'loan:x',
      'deal:a%3ab',
      'deal:%zz',
    ])
      expect(parseEscrowId(id), id).toBeUndefined();
  });

  it('refuses periods that are not whole numbers from 1, and empty parts', () => {
    expect(() => periodEscrowId('s', 0)).toThrow(RangeError);
    expect(() => periodEscrowId('s', 1.5)).toThrow(RangeError);
    expect(() => dealEscrowId('')).toThrow(RangeError);
  });
});

describe('escrow ids under signed terms', () => {
  const nonce = 'n0nce-of-the-terms-1';
  it('name the signed nonce, so the same business id signed again is another escrow', () => {
    expect(dealEscrowId('d1', nonce)).toBe(`deal:d1:${nonce}`);
    expect(dealEscrowId('d1', nonce)).not.toBe(dealEscrowId('d1', 'another-nonce-0001'));
    expect(dealEscrowId('d1', nonce)).not.toBe(dealEscrowId('d1'));
    expect(parseEscrowId(shareEscrowId('m1', 'seller-a', nonce))).toEqual({
      kind: 'share',
      dealId: 'm1',
      sellerId: 'seller-a',
      nonce,
    });
    expect(parseEscrowId(grantEscrowId('g1', nonce))).toEqual({ kind: 'grant', grantId: 'g1', nonce });
    expect(parseEscrowId(periodEscrowId('s1', 2, nonce))).toEqual({
      kind: 'period',
      subscriptionId: 's1',
      period: 2,
      nonce,
    });
  });

  it('read the nonce of terms, and nothing that is not one', () => {
    expect(termsNonceOf({ body: { nonce } })).toBe(nonce);
    expect(termsNonceOf({ body: { nonce: 'short' } })).toBeUndefined();
    expect(termsNonceOf({ body: {} })).toBeUndefined();
    expect(parseEscrowId('deal:d1:short')).toBeUndefined();
  });
});
