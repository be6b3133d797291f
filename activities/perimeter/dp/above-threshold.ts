import { dividedByDecimal } from '../../../query-policies/noise-scale';
import { drawNoise } from './noise';
import type { RandomSource } from './random-source';

/**
 * AboveThreshold, the sparse vector technique's core (Dwork & Roth 2014, Algorithm 1 and Theorem
 * 3.23): the threshold is perturbed once per run, each query's answer is perturbed afresh, and the
 * run halts at the first answer above the noisy threshold. The whole run, however many queries
 * fell below, is ε-DP for queries of sensitivity Δ, with Laplace noise of scale 2Δ/ε on the threshold
 * and 4Δ/ε on each query. The discrete Laplace has the same density-ratio bound per unit of shift as
 * the continuous one, which is all the proof uses. Both scales are exact rationals (ε read as the
 * decimal the template wrote), never rounded.
 */
export const thresholdNoiseScale = (sensitivity: number, epsilon: number) =>
  dividedByDecimal(2n * BigInt(sensitivity), epsilon);
export const queryNoiseScale = (sensitivity: number, epsilon: number) =>
  dividedByDecimal(4n * BigInt(sensitivity), epsilon);

export function drawThresholdNoise(random: RandomSource, sensitivity: number, epsilon: number): bigint {
  return drawNoise(random, 'discrete_laplace', thresholdNoiseScale(sensitivity, epsilon));
}

/** One query of a run: above the (already perturbed) threshold or not. */
export function isAboveThreshold(
  random: RandomSource,
  value: bigint,
  threshold: number,
  thresholdNoise: bigint,
  sensitivity: number,
  epsilon: number,
): boolean {
  const noisy = value + drawNoise(random, 'discrete_laplace', queryNoiseScale(sensitivity, epsilon));
  return Number(noisy) >= threshold + Number(thresholdNoise);
}
