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
    expect(plan.countScale).toBeCloseTo(Math.sqrt(2) / Math.sqrt(rho), 9);
    expect(plan.sumScales.avg_cost).toBeCloseTo((100 * Math.sqrt(2)) / Math.sqrt(rho), 6);
    // The stated (ε, δ) is met exactly by the zCDP conversion.
    expect(zcdpEpsilon(rho, 1e-6)).toBeCloseTo(4, 9);
    expect(plan.cost).toEqual(privacyCost({ rho, delta: 1e-7 }));
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
