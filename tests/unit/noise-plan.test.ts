import { describe, expect, it } from 'vitest';
import { noisePlan, partitionSelection } from '../../query-policies/noise-plan';
import {
  addCosts,
  privacyCost,
  spentEpsilon,
  withinBudget,
  zcdpEpsilon,
  zcdpRhoFor,
} from '../../query-policies/privacy-cost';
import { queryNoiseScale, thresholdNoiseScale } from '../../activities/perimeter/dp/above-threshold';
import { toNumber, type ExactRational } from '../../query-policies/noise-scale';
import { sampleTemplate } from '../support/templates';

describe('noise plan', () => {
  it('splits a Laplace answer’s ε over its quantities and scales by the contribution bound', () => {
    // ε = 1 over 2 quantities (units, the avg's sum); a unit touches ≤ 2 groups; a sum moves ≤ 100.
    const plan = noisePlan(sampleTemplate());
    expect(plan).toMatchObject({ mechanism: 'discrete_laplace', epsilon: 1, countScale: 4 });
    expect(plan.sumScales).toEqual({ avg_cost: 400 });
    expect(plan.cost).toEqual(privacyCost({ epsilon: 1, delta: 1e-6 }));
  });

  it('calibrates the Gaussian through zCDP, valid for ε above 1', () => {
    const template = sampleTemplate({
      privacy: { mechanism: 'discrete_gaussian', epsilon: 4, delta: 1e-6, selectionDelta: 1e-7 },
    });
    const plan = noisePlan(template);
    const rho = (Math.sqrt(Math.log(1e6) + 4) - Math.sqrt(Math.log(1e6))) ** 2;
    // Δ₂ = √2 for counts (2 groups per unit), ρ/2 per quantity: σ = Δ₂ / √(2·ρ/2) = √2/√ρ.
    // The sampler draws with σ² at or just above 2/ρ (and 100²·2/ρ for the sum), never below.
    for (const [parameter, sigma2] of [
      [plan.countNoise, 2 / rho],
      [plan.sumNoise.avg_cost!, 20_000 / rho],
    ] as const) {
      expect(toNumber(parameter)).toBeGreaterThanOrEqual(sigma2);
      expect(toNumber(parameter)).toBeLessThan(sigma2 * (1 + 1e-8));
    }
    // What the buyer is shown is σ rounded up to hundredths.
    expect(plan.countScale).toBe(Math.ceil((Math.sqrt(2) / Math.sqrt(rho)) * 100) / 100);
    // The stated (ε, δ) is met exactly by the zCDP conversion.
    expect(zcdpEpsilon(rho, 1e-6)).toBeCloseTo(4, 9);
    expect(plan.cost).toEqual(privacyCost({ rho, delta: 1e-7 }));
  });

  describe('noise scales are never rounded down', () => {
    // ε values as a person writes them: 1 to 4 decimals between 0.0001 and 10, about 2000 of them.
    const epsilons = Array.from({ length: 2000 }, (_, i) => {
      const places = 1 + (i % 4);
      return Math.max(10 ** -places, Number(((i * 0.0137 + 0.0001) % 10).toFixed(places)));
    });
    /** ε as the exact fraction its decimal text says, parsed independently of the code under test. */
    const exactly = (epsilon: number) => {
      const [whole, fraction = ''] = String(epsilon).split('.');
      return { num: BigInt(whole! + fraction), den: 10n ** BigInt(fraction.length) };
    };
    /** b·ε ≥ need, exactly: the Laplace scale is at least need/ε. */
    const atLeast = (b: ExactRational, epsilon: number, need: bigint) => {
      const e = exactly(epsilon);
      return b.num * e.num >= need * b.den * e.den;
    };

    it('discrete Laplace: b ≥ m·Δ·Q/ε exactly, for every ε (answers and milestone checks)', () => {
      let nearestWouldBeBelow = 0;
      for (const epsilon of epsilons) {
        const template = sampleTemplate({
          maxGroupsPerUnit: 3,
          privacy: { mechanism: 'discrete_laplace', epsilon, selectionDelta: 1e-6 },
        });
        const plan = noisePlan(template);
        // m = 3, Q = 2; Δ = 1 for the count, 100 for the avg's sum.
        expect(atLeast(plan.countNoise, epsilon, 6n)).toBe(true);
        expect(atLeast(plan.sumNoise.avg_cost!, epsilon, 600n)).toBe(true);
        expect(atLeast(thresholdNoiseScale(7, epsilon), epsilon, 14n)).toBe(true);
        expect(atLeast(queryNoiseScale(7, epsilon), epsilon, 28n)).toBe(true);
        // The former rounding, to the nearest millionth, is below the calibrated scale for some ε:
        // this check would have caught it.
        const nearest = { num: BigInt(Math.round((6 / epsilon) * 1e6)), den: 1_000_000n };
        if (!atLeast(nearest, epsilon, 6n)) nearestWouldBeBelow++;
      }
      expect(nearestWouldBeBelow).toBeGreaterThan(100);
    });

    it('discrete Gaussian: the ρ drawn with is at most the ρ charged, and meets (ε, δ), for every ε', () => {
      for (const [i, epsilon] of epsilons.entries()) {
        const delta = [1e-5, 1e-7, 1e-10][i % 3]!;
        const template = sampleTemplate({
          privacy: { mechanism: 'discrete_gaussian', epsilon, delta, selectionDelta: 1e-7 },
        });
        const plan = noisePlan(template);
        const rho = zcdpRhoFor(epsilon, delta);
        // ρ of what is drawn: Q·m·Δ²/(2σ²) over Q = 2 quantities, m = 2.
        const drawn = 2 * (2 / (2 * toNumber(plan.countNoise)));
        const drawnSum = 2 * ((2 * 100 ** 2) / (2 * toNumber(plan.sumNoise.avg_cost!)));
        expect(drawn).toBeLessThanOrEqual(rho);
        expect(drawnSum).toBeLessThanOrEqual(rho);
        expect(zcdpEpsilon(Math.max(drawn, drawnSum), delta)).toBeLessThanOrEqual(epsilon);
        expect(plan.cost.nanoRho / 1e9).toBeGreaterThanOrEqual(rho);
      }
    });
  });

  it('picks the least threshold whose δ bound holds (discrete Laplace, exact tail)', () => {
    for (const [scale, m, delta] of [
      [4, 2, 1e-6],
      [1.5, 1, 1e-9],
      [20, 5, 1e-5],
    ] as const) {
      const selection = partitionSelection('discrete_laplace', scale, m, delta);
      if (selection.kind !== 'partition_selection') throw new Error('expected partition selection');
      const q = Math.exp(-1 / scale);
      const leak = (tau: number) => (m * q ** (tau - 1)) / (1 + q);
      expect(leak(selection.threshold)).toBeLessThanOrEqual(delta);
      expect(leak(selection.threshold - 1)).toBeGreaterThan(delta);
    }
  });

  it('picks the least threshold whose δ bound holds (discrete Gaussian, subgaussian tail)', () => {
    const selection = partitionSelection('discrete_gaussian', 3, 4, 1e-8);
    if (selection.kind !== 'partition_selection') throw new Error('expected partition selection');
    const leak = (tau: number) => 4 * Math.exp(-((tau - 1) ** 2) / (2 * 9));
    expect(leak(selection.threshold)).toBeLessThanOrEqual(1e-8);
    expect(leak(selection.threshold - 1)).toBeGreaterThan(1e-8);
  });
});

describe('privacy accounting', () => {
  it('composes Laplace and Gaussian answers to hand-computed values', () => {
    // Three Laplace answers of ε = 0.5, two Gaussian answers of ρ = 0.02, one selection δ of 1e-7.
    let total = privacyCost({});
    for (let i = 0; i < 3; i++) total = addCosts(total, privacyCost({ epsilon: 0.5 }));
    for (let i = 0; i < 2; i++) total = addCosts(total, privacyCost({ rho: 0.02 }));
    total = addCosts(total, privacyCost({ delta: 1e-7 }));
    expect(total).toEqual({ microEpsilon: 1_500_000, nanoRho: 40_000_000, femtoDelta: 100_000_000 });
    // ε = 1.5 + 0.04 + 2·√(0.04·ln(1/(1e-6 − 1e-7))) at a budget δ of 1e-6.
    const expected = 1.5 + 0.04 + 2 * Math.sqrt(0.04 * Math.log(1 / 9e-7));
    expect(spentEpsilon(total, 1e-6)).toBeCloseTo(expected, 12);
    expect(withinBudget(total, { epsilon: expected + 1e-9, delta: 1e-6 })).toBe(true);
    expect(withinBudget(total, { epsilon: expected - 1e-3, delta: 1e-6 })).toBe(false);
    expect(withinBudget(total, { epsilon: 100, delta: 5e-8 })).toBe(false);
  });

  it('inverts the zCDP conversion', () => {
    for (const [epsilon, delta] of [
      [0.1, 1e-9],
      [1, 1e-6],
      [10, 1e-5],
    ] as const)
      expect(zcdpEpsilon(zcdpRhoFor(epsilon, delta), delta)).toBeCloseTo(epsilon, 9);
  });

  it('never rounds a cost down', () => {
    expect(privacyCost({ epsilon: 1e-7 }).microEpsilon).toBe(1);
    expect(privacyCost({ epsilon: 0.1 + 0.2 }).microEpsilon).toBe(300_000);
  });
});
