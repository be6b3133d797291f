import { describe, expect, it } from 'vitest';
import {
  bernoulliExpMinusByWords,
  bernoulliRatioByWords,
  gaussianInBigInt,
  sampleDiscreteGaussian,
} from '../../activities/perimeter/dp/discrete-samplers';
import type { RandomSource } from '../../activities/perimeter/dp/random-source';
import { chiSquareCritical, goodnessOfFit, quantileEdges, sameLaw } from '../support/chi-square';
import { seededRandom } from '../support/seeded-random';

const N = 40_000;

/** P(X ≤ x) of the discrete Gaussian with variance parameter σ², summed over |y| ≤ 60σ. */
function discreteGaussianCdf(sigmaSquared: number): (x: number) => number {
  const reach = Math.ceil(60 * Math.sqrt(sigmaSquared));
  const weight = (y: number) => Math.exp(-(y * y) / (2 * sigmaSquared));
  let total = 0;
  for (let y = -reach; y <= reach; y++) total += weight(y);
  const cdf = new Map<number, number>();
  let running = 0;
  for (let y = -reach; y <= reach; y++) cdf.set(y, (running += weight(y) / total));
  return (x) => (x < -reach ? 0 : x >= reach ? 1 : cdf.get(x)!);
}

const within = (ones: number, p: number) =>
  expect(Math.abs(ones - N * p)).toBeLessThan(4.5 * Math.sqrt(N * p * (1 - p)));

// σ² as the noise plan writes it (rounded up to the 10⁻⁹ grid), and a whole one.
const VARIANCES = [
  { num: 9n, den: 1n },
  { num: 9_000_000_001n, den: 1_000_000_000n },
  { num: 152_415_787_501n, den: 1_000_000_000n }, // σ ≈ 390
  { num: 500_000_001n, den: 1_000_000_000n }, // σ ≈ 0.71: over half the mass at 0
];
const sigma2 = (v: { num: bigint; den: bigint }) => Number(v.num) / Number(v.den);

describe('exact discrete Gaussian: the acceptance step by 32-bit words', () => {
  it.each([
    [0n, 7n],
    [1n, 3n],
    [2n ** 32n - 1n, 2n ** 32n], // an expansion whose first word decides nearly always
    [1n, 2n ** 32n], // 2^-32: an expansion that ends after one word
    [123_456_789_123_456_789n, 987_654_321_987_654_321_987n],
    [5n, 5n],
  ])('Bernoulli(%s / %s) has that probability', (num, den) => {
    const random = seededRandom(Number(num % 1000n) + 1);
    let ones = 0;
    for (let i = 0; i < N; i++) if (bernoulliRatioByWords(random, num, den)) ones++;
    const p = Number(num) / Number(den);
    if (p === 0 || p === 1) expect(ones).toBe(N * p);
    else within(ones, p);
  });

  it('Bernoulli(exp(−γ)) has probability exp(−γ), for γ below 1, above 1 and on a 10^38 denominator', () => {
    const random = seededRandom(11);
    for (const gamma of [
      { num: 1n, den: 2n },
      { num: 5n, den: 2n },
      { num: 3n * 10n ** 38n + 17n, den: 10n ** 38n },
    ]) {
      let ones = 0;
      for (let i = 0; i < N; i++) if (bernoulliExpMinusByWords(random, gamma)) ones++;
      within(ones, Math.exp(-Number(gamma.num) / Number(gamma.den)));
    }
  });

  it('bad ratios are refused', () => {
    const random: RandomSource = seededRandom(1);
    expect(() => bernoulliRatioByWords(random, 3n, 2n)).toThrow(RangeError);
    expect(() => bernoulliRatioByWords(random, 1n, 0n)).toThrow(RangeError);
    expect(() => bernoulliExpMinusByWords(random, { num: -1n, den: 2n })).toThrow(RangeError);
  });

  it.each(VARIANCES)('the sampler has the exact law at σ² = $num/$den', (variance) => {
    const random = seededRandom(Number(variance.num % 10_000n));
    const samples = Array.from({ length: N }, () => Number(sampleDiscreteGaussian(random, variance)));
    const { chi2, df } = goodnessOfFit(samples, discreteGaussianCdf(sigma2(variance)));
    expect(df).toBeGreaterThanOrEqual(2);
    expect(chi2).toBeLessThan(chiSquareCritical(df, 0.001));
  });

  it.each(VARIANCES.slice(0, 3))(
    'the sampler and the BigInt baseline draw the same law at σ² = $num/$den',
    (variance) => {
      const seed = Number(variance.num % 9_999n);
      const draw = (sample: typeof gaussianInBigInt, random: RandomSource) =>
        Array.from({ length: N }, () => Number(sample(random, variance)));
      const edges = quantileEdges(discreteGaussianCdf(sigma2(variance)));
      const { chi2, df } = sameLaw(
        draw(sampleDiscreteGaussian, seededRandom(seed)),
        draw(gaussianInBigInt, seededRandom(seed + 1)),
        edges,
      );
      expect(chi2).toBeLessThan(chiSquareCritical(df, 0.001));
    },
  );

  it('the check rejects a law 10% wider (it has teeth)', () => {
    const random = seededRandom(3);
    const samples = Array.from({ length: N }, () =>
      Number(sampleDiscreteGaussian(random, { num: 121n, den: 10n })),
    );
    const { chi2, df } = goodnessOfFit(samples, discreteGaussianCdf(10)); // σ² 12.1 tested as 10
    expect(chi2).toBeGreaterThan(chiSquareCritical(df, 0.001));
  });
});
