import { describe, expect, it } from 'vitest';
import { cohortAggregateSql, sumColumn, UNITS_COLUMN } from '../../activities/perimeter/cohort-sql';
import { noisePlan } from '../../query-policies/noise-plan';
import { releasePrivately, REMAINDER_LABEL } from '../../activities/perimeter/private-release';
import { seededRandom } from '../support/seeded-random';
import { sampleTemplate } from '../support/templates';

const group = (zip3: string, units: number, sum: number) => ({
  zip3,
  [UNITS_COLUMN]: BigInt(units),
  [sumColumn('avg_cost')]: BigInt(sum),
});

describe('private release', () => {
  it('splits epsilon over the noised quantities and scales noise by the contribution bound', () => {
    const plan = noisePlan(sampleTemplate());
    // ε = 1 over 2 quantities (units, the avg's sum); a unit touches ≤ 2 groups; a sum moves ≤ 100.
    expect(plan).toEqual({
      mechanism: 'discrete_laplace',
      epsilon: 1,
      countScale: 4,
      sumScales: { avg_cost: 400 },
    });
    const gaussian = noisePlan(
      sampleTemplate({ privacy: { mechanism: 'discrete_gaussian', epsilon: 1, delta: 1e-6 } }),
    );
    expect(gaussian.countScale).toBeCloseTo(Math.sqrt(2) * Math.sqrt(2 * Math.log(1.25 / 5e-7)) * 2, 6);
  });

  it('withholds groups under k and never releases a count under k', () => {
    const template = sampleTemplate({ minCohortSize: 10 });
    const rows = [group('100', 9, 500), group('101', 1000, 50_000), group('102', 12, 600)];
    for (let seed = 0; seed < 50; seed++) {
      const released = releasePrivately(template, noisePlan(template), rows, seededRandom(seed));
      const zips = released.rows.map((row) => row[0]);
      expect(zips).not.toContain('100');
      expect(zips).toContain('101');
      for (const row of released.rows) expect(row[1]).toBeGreaterThanOrEqual(10);
      expect(released.privacy.groupsReleased + released.privacy.groupsSuppressed).toBe(3);
    }
  });

  it('adds noise of the planned scale, and keeps averages inside the metric bounds', () => {
    const template = sampleTemplate();
    const differences: number[] = [];
    for (let seed = 0; seed < 400; seed++) {
      const released = releasePrivately(
        template,
        noisePlan(template),
        [group('101', 1000, 50_000)],
        seededRandom(seed),
      );
      const [, units, avg] = released.rows[0]!;
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

  it('folds small groups into one remainder row, itself released only when it reaches k', () => {
    const template = sampleTemplate({ suppression: 'remainder', minCohortSize: 10 });
    const released = releasePrivately(
      template,
      noisePlan(template),
      [group('100', 6, 300), group('101', 7, 300), group('102', 500, 1000)],
      seededRandom(1),
    );
    expect(released.rows.map((row) => row[0])).toEqual(['102', REMAINDER_LABEL]);
    expect(released.privacy).toMatchObject({
      remainderReleased: true,
      groupsSuppressed: 2,
      groupsReleased: 2,
    });
    const lonely = releasePrivately(
      template,
      noisePlan(template),
      [group('100', 3, 300), group('102', 500, 1)],
      seededRandom(1),
    );
    expect(lonely.rows.map((row) => row[0])).toEqual(['102']);
  });

  it('bounds contributions in SQL: per-unit sums clamped, units over the group bound dropped', () => {
    const sql = cohortAggregateSql(sampleTemplate());
    expect(sql).toContain('round(least(greatest(sum("cost"::DOUBLE), 0), 100))');
    expect(sql).toContain('GROUP BY "zip3", "person_id"');
    expect(sql).toContain('HAVING count(*) > 2');
    expect(sql).toContain('ANTI JOIN over_bound');
  });
});
