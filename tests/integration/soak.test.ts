import { describe, expect, it } from 'vitest';
import { KILLED_PROCESSES, SCHEDULED_FAULTS, runSoak, soakFailures } from '../../scripts/lib/soak';

/**
 * The short fault soak (`npm run soak -- --deals 5`): five deals while the API and every worker are
 * SIGKILLed at least once, Temporal and Redis are crashed once each, and the settlement worker is
 * crashed right after a ledger lock and a payout, on a stack of its own (it crashes it).
 */
describe('fault soak, short', () => {
  it(
    'loses no deal, locks and pays each once in the ledger, charges the budget once per deal, notifies the buyer',
    { timeout: 600_000 },
    async () => {
      const report = await runSoak({
        deals: 5,
        concurrency: 3,
        rows: 20_000,
        seed: 5,
        killEveryMs: [1_000, 3_000],
        dealTimeoutMs: 240_000,
        log: () => undefined,
      });
      expect(soakFailures(report)).toEqual([]);
      expect(report.settled).toHaveLength(5);
      for (const name of [...KILLED_PROCESSES, ...SCHEDULED_FAULTS])
        expect(report.faults[name], name).toBeGreaterThan(0);
      expect(report.spentEpsilon).toBe(10);
      expect(report.ledger.filter((line) => line.kind === 'lock')).toHaveLength(5);
    },
  );
});
