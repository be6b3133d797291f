import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../activities/settlement/ledger-entries';
import { dealEscrowId } from '../../lib/ids/escrow-ids';
import { ledgerFindings, soakFailures, type SoakObservations } from '../../scripts/lib/soak-checks';

const at = '2026-01-01T00:00:00.000Z';
const lock = (dealId: string): LedgerEntry => ({
  kind: 'lock',
  dealId: dealEscrowId(dealId),
  buyerId: 'demo-buyer',
  amount: '1000',
  at,
});
const release = (dealId: string): LedgerEntry => ({
  kind: 'release',
  dealId: dealEscrowId(dealId),
  sellerId: 'soak-seller',
  sellerAmount: '975',
  feeAmount: '25',
  at,
});
const refund = (dealId: string): LedgerEntry => ({
  kind: 'refund',
  dealId: dealEscrowId(dealId),
  buyerId: 'demo-buyer',
  amount: '1000',
  at,
});

/** Two settled deals, each locked and paid out once, as a clean soak leaves them. */
const clean = (): SoakObservations => ({
  deals: ['soak-1-0', 'soak-1-1'],
  settled: ['soak-1-0', 'soak-1-1'],
  lost: [],
  ledger: [lock('soak-1-0'), lock('soak-1-1'), release('soak-1-0'), release('soak-1-1')],
  spentEpsilon: 4,
  epsilonPerDeal: 2,
  balances: {
    buyer: { actual: '1', expected: '1' },
    seller: { actual: '2', expected: '2' },
    operator: { actual: '3', expected: '3' },
  },
  faults: { 'settlement worker': 1, 'Temporal crash': 1 },
  unnotified: [],
});

describe("the fault soak's checks", () => {
  it('pass a ledger with one lock and one payout per settled deal', () => {
    expect(soakFailures(clean())).toEqual([]);
  });

  it('report a deal locked twice, under the escrow id the ledger really writes', () => {
    const observed = clean();
    observed.ledger.push(lock('soak-1-1'));
    expect(soakFailures(observed)).toEqual(['soak-1-1: locked 2×, paid out 1×, refunded 0×']);
  });

  it('report every deal of a ledger where each was locked twice', () => {
    const observed = clean();
    observed.ledger = [...observed.ledger, lock('soak-1-0'), lock('soak-1-1')];
    expect(ledgerFindings(observed)).toHaveLength(2);
  });

  it('report a deal both paid out and refunded, and a settled deal never paid', () => {
    const observed = clean();
    observed.ledger = [lock('soak-1-0'), lock('soak-1-1'), release('soak-1-0'), refund('soak-1-0')];
    expect(ledgerFindings(observed)).toEqual([
      'soak-1-0: locked 1×, paid out 1×, refunded 1×',
      'soak-1-1: locked 1×, paid out 0×, refunded 0×',
    ]);
  });

  it('report money moved under an escrow that is no soak deal', () => {
    const observed = clean();
    observed.ledger.push(lock('someone-else'));
    expect(ledgerFindings(observed)).toEqual([
      `ledger lock under ${dealEscrowId('someone-else')}, which is no soak deal's escrow`,
    ]);
  });

  it.each([
    ['missing', undefined],
    ['not a number', Number.NaN],
  ])("report the buyer's budget figure when it is %s", (_what, spentEpsilon) => {
    expect(soakFailures({ ...clean(), spentEpsilon })).toEqual([
      `the buyer's budget figure is missing (${String(spentEpsilon)})`,
    ]);
  });

  it('report a budget charged twice, a fault that never happened, and a buyer never notified', () => {
    const failures = soakFailures({
      ...clean(),
      spentEpsilon: 6,
      faults: { 'settlement worker': 1, 'Temporal crash': 0 },
      unnotified: ['soak-1-1'],
    });
    expect(failures).toEqual([
      'budget shows ε 6 spent, one charge per deal is 4',
      'faults that never happened: Temporal crash',
      'no result_ready notification for soak-1-1',
    ]);
  });
});
