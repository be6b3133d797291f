import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { BudgetExhaustedError, PrivacyLedger } from '../../activities/perimeter/privacy-ledger';
import { ReleaseCache } from '../../activities/perimeter/release-cache';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 21);

describe('privacy budget ledger', () => {
  let directory: string;
  let ledger: PrivacyLedger;
  const reserve = (dealId: string, epsilon = 1, now = NOW, buyerId = 'b1') =>
    ledger.reserve({
      dealId,
      buyerId,
      dataset: 'patients',
      queryKey: `q-${dealId}`,
      epsilon,
      budgetEpsilon: 3,
      windowMs: 30 * DAY,
      now,
    });

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tusk-privacy-'));
    ledger = new PrivacyLedger(directory);
  });

  it('refuses with a clear reason once the window budget is used up, and never goes over', async () => {
    for (const deal of ['d1', 'd2', 'd3']) await reserve(deal);
    await expect(reserve('d4')).rejects.toThrow(BudgetExhaustedError);
    await expect(reserve('d4')).rejects.toThrow(
      /spent ε=3 of ε=3 on patients in the last 30 days; this answer costs ε=1/,
    );
    expect(await ledger.spent('b1', 'patients', 30 * DAY, NOW)).toBe(3);
    // Another buyer's budget is its own.
    await expect(reserve('other', 1, NOW, 'b2')).resolves.toMatchObject({ state: 'reserved' });
  });

  it('gives back released reservations, keeps committed ones, and forgets what left the window', async () => {
    await reserve('d1');
    await reserve('d2');
    await ledger.commit('d1', 1, NOW);
    await ledger.release('d2', NOW);
    await ledger.release('d1', NOW); // committed: its answer went out, so it stays spent
    expect(await ledger.spent('b1', 'patients', 30 * DAY, NOW)).toBe(1);
    expect(await ledger.spent('b1', 'patients', 30 * DAY, NOW + 31 * DAY)).toBe(0);
    await expect(reserve('d3', 1, NOW + 31 * DAY)).resolves.toMatchObject({ state: 'reserved' });
  });

  it('is idempotent per deal: a retried reservation or commit charges once', async () => {
    await reserve('d1');
    await reserve('d1');
    await ledger.commit('d1', 1, NOW);
    await ledger.commit('d1', 1, NOW);
    expect(await ledger.spent('b1', 'patients', 30 * DAY, NOW)).toBe(1);
  });

  it('under concurrent deals never overspends, and a restarted worker sees the same state', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        reserve(`c${i}`, 0.5).then(
          () => 'reserved',
          () => 'refused',
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'reserved')).toHaveLength(6);
    const restarted = new PrivacyLedger(directory);
    expect(await restarted.spent('b1', 'patients', 30 * DAY, NOW)).toBe(3);
    await expect(
      restarted.reserve({
        dealId: 'late',
        buyerId: 'b1',
        dataset: 'patients',
        queryKey: 'q',
        epsilon: 0.1,
        budgetEpsilon: 3,
        windowMs: 30 * DAY,
        now: NOW,
      }),
    ).rejects.toThrow(BudgetExhaustedError);
  });

  it('sums many small charges exactly (no floating-point drift)', async () => {
    const tiny = (dealId: string) =>
      ledger.reserve({
        dealId,
        buyerId: 'b1',
        dataset: 'patients',
        queryKey: dealId,
        epsilon: 0.1,
        budgetEpsilon: 1,
        windowMs: DAY,
        now: NOW,
      });
    for (let i = 0; i < 10; i++) await tiny(`t${i}`);
    expect(await ledger.spent('b1', 'patients', DAY, NOW)).toBe(1);
    await expect(tiny('t10')).rejects.toThrow(BudgetExhaustedError);
  });

  it('stores released answers for the window only', async () => {
    const cache = new ReleaseCache(directory);
    await cache.store('sha256:abc', { rows: [[1]] }, NOW);
    expect(await cache.find('sha256:abc', NOW - DAY)).toEqual({ rows: [[1]] });
    expect(await cache.find('sha256:abc', NOW + 1)).toBeUndefined();
    expect(await cache.find('sha256:def', 0)).toBeUndefined();
  });
});
