import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms } from '../../lib/signed-terms';
import { DealState, type CohortQueryDealInput } from '../../workflows/deal/state';

const input: CohortQueryDealInput = {
  dealId: 'd',
  buyerId: 'b',
  sellerId: 's',
  templateId: 't',
  templateHash: `sha256:${'0'.repeat(64)}`,
  parameters: {},
  price: '10',
  feeBps: 250,
  buyerKeyRef: `sha256:${'1'.repeat(64)}`,
  compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: ['health'] },
  acceptanceTimeoutMs: 1000,
  terms: signTerms('cohort_query', 'b', { dealId: 'd' }, generateEd25519KeyPair().privateKeyPem),
};

describe('deal state', () => {
  it('can be confirmed only once delivered, and only once', () => {
    const deal = new DealState(input, 0);
    expect(() => deal.confirm('buyer', 1)).toThrow(/quoted; only a delivered deal/);
    deal.advance('escrow_locked', 1);
    deal.advance('query_running', 2);
    deal.deliver(
      {
        resultRef: 'r',
        commitment: 'c',
        epsilonSpent: 1,
        repeat: false,
      },
      3,
    );
    deal.confirm('buyer', 4);
    expect(() => deal.confirm('acceptance_timer', 5)).toThrow(/confirmed/);
    expect(deal.snapshot()).toMatchObject({ stage: 'confirmed', confirmedBy: 'buyer' });
    expect(deal.snapshot().timeline.map((t) => t.stage)).toEqual([
      'quoted',
      'escrow_locked',
      'query_running',
      'delivered',
      'confirmed',
    ]);
  });

  it('hands out copies: a query cannot change the deal', () => {
    const deal = new DealState(input, 0);
    deal.snapshot().stage = 'settled';
    expect(deal.stage).toBe('quoted');
  });

  it('shows where to pay once the escrow is open, and the receipt once recorded, without a new stage', () => {
    const deal = new DealState(input, 0);
    expect(deal.snapshot().escrow).toBeUndefined();
    deal.awaitPayment('0xescrow');
    expect(deal.snapshot()).toMatchObject({ stage: 'quoted', escrow: { address: '0xescrow' } });
    expect(deal.commitment).toBeUndefined();
    deal.deliver(
      {
        resultRef: 'r',
        commitment: 'c',
        epsilonSpent: 1,
        repeat: false,
      },
      1,
    );
    expect(deal.commitment).toBe('c');
    deal.recordReceipt({ id: '0x00ab', salt: 'ff' });
    expect(deal.snapshot().receipt).toEqual({ id: '0x00ab', salt: 'ff' });
  });
});

describe('deal state: disputes', () => {
  const delivered = () => {
    const deal = new DealState(input, 0);
    deal.deliver(
      {
        resultRef: 'r',
        commitment: 'c',
        epsilonSpent: 1,
        repeat: false,
      },
      1,
    );
    return deal;
  };

  it('either party may dispute a delivered deal; nobody else, and not twice', () => {
    const deal = delivered();
    expect(() => deal.openDispute('x', 'why', 'd:dispute', 2)).toThrow(/only the buyer or the seller/);
    deal.openDispute('s', 'unpaid', 'd:dispute', 2);
    expect(deal.snapshot()).toMatchObject({
      stage: 'disputed',
      dispute: { openedBy: 's', reason: 'unpaid', workflowId: 'd:dispute' },
    });
    expect(() => deal.openDispute('b', 'again', 'd:dispute', 3)).toThrow(/within the acceptance window/);
    expect(() => deal.confirm('buyer', 3)).toThrow(/disputed/);
  });

  it('no dispute once confirmed', () => {
    const deal = delivered();
    deal.confirm('acceptance_timer', 2);
    expect(() => deal.assertDisputable('b')).toThrow(/confirmed; a dispute opens only/);
  });

  it('takes no signed decision before its scope is set, and a dispute only with a bounded reason', () => {
    const deal = delivered();
    expect(() => deal.scope).toThrow(/starting; try again/);
    const scope = { workflowId: 'd', runId: 'r1', subject: { id: 'd', termsHash: 'h' } };
    deal.setScope(scope);
    expect(deal.scope).toEqual(scope);
    expect(deal.snapshot().scope).toEqual(scope);
    expect(() => deal.openDispute('b', '', 'w', 3)).toThrow(/reason is 1 to 1000 characters/);
    expect(() => deal.openDispute('b', 'x'.repeat(1001), 'w', 3)).toThrow(/1 to 1000/);
    expect(deal.stage).toBe('delivered');
    deal.openDispute('s', 'rows missing', 'w', 3);
    expect(deal.snapshot().dispute).toEqual({ openedBy: 's', reason: 'rows missing', workflowId: 'w' });
  });
});
