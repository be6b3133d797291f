import { describe, expect, it } from 'vitest';
import {
  owedForDeal,
  owedForGrant,
  owedForMultiSellerDeal,
  owedForSubscription,
} from '../../cli/settlement/pay';

const ESCROW = { address: '0x0abc' };

describe('what a payer owes, read from a lifecycle status', () => {
  it('a deal is owed only while its escrow is open and the lock waits; later paying would pay twice', () => {
    expect(owedForDeal({ stage: 'quoted', price: '1000' }).state).toBe('waiting');
    expect(owedForDeal({ stage: 'budget_reserved', price: '1000' }).state).toBe('waiting');
    expect(owedForDeal({ stage: 'budget_reserved', price: '1000', escrow: ESCROW })).toEqual({
      state: 'owed',
      payments: [{ what: 'price', address: '0x0abc', amount: '1000' }],
    });
    for (const stage of ['escrow_locked', 'delivered', 'settled', 'refunded', 'failed'])
      expect(owedForDeal({ stage, price: '1000', escrow: ESCROW }).state).toBe('none');
  });

  it('a multi-seller deal is owed once every contributing share has its escrow', () => {
    const share = (sellerId: string) => ({ sellerId, address: `0x${sellerId}`, amount: '500' });
    const open = { stage: 'budget_reserved', contributors: ['a', 'b'] };
    expect(owedForMultiSellerDeal({ ...open, escrows: [share('a')] }).state).toBe('waiting');
    const owed = owedForMultiSellerDeal({ ...open, escrows: [share('a'), share('b')] });
    expect(owed.state === 'owed' && owed.payments.map((p) => p.address)).toEqual(['0xa', '0xb']);
    expect(owedForMultiSellerDeal({ ...open, stage: 'escrow_locked', escrows: [share('a')] }).state).toBe(
      'none',
    );
  });

  it("a subscription owes the current period's charge until that period is charged", () => {
    const payment = { period: 2, address: '0x0abc', amount: '100' };
    expect(owedForSubscription({ stage: 'active', periodsCharged: 1, payment }).state).toBe('owed');
    expect(owedForSubscription({ stage: 'active', periodsCharged: 2, payment }).state).toBe('waiting');
    expect(owedForSubscription({ stage: 'grace', periodsCharged: 1, payment }).state).toBe('owed');
    expect(owedForSubscription({ stage: 'cancelled', periodsCharged: 1, payment }).state).toBe('none');
  });

  it('a grant owes its total while it is being funded', () => {
    expect(owedForGrant({ stage: 'funding', total: '3000' }).state).toBe('waiting');
    expect(owedForGrant({ stage: 'funding', total: '3000', escrow: ESCROW })).toEqual({
      state: 'owed',
      payments: [{ what: 'grant total', address: '0x0abc', amount: '3000' }],
    });
    expect(owedForGrant({ stage: 'active', total: '3000', escrow: ESCROW }).state).toBe('none');
  });
});
