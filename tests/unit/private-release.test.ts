import { describe, expect, it } from 'vitest';
import { cohortAggregateSql, sumColumn, UNITS_COLUMN } from '../../query-policies/cohort-sql';
import { releasePrivately } from '../../activities/perimeter/private-release';
import { noisePlan } from '../../query-policies/noise-plan';
import { seededRandom } from '../support/seeded-random';
import { sampleTemplate } from '../support/templates';

const group = (zip3: string, units: number, sum: number) => ({
  zip3,
  [UNITS_COLUMN]: BigInt(units),
  [sumColumn('avg_cost')]: BigInt(sum),
});

const declared = sampleTemplate({
  groupDomain: { zip3: ['100', '101', '102', '103'] },
  privacy: { mechanism: 'discrete_laplace', epsilon: 1 },
});

describe('private release: declared domain', () => {
  it('answers every group of the domain, in order, whatever the data holds', () => {
    const plan = noisePlan(declared);
    for (const rows of [[], [group('101', 1000, 50_000)], [group('100', 1, 5), group('999', 500, 9)]]) {
      const released = releasePrivately(declared, plan, rows, seededRandom(7));
      expect(released.rows.map((row) => row[0])).toEqual(['100', '101', '102', '103']);
    }
  });

  it('withholds numbers only where the noisy count is under k, never a count under k', () => {
    const template = { ...declared, minCohortSize: 10 };
    for (let seed = 0; seed < 50; seed++) {
      const released = releasePrivately(
        template,
        noisePlan(template),
        [group('101', 1000, 50_000)],
        seededRandom(seed),
      );
      const byZip = new Map(released.rows.map((row) => [row[0], row]));
      expect(byZip.get('101')![1]).toBeGreaterThanOrEqual(10);
      for (const row of released.rows) if (row[1] !== null) expect(row[1]).toBeGreaterThanOrEqual(10);
    }
  });

  it('shows metadata that is the same for any data: the mechanism, never a count', () => {
    const plan = noisePlan(declared);
    const one = releasePrivately(declared, plan, [group('101', 1, 50)], seededRandom(1));
    const none = releasePrivately(declared, plan, [], seededRandom(2));
    expect(one.privacy).toEqual(none.privacy);
    expect(one.privacy).toEqual({
      mechanism: 'discrete_laplace',
      epsilonSpent: 1,
      delta: 0,
      noiseScales: { units: 4, 'avg_cost (sum)': 400 },
      minCohortSize: 10,
      groupRelease: { kind: 'declared_domain' },
    });
  });

  it('adds noise of the planned scale, and keeps averages inside the metric bounds', () => {
    const differences: number[] = [];
    for (let seed = 0; seed < 400; seed++) {
      const released = releasePrivately(
        declared,
        noisePlan(declared),
        [group('101', 1000, 50_000)],
        seededRandom(seed),
      );
      const [, units, avg] = released.rows[1]!;
      differences.push(Number(units) - 1000);
      expect(Number(avg)).toBeGreaterThanOrEqual(0);
      expect(Number(avg)).toBeLessThanOrEqual(100);
    }
    expect(new Set(differences).size).toBeGreaterThan(5);
    // Discrete Laplace with b = 4: E|noise| = 2q/(1−q²) with q = e^(−1/4), about 3.96.
    const meanAbs = differences.reduce((sum, d) => sum + Math.abs(d), 0) / differences.length;
    expect(meanAbs).toBeGreaterThan(2);
    expect(meanAbs).toBeLessThan(6);
  });
});

describe('private release: partition selection', () => {
  const template = sampleTemplate({ minCohortSize: 10 });
  const plan = noisePlan(template);
  const threshold = plan.groupRelease.kind === 'partition_selection' ? plan.groupRelease.threshold : NaN;

  it('releases a group only when its noisy count reaches max(τ, k)', () => {
    expect(threshold).toBeGreaterThan(10);
    for (let seed = 0; seed < 50; seed++) {
      const released = releasePrivately(
        template,
        plan,
        [group('100', 1, 5), group('101', 1000, 50_000)],
        seededRandom(seed),
      );
      expect(released.rows.map((row) => row[0])).toEqual(['101']);
      for (const row of released.rows) expect(row[1]).toBeGreaterThanOrEqual(threshold);
    }
  });

  it('releases nothing from nothing, and says only how groups were chosen', () => {
    const released = releasePrivately(template, plan, [], seededRandom(3));
    expect(released.rows).toEqual([]);
    expect(released.privacy.groupRelease).toEqual({ kind: 'partition_selection', threshold, delta: 1e-6 });
  });
});

describe('contribution bounding in SQL', () => {
  it('clamps per-unit sums, drops units over the group bound, and leaves out NULL units', () => {
    const sql = cohortAggregateSql(sampleTemplate());
    expect(sql).toContain('round(least(greatest(sum(TRY_CAST("cost" AS DOUBLE)), 0), 100))');
    expect(sql).toContain('GROUP BY "zip3", "person_id"');
    expect(sql).toContain('HAVING count(*) > 2');
    expect(sql).toContain('ANTI JOIN over_bound');
    expect(sql).toContain('WHERE "person_id" IS NOT NULL');
  });
});
