import { describe, expect, it } from 'vitest';
import type { SignedReceipt } from '../../audit/receipt';
import { describeReceipt } from '../../cli/audit/receipt-commands';

/** A receipt as `tusk receipt show` prints it to one of the parties (openings present). */
function receiptOf(kind: SignedReceipt['body']['kind'], dealId: string): SignedReceipt {
  return {
    body: {
      type: 'tusk.receipt/v1',
      dealId,
      kind,
      outcome: 'settled',
      settlement: {
        adapter: 'local-ledger',
        transactions: [{ action: 'lockEscrow' }, { action: 'releasePart' }],
      },
      issuedAt: '2026-12-07T16:22:18.960Z',
      sealed: { parties: 'sha256:aa', amounts: 'sha256:bb' },
    },
    openings: {
      parties: { salt: '00', value: { buyer: 'fund-1', sellers: ['lab-1'] } },
      amounts: {
        salt: '01',
        value: {
          currency: 'smallest units',
          deposits: '1000',
          payouts: [{ to: 'lab-1', amount: '975' }],
          fee: '25',
          feeBps: 250,
          refunds: [],
        },
      },
    },
  } as unknown as SignedReceipt;
}

describe('tusk receipt show: the parties in the words of the receipt kind', () => {
  it('names a grant receipt sponsor and grantee, not buyer and seller', () => {
    const text = describeReceipt(receiptOf('grant', 'grant:g-1'));
    expect(text).toContain('receipt of grant:g-1 (grant, settled)');
    expect(text).toContain('parties      sponsor fund-1; grantee lab-1');
    expect(text).not.toMatch(/buyer|seller/);
  });

  it('keeps buyer and seller for a deal', () => {
    const text = describeReceipt(receiptOf('cohort_query', 'd-1'));
    expect(text).toContain('receipt of deal d-1 (cohort_query, settled)');
    expect(text).toContain('parties      buyer fund-1; seller lab-1');
  });
});
