import { describe, expect, it } from 'vitest';
import {
  bernoulliExpMinus,
  laplaceInBigInt,
  laplaceInDoubles,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
} from '../../activities/perimeter/dp/discrete-samplers';
import { cryptoRandom } from '../../activities/perimeter/dp/random-source';
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

  // Both paths: doubles (every scale whose numerator and denominator are below 2^53) and BigInt.
  it.each([
    ['doubles', laplaceInDoubles, 2, 5],
    ['BigInt', laplaceInBigInt, 2n, 5n],
  ] as const)('discrete Laplace in %s matches its probability mass function', (_, sample, s, t) => {
    const random = seeded(42);
    const scale = 2.5; // t/s = 5/2
    const samples = Array.from({ length: N }, () =>
      Number((sample as (r: typeof random, s: unknown, t: unknown) => bigint)(random, s, t)),
    );
    const q = Math.exp(-1 / scale);
    const pmf = (x: number) => ((1 - q) / (1 + q)) * q ** Math.abs(x);
    const { chi2, bins } = chiSquare(samples, pmf, 10);
    expect(chi2).toBeLessThan(CRITICAL_0_001[bins - 1]!);
    const mean = samples.reduce((a, b) => a + b, 0) / N;
    expect(Math.abs(mean)).toBeLessThan(0.1);
  });

  it('discrete Laplace in doubles keeps its law at a scale with a large denominator', () => {
    // ε = 0.000123 for Δ = 1: b = 4/ε = 4·10^6/123, so s = 123, t = 4·10^6 (scale ≈ 32520).
    const random = seeded(9);
    const samples = Array.from({ length: N }, () => Number(sampleDiscreteLaplace(random, 123n, 4_000_000n)));
    const q = Math.exp(-123 / 4_000_000);
    // Binned by the sign and the magnitude's decile under the exact law: 20 equiprobable-ish bins.
    const tailAbove = (m: number) => (2 * q ** (m + 1)) / (1 + q); // P(|x| > m)
    const zero = (1 - q) / (1 + q); // P(x = 0)
    const edges = [0, 3426, 7256, 11_597, 16_609, 22_538, 29_793, 39_146, 52_327, 74_854, Infinity];
    let chi2 = 0;
    for (const sign of [-1, 1]) {
      for (let i = 0; i < edges.length - 1; i++) {
        const [low, high] = [edges[i]!, edges[i + 1]!];
        const both = (low === 0 ? 1 : tailAbove(low - 1)) - (high === Infinity ? 0 : tailAbove(high - 1));
        // Zero is counted with the positives.
        const p = (both + (low === 0 ? sign * zero : 0)) / 2;
        const count = samples.filter(
          (x) => Math.sign(x || 1) === sign && Math.abs(x) >= low && Math.abs(x) < high,
        ).length;
        chi2 += (count - N * p) ** 2 / (N * p);
      }
    }
    expect(chi2).toBeLessThan(43.82); // χ²(19) at p = 0.001
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

  // Just above a power of two is where a masked draw rejects most, and where a modulo would bias.
  it.each([3, 5, 2 ** 31 + 1, 2 ** 32 + 3, 3 * 2 ** 50 + 1])(
    'draws numbers uniformly below %d, in thirds and by parity',
    (n) => {
      const random = seeded(n % 1000);
      const thirds = [0, 0, 0];
      let odd = 0;
      const draws = 30_000;
      for (let i = 0; i < draws; i++) {
        const x = random.belowNumber(n);
        expect(Number.isInteger(x) && x >= 0 && x < n).toBe(true);
        thirds[Math.min(2, Math.floor((3 * x) / n))]!++;
        odd += x % 2;
      }
      thirds.forEach((count, j) => {
        // The share of [0, n) with floor(3x/n) = j.
        const p = (Math.ceil(((j + 1) * n) / 3) - Math.ceil((j * n) / 3)) / n;
        expect(Math.abs(count - draws * p)).toBeLessThan(4.5 * Math.sqrt(draws * p * (1 - p)));
      });
      const pOdd = Math.floor(n / 2) / n;
      expect(Math.abs(odd - draws * pOdd)).toBeLessThan(4.5 * Math.sqrt(draws * pOdd * (1 - pOdd)));
    },
  );

  it('the OS generator draws below n for every size of n', () => {
    for (const n of [1, 2, 255, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
      const x = cryptoRandom.belowNumber(n);
      expect(Number.isInteger(x) && x >= 0 && x < n).toBe(true);
    }
    expect(() => cryptoRandom.belowNumber(0)).toThrow(RangeError);
    expect(() => cryptoRandom.belowNumber(2 ** 53)).toThrow(RangeError);
  });
});
