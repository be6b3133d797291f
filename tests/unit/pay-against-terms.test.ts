import { describe, expect, it } from 'vitest';
import { checkOwedAgainstTerms } from '../../cli/settlement/kept-terms';
import type { Owed } from '../../cli/settlement/pay';

const owed = (...payments: Extract<Owed, { state: 'owed' }>['payments']): Owed => ({
  state: 'owed',
  payments,
});
const refusal = (run: () => void) => {
  try {
    run();
  } catch (error) {
    return { message: (error as Error).message, exitCode: (error as { exitCode?: number }).exitCode };
  }
  return 'paid';
};

describe("a payer's pay command pays only what its own signed terms say", () => {
  it('a deal: the signed price, nothing else', () => {
    const terms = { dealId: 'd1', price: '1000', feeBps: 250 };
    expect(
      refusal(() =>
        checkOwedAgainstTerms(owed({ what: 'price', address: 'a', amount: '1000' }), 'cohort_query', terms),
      ),
    ).toBe('paid');
    expect(
      refusal(() =>
        checkOwedAgainstTerms(owed({ what: 'price', address: 'a', amount: '5000' }), 'cohort_query', terms),
      ),
    ).toEqual({ message: 'refused to pay: price asks 5000; you signed 1000', exitCode: 1 });
  });

  it('a multi-seller deal: each signed share, and no share it did not sign', () => {
    const terms = {
      sellers: [
        { sellerId: 'a', price: '1000' },
        { sellerId: 'b', price: '2000' },
      ],
    };
    const share = (sellerId: string, amount: string) => ({
      what: `share of ${sellerId}`,
      address: sellerId,
      amount,
      sellerId,
    });
    expect(
      refusal(() =>
        checkOwedAgainstTerms(owed(share('a', '1000'), share('b', '2000')), 'multi_seller', terms),
      ),
    ).toBe('paid');
    expect(
      refusal(() =>
        checkOwedAgainstTerms(owed(share('a', '1000'), share('b', '2500')), 'multi_seller', terms),
      ),
    ).toMatchObject({
      message: 'refused to pay: share of b asks 2500; you signed 2000',
    });
    expect(refusal(() => checkOwedAgainstTerms(owed(share('c', '1')), 'multi_seller', terms))).toMatchObject({
      message: 'refused to pay: you signed no share for c',
    });
  });

  it('a subscription: the signed price per period, within the signed number of periods', () => {
    const terms = { pricePerPeriod: '300', periods: 2 };
    const period = (n: number, amount = '300') => ({ what: `period ${n}`, address: 'p', amount, period: n });
    expect(refusal(() => checkOwedAgainstTerms(owed(period(2)), 'subscription', terms))).toBe('paid');
    expect(refusal(() => checkOwedAgainstTerms(owed(period(3)), 'subscription', terms))).toMatchObject({
      message: 'refused to pay: period 3 is past the 2 periods you signed',
    });
    expect(refusal(() => checkOwedAgainstTerms(owed(period(1, '900')), 'subscription', terms))).toMatchObject(
      {
        message: 'refused to pay: period 1 asks 900; you signed 300',
      },
    );
  });

  it('a grant: the signed total; nothing owed is nothing checked', () => {
    const terms = { total: '1000' };
    expect(
      refusal(() =>
        checkOwedAgainstTerms(owed({ what: 'grant total', address: 'g', amount: '1001' }), 'grant', terms),
      ),
    ).toMatchObject({
      exitCode: 1,
    });
    expect(refusal(() => checkOwedAgainstTerms({ state: 'none', why: 'over' }, 'grant', terms))).toBe('paid');
  });
});
