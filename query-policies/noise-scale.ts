/**
 * Noise parameters as exact rationals, never rounded down. A sampler draws exactly from the
 * distribution its rational names; a guarantee holds only if that rational is at least the
 * calibrated one. Two ways to get there:
 * - exactly: the discrete Laplace's b = Δ·Q/ε is a ratio of whole numbers once ε is read as the
 *   decimal the template wrote (0.1 is 1/10, not the double nearest it);
 * - rounded up: the discrete Gaussian's σ² involves logarithms and square roots, so it is computed
 *   in floating point from a ρ shrunk by a relative margin far above any rounding error, and then
 *   rounded up to the grid of 1/DENOMINATOR.
 */
export interface ExactRational {
  num: bigint;
  den: bigint;
}

/** The grid a rounded-up parameter lands on. */
const DENOMINATOR = 1_000_000_000n;

/**
 * Relative margin for what floating point computes: a few operations each off by at most half a unit
 * in the last place (about 1e-16) cannot add up to anything near 1e-9.
 */
export const FLOAT_MARGIN = 1e-9;

/** The decimal a number was written as (its shortest round-trip form), as an exact rational. */
export function decimalRational(value: number): ExactRational {
  const match = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(value));
  if (!match || !(value > 0)) throw new RangeError(`${value} is not a positive finite number`);
  const [, whole, fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText) - fraction.length;
  const digits = BigInt(whole! + fraction);
  return exponent >= 0
    ? { num: digits * 10n ** BigInt(exponent), den: 1n }
    : { num: digits, den: 10n ** BigInt(-exponent) };
}

/** Whole-number ratio a/b, a and b positive. */
export const ratio = (num: bigint, den: bigint): ExactRational => ({ num, den });

/** (whole number) / ε, exactly. */
export const dividedByDecimal = (numerator: bigint, epsilon: number): ExactRational => {
  const e = decimalRational(epsilon);
  return { num: numerator * e.den, den: e.num };
};

/**
 * A rational at least `value`, on a fixed grid. `value` comes out of floating point, so it is first
 * raised by FLOAT_MARGIN, which covers the rounding of the computation that produced it and of the
 * multiplication here; the ceiling then only ever rounds up.
 */
export function roundedUp(value: number): ExactRational {
  if (!(value > 0) || !Number.isFinite(value))
    throw new RangeError(`${value} is not a positive finite number`);
  return { num: BigInt(Math.ceil(value * (1 + FLOAT_MARGIN) * Number(DENOMINATOR))), den: DENOMINATOR };
}

export const toNumber = (value: ExactRational): number => Number(value.num) / Number(value.den);

/** The least whole c with c² ≥ n. */
function ceilSqrt(n: bigint): bigint {
  if (n <= 0n) return 0n;
  let x = BigInt(Math.ceil(Math.sqrt(Number(n))));
  while (x * x < n) x += 1n;
  while (x > 0n && (x - 1n) * (x - 1n) >= n) x -= 1n;
  return x;
}

/**
 * A noise scale to show (b for Laplace, σ for Gaussian) rounded up to hundredths, exactly: what a
 * person reads is never below what is drawn. The parameter is b itself for Laplace, σ² for Gaussian.
 */
export function shownScale(mechanism: 'discrete_laplace' | 'discrete_gaussian', parameter: ExactRational) {
  const { num, den } = parameter;
  const hundredths =
    mechanism === 'discrete_laplace'
      ? (100n * num + den - 1n) / den
      : ceilSqrt((10_000n * num + den - 1n) / den);
  return Number(hundredths) / 100;
}
