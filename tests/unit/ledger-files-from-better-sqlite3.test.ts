import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MilestoneRuns } from '../../activities/perimeter/milestone-runs';
import { PrivacyLedger, type ReservationKey } from '../../activities/perimeter/privacy-ledger';
import type { BudgetScope } from '../../query-policies/dataset-policy';
import { privacyCost } from '../../query-policies/privacy-cost';

/**
 * The perimeter's files as the last better-sqlite3 (12.11.1) perimeter wrote them, before SQLite went
 * through libsql. Both directories hold the same operations, at NOW + 1..5 ms: d1 reserved ε=1,
 * started, answered `{ rows: [[1, 2]] }` and its outcome `released`; d2 reserved ε=0.5, started and
 * failed (charged); d3 reserved ε=0.25; milestone m1 of grant g1 claimed check c1 with threshold noise
 * 12345678901234 and recorded it not met. `closed/` was closed cleanly; `crashed/` was killed
 * (SIGKILL) before closing, so every one of those transactions is only in its write-ahead log.
 */
const FIXTURES = join(__dirname, '../fixtures/better-sqlite3-ledgers');
const NOW = Date.UTC(2026, 10, 21);
const SCOPE: BudgetScope = {
  datasets: ['patients'],
  name: 'patients',
  budget: { windowDays: 30, total: { epsilon: 5, delta: 1e-5 }, perBuyer: { epsilon: 3, delta: 1e-6 } },
};
const key = (dealId: string): ReservationKey => ({
  dealId,
  nonce: `n-${dealId}`,
  buyerId: 'b1',
  termsHash: `h-${dealId}`,
});
const MILESTONE = { grantId: 'g1', nonce: 'n1', milestoneId: 'm1', termsHash: 'th', payer: 'p1' };

describe('ledger files written by better-sqlite3', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  for (const state of ['closed', 'crashed']) {
    it(`opens a ${state} perimeter's files with every charge, answer, outcome and milestone run`, async () => {
      const dir = await mkdtemp(join(tmpdir(), `tusk-old-ledger-${state}-`));
      dirs.push(dir);
      await cp(join(FIXTURES, state), dir, { recursive: true });
      const ledger = PrivacyLedger.open(join(dir, 'privacy-ledger.sqlite'));
      const runs = new MilestoneRuns(dir);
      try {
        const remaining = ledger.remaining('patients', SCOPE, 'b1', NOW + 1000);
        expect(remaining.buyer.spent.epsilon).toBe(1.75);
        expect(remaining.total.left.epsilon).toBe(3.25);
        expect(ledger.reservation(key('d1'))).toMatchObject({
          state: 'committed',
          touched: true,
          at: NOW + 2,
        });
        expect(ledger.reservation(key('d2'))).toMatchObject({ state: 'committed', at: NOW + 5 });
        expect(ledger.reservation(key('d3'))).toMatchObject({ state: 'reserved', touched: false });
        expect(ledger.findAnswer(key('d1'), 'q-d1', undefined)).toEqual({
          dealId: 'd1',
          own: true,
          at: NOW + 2,
          answer: { rows: [[1, 2]] },
        });
        expect(ledger.outcomeOf('d1', 'h-d1')).toBe('released');
        expect(runs.run(MILESTONE)).toEqual({
          thresholdNoise: 12345678901234n,
          checks: 1,
          claims: 1,
          met: false,
        });
        // And it goes on charging against what the old perimeter spent.
        const more = { ...key('d4'), dataset: 'patients', queryKey: 'q-d4', scope: SCOPE, now: NOW + 10 };
        expect(ledger.reserve({ ...more, cost: privacyCost({ epsilon: 1 }) }).state).toBe('reserved');
        expect(() =>
          ledger.reserve({ ...more, ...key('d5'), queryKey: 'q-d5', cost: privacyCost({ epsilon: 0.5 }) }),
        ).toThrow(/privacy budget exhausted for buyer b1/);
      } finally {
        runs.close();
        ledger.close();
      }
    });
  }
});
