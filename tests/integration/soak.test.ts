import { describe, expect, it } from 'vitest';
import { KILLED_WORKERS, runSoak, soakFailures } from '../../scripts/lib/soak';

/**
 * The short fault soak (`npm run soak -- --deals 5`): five deals while every worker is SIGKILLed
 * at least once and Temporal and Redis restart once each, on a stack of its own (it restarts it).
 */
describe('fault soak, short', () => {
  it(
    'loses no deal, pays none twice, and charges the budget once per deal',
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
      expect(report.settled).toBe(5);
      for (const name of KILLED_WORKERS) expect(report.kills[name], name).toBeGreaterThan(0);
      expect(report.budget.spentEpsilon).toBe(10);
    },
  );
});
