import type { RandomSource } from './random-source';

/**
 * Exact samplers for the discrete Laplace and discrete Gaussian distributions (Canonne, Kamath and
 * Steinke, "The Discrete Gaussian for Differential Privacy", 2020). Only integer and rational
 * arithmetic: no floating point enters the noise, so its distribution is exactly the one claimed.
 */

/** A non-negative rational number num/den. */
export interface Rational {
  num: bigint;
  den: bigint;
}

const bernoulli = (random: RandomSource, p: Rational): boolean => random.below(p.den) < p.num;

/** Bernoulli(exp(-γ)) for a rational γ ≥ 0. */
export function bernoulliExpMinus(random: RandomSource, gamma: Rational): boolean {
  if (gamma.num < 0n || gamma.den <= 0n) throw new RangeError('γ must be a non-negative rational');
  let num = gamma.num;
  const den = gamma.den;
  // exp(-γ) = exp(-1)^floor(γ) · exp(-(γ - floor γ))
  while (num > den) {
    if (!bernoulliExpMinusAtMostOne(random, { num: 1n, den: 1n })) return false;
    num -= den;
  }
  return bernoulliExpMinusAtMostOne(random, { num, den });
}

function bernoulliExpMinusAtMostOne(random: RandomSource, gamma: Rational): boolean {
  let k = 1n;
  while (bernoulli(random, { num: gamma.num, den: gamma.den * k })) k += 1n;
  return k % 2n === 1n;
}

/** Discrete Laplace with scale t/s: P(x) ∝ exp(-|x|·s/t) over the integers. s, t positive integers. */
export function sampleDiscreteLaplace(random: RandomSource, s: bigint, t: bigint): bigint {
  if (s <= 0n || t <= 0n) throw new RangeError('s and t must be positive');
  for (;;) {
    const u = random.below(t);
    if (!bernoulliExpMinus(random, { num: u, den: t })) continue;
    let v = 0n;
    while (bernoulliExpMinus(random, { num: 1n, den: 1n })) v += 1n;
    const y = (u + t * v) / s;
    const negative = random.below(2n) === 1n;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** Discrete Gaussian with variance parameter σ² (rational): P(x) ∝ exp(-x²/(2σ²)) over the integers. */
export function sampleDiscreteGaussian(random: RandomSource, sigmaSquared: Rational): bigint {
  if (sigmaSquared.num <= 0n || sigmaSquared.den <= 0n) throw new RangeError('σ² must be positive');
  const t = integerSqrt(sigmaSquared.num / sigmaSquared.den) + 1n;
  for (;;) {
    const y = sampleDiscreteLaplace(random, 1n, t);
    const absY = y < 0n ? -y : y;
    // γ = (|y| − σ²/t)² / (2σ²), over a common denominator.
    const diffNum = absY * t * sigmaSquared.den - sigmaSquared.num;
    const diffDen = t * sigmaSquared.den;
    const gamma = {
      num: diffNum * diffNum * sigmaSquared.den,
      den: diffDen * diffDen * 2n * sigmaSquared.num,
    };
    if (bernoulliExpMinus(random, gamma)) return y;
  }
}

function integerSqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x -= 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}
