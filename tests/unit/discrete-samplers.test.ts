import { describe, expect, it } from 'vitest';
import {
  bernoulliExpMinus,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
} from '../../activities/perimeter/dp/discrete-samplers';
import { seededRandom as seeded } from '../support/seeded-random';

/** Pearson's χ² of observed counts against an exact pmf over [-range, range], tails pooled. */
function chiSquare(
  samples: number[],
  pmf: (x: number) => number,
  range: number,
): { chi2: number; bins: number } {
  const counts = new Map<number, number>();
  for (const x of samples) {
    const bin = Math.max(-range - 1, Math.min(range + 1, x));
    counts.set(bin, (counts.get(bin) ?? 0) + 1);
  }
  let inside = 0;
  let chi2 = 0;
  for (let x = -range; x <= range; x++) {
    const expected = pmf(x) * samples.length;
    inside += pmf(x);
    chi2 += ((counts.get(x) ?? 0) - expected) ** 2 / expected;
  }
  const tail = ((1 - inside) / 2) * samples.length;
  for (const bin of [-range - 1, range + 1]) chi2 += ((counts.get(bin) ?? 0) - tail) ** 2 / tail;
  return { chi2, bins: 2 * range + 3 };
}

// χ² critical values at p = 0.001 for the degrees of freedom used below.
const CRITICAL_0_001: Record<number, number> = { 14: 36.12, 22: 48.27 };
const N = 40_000;

describe('exact discrete samplers', () => {
  it('Bernoulli(exp(-γ)) has probability exp(-γ), for γ below and above 1', () => {
    const random = seeded(7);
    for (const [num, den] of [
      [1n, 2n],
      [5n, 2n],
    ] as const) {
      let ones = 0;
      for (let i = 0; i < N; i++) if (bernoulliExpMinus(random, { num, den })) ones++;
      const p = Math.exp(-Number(num) / Number(den));
      // Within 4 standard deviations of the binomial mean.
      expect(Math.abs(ones - N * p)).toBeLessThan(4 * Math.sqrt(N * p * (1 - p)));
    }
  });

  it('discrete Laplace matches its probability mass function', () => {
    const random = seeded(42);
    const scale = 2.5; // t/s = 5/2
    const samples = Array.from({ length: N }, () => Number(sampleDiscreteLaplace(random, 2n, 5n)));
    const q = Math.exp(-1 / scale);
    const pmf = (x: number) => ((1 - q) / (1 + q)) * q ** Math.abs(x);
    const { chi2, bins } = chiSquare(samples, pmf, 10);
    expect(chi2).toBeLessThan(CRITICAL_0_001[bins - 1]!);
    const mean = samples.reduce((a, b) => a + b, 0) / N;
    expect(Math.abs(mean)).toBeLessThan(0.1);
  });

  it('discrete Gaussian matches its probability mass function', () => {
    const random = seeded(1234);
    const sigma2 = 9; // σ = 3
    const samples = Array.from({ length: N }, () =>
      Number(sampleDiscreteGaussian(random, { num: 9n, den: 1n })),
    );
    let normaliser = 0;
    for (let y = -200; y <= 200; y++) normaliser += Math.exp(-(y * y) / (2 * sigma2));
    const pmf = (x: number) => Math.exp(-(x * x) / (2 * sigma2)) / normaliser;
    const { chi2, bins } = chiSquare(samples, pmf, 6);
    expect(chi2).toBeLessThan(CRITICAL_0_001[bins - 1]!);
  });

  it('a wrong distribution fails the same check (the check has teeth)', () => {
    const random = seeded(42);
    const samples = Array.from({ length: N }, () => Number(sampleDiscreteLaplace(random, 1n, 3n))); // scale 3
    const q = Math.exp(-1 / 2.5); // but tested against scale 2.5
    const { chi2, bins } = chiSquare(samples, (x) => ((1 - q) / (1 + q)) * q ** Math.abs(x), 10);
    expect(chi2).toBeGreaterThan(CRITICAL_0_001[bins - 1]!);
  });

  it('draws integers uniformly below n, with no modulo bias', () => {
    const random = seeded(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[Number(random.below(3n))]!++;
    for (const count of counts)
      expect(Math.abs(count - 10_000)).toBeLessThan(4 * Math.sqrt(30_000 * (1 / 3) * (2 / 3)));
  });
});
