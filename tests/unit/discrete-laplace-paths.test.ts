import { describe, expect, it } from 'vitest';
import { laplaceInBigInt, laplaceInDoubles } from '../../activities/perimeter/dp/discrete-samplers';
import { cryptoRandom, type RandomSource } from '../../activities/perimeter/dp/random-source';
import { dividedByDecimal } from '../../query-policies/noise-scale';
import {
  chiSquareCritical,
  discreteLaplaceCdf,
  goodnessOfFit,
  quantileEdges,
  sameLaw,
} from '../support/chi-square';
import { seededRandom } from '../support/seeded-random';

const N = 40_000;

/** The sampler's (s, t) for b = Δ/ε as the noise plan writes it: the scale is t/s. */
function scaleOf(sensitivity: number, epsilon: number) {
  const b = dividedByDecimal(BigInt(sensitivity), epsilon);
  return { s: b.den, t: b.num };
}

const fast = (random: RandomSource, s: bigint, t: bigint) =>
  Array.from({ length: N }, () => Number(laplaceInDoubles(random, Number(s), Number(t))));
const bigint = (random: RandomSource, s: bigint, t: bigint) =>
  Array.from({ length: N }, () => Number(laplaceInBigInt(random, s, t)));

// Counts (Δ = 1) and sums (Δ = 1,000) at the ε a template writes, from b = 0.4 to b ≈ 8,130.
const SCALES = [
  [1, 0.1],
  [1, 0.37],
  [1, 1],
  [1, 2.5],
  [1000, 0.37],
  [1000, 0.123],
] as const;

describe('exact discrete Laplace: the fast path and the BigInt path', () => {
  it.each(SCALES)('the fast path has the exact law at Δ = %s, ε = %s', (sensitivity, epsilon) => {
    const { s, t } = scaleOf(sensitivity, epsilon);
    const { chi2, df } = goodnessOfFit(
      fast(seededRandom(sensitivity + epsilon * 1000), s, t),
      discreteLaplaceCdf(Number(s), Number(t)),
    );
    expect(df).toBeGreaterThanOrEqual(3);
    expect(chi2).toBeLessThan(chiSquareCritical(df, 0.001));
  });

  it.each(SCALES)('the fast and BigInt paths draw the same law at Δ = %s, ε = %s', (sensitivity, epsilon) => {
    const { s, t } = scaleOf(sensitivity, epsilon);
    const edges = quantileEdges(discreteLaplaceCdf(Number(s), Number(t)));
    const seed = sensitivity * 7 + epsilon * 1000;
    const { chi2, df } = sameLaw(fast(seededRandom(seed), s, t), bigint(seededRandom(seed + 1), s, t), edges);
    expect(chi2).toBeLessThan(chiSquareCritical(df, 0.001));
  });

  it('the fast path over the OS generator has the exact law', () => {
    const { s, t } = scaleOf(1, 0.37);
    const { chi2, df } = goodnessOfFit(fast(cryptoRandom, s, t), discreteLaplaceCdf(Number(s), Number(t)));
    // A smaller p: these draws are not reproducible, so a false alarm must be rarer still.
    expect(chi2).toBeLessThan(chiSquareCritical(df, 1e-6));
  });

  it('both checks reject a law 10% wider (they have teeth)', () => {
    const { s, t } = scaleOf(1, 0.1); // b = 10
    const wider = fast(seededRandom(5), s * 10n, t * 11n); // b = 11
    const fit = goodnessOfFit(wider, discreteLaplaceCdf(Number(s), Number(t)));
    expect(fit.chi2).toBeGreaterThan(chiSquareCritical(fit.df, 0.001));
    const edges = quantileEdges(discreteLaplaceCdf(Number(s), Number(t)));
    const apart = sameLaw(wider, bigint(seededRandom(6), s, t), edges);
    expect(apart.chi2).toBeGreaterThan(chiSquareCritical(apart.df, 0.001));
  });
});
