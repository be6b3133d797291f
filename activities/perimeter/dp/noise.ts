import { sampleDiscreteGaussian, sampleDiscreteLaplace } from './discrete-samplers';
import type { NoisePlan } from '../../../query-policies/noise-plan';
import type { ExactRational } from '../../../query-policies/noise-scale';
import type { RandomSource } from './random-source';

/**
 * One integer draw of the plan's mechanism. The parameter is exact (b for Laplace, σ² for Gaussian,
 * as the noise plan computed it, never rounded down), so the draw has exactly the calibrated law.
 */
export function drawNoise(
  random: RandomSource,
  mechanism: NoisePlan['mechanism'],
  parameter: ExactRational,
): bigint {
  switch (mechanism) {
    case 'discrete_laplace':
      // The sampler's scale is t/s.
      return sampleDiscreteLaplace(random, parameter.den, parameter.num);
    case 'discrete_gaussian':
      return sampleDiscreteGaussian(random, parameter);
  }
}
