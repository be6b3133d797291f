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
  if (s <= MAX_SAFE && t <= MAX_SAFE) return laplaceInDoubles(random, Number(s), Number(t));
  return laplaceInBigInt(random, s, t);
}

/** Canonne, Kamath and Steinke's Algorithm 2, in BigInt: any scale. */
export function laplaceInBigInt(random: RandomSource, s: bigint, t: bigint): bigint {
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

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The same algorithm, step for step and draw for draw in law, on doubles holding integers below
 * 2^53 (so every comparison is exact and nothing is rounded); any intermediate that would leave
 * that range is computed in BigInt instead. About 20 times faster: no BigInt allocation per draw.
 */
export function laplaceInDoubles(random: RandomSource, s: number, t: number): bigint {
  for (;;) {
    const u = random.belowNumber(t);
    if (!bernoulliExpMinusFraction(random, u, t)) continue;
    let v = 0;
    while (bernoulliExpMinusOne(random)) v += 1;
    const y = wholeQuotient(u, t, v, s);
    const negative = random.belowNumber(2) === 1;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** floor((u + t·v) / s), exact: `%` on doubles is exact, and so is dividing out an exact multiple. */
function wholeQuotient(u: number, t: number, v: number, s: number): bigint {
  const numerator = u + t * v;
  if (Number.isSafeInteger(t * v) && Number.isSafeInteger(numerator)) {
    return BigInt((numerator - (numerator % s)) / s);
  }
  return (BigInt(u) + BigInt(t) * BigInt(v)) / BigInt(s);
}

/** Bernoulli(exp(-num/den)) for safe integers 0 ≤ num ≤ den. */
function bernoulliExpMinusFraction(random: RandomSource, num: number, den: number): boolean {
  let k = 1;
  while (bernoulliRatio(random, num, den, k)) k += 1;
  return k % 2 === 1;
}

/** Bernoulli(exp(-1)). */
const bernoulliExpMinusOne = (random: RandomSource) => bernoulliExpMinusFraction(random, 1, 1);

/** Bernoulli(num / (den·k)). */
function bernoulliRatio(random: RandomSource, num: number, den: number, k: number): boolean {
  const bound = den * k;
  if (Number.isSafeInteger(bound)) return random.belowNumber(bound) < num;
  return random.below(BigInt(den) * BigInt(k)) < BigInt(num);
}

/**
 * Discrete Gaussian with variance parameter σ² (rational): P(x) ∝ exp(-x²/(2σ²)) over the integers.
 * CKS20 Algorithm 3: a discrete Laplace proposal (the fast path), accepted with probability
 * exp(-γ) by `bernoulliExpMinusByWords`.
 */
export function sampleDiscreteGaussian(random: RandomSource, sigmaSquared: Rational): bigint {
  return discreteGaussian(random, sigmaSquared, bernoulliExpMinusByWords);
}

/** The same algorithm with its acceptance step in `bernoulliExpMinus`: the baseline it is timed and checked against. */
export function gaussianInBigInt(random: RandomSource, sigmaSquared: Rational): bigint {
  return discreteGaussian(random, sigmaSquared, bernoulliExpMinus);
}

function discreteGaussian(
  random: RandomSource,
  sigmaSquared: Rational,
  accept: (random: RandomSource, gamma: Rational) => boolean,
): bigint {
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
    if (accept(random, gamma)) return y;
  }
}

/**
 * Bernoulli(exp(-γ)) for a rational γ ≥ 0 of any size, with the law of `bernoulliExpMinus` and
 * fewer BigInt operations: exp(-γ) = exp(-1)^⌊γ⌋ · exp(-{γ}), the whole part by one division and
 * ⌊γ⌋ draws of the fast Bernoulli(exp(-1)), and each Bernoulli(r/(d·k)) of CKS20's Algorithm 1 by
 * `bernoulliRatioByWords`.
 */
export function bernoulliExpMinusByWords(random: RandomSource, gamma: Rational): boolean {
  if (gamma.num < 0n || gamma.den <= 0n) throw new RangeError('γ must be a non-negative rational');
  const whole = gamma.num / gamma.den;
  for (let i = 0n; i < whole; i++) if (!bernoulliExpMinusOne(random)) return false;
  const remainder = gamma.num - whole * gamma.den;
  let k = 1n;
  while (bernoulliRatioByWords(random, remainder, gamma.den * k)) k += 1n;
  return k % 2n === 1n;
}

const WORD = 2 ** 32;

/**
 * Bernoulli(num/den) for integers 0 ≤ num ≤ den, exactly: a uniform U in [0, 1), read 32 random
 * bits at a time, against num/den's binary expansion, computed 32 bits at a time by long division.
 * The first word where they differ decides U < num/den, whose probability is num/den; when the
 * expansion ends (remainder 0) with U's words equal so far, U ≥ num/den. Two words are read with
 * probability 2^-32; none is ever reduced modulo anything.
 */
export function bernoulliRatioByWords(random: RandomSource, num: bigint, den: bigint): boolean {
  if (num < 0n || den <= 0n || num > den) throw new RangeError('need 0 ≤ num ≤ den');
  if (num === den) return true;
  let remainder = num;
  while (remainder !== 0n) {
    const scaled = remainder << 32n;
    const digit = scaled / den;
    remainder = scaled - digit * den;
    const word = random.belowNumber(WORD);
    const expansionWord = Number(digit);
    if (word !== expansionWord) return word < expansionWord;
  }
  return false;
}

function integerSqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x -= 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}
