import { sampleDiscreteGaussian, sampleDiscreteLaplace, toRational } from './discrete-samplers';
import type { NoisePlan } from '../../../query-policies/noise-plan';
import type { RandomSource } from './random-source';

/** One integer draw of the plan's mechanism at the given scale. */
export function drawNoise(random: RandomSource, mechanism: NoisePlan['mechanism'], scale: number): bigint {
  switch (mechanism) {
    case 'discrete_laplace': {
      const { num, den } = toRational(scale);
      return sampleDiscreteLaplace(random, den, num);
    }
    case 'discrete_gaussian':
      return sampleDiscreteGaussian(random, toRational(scale * scale));
  }
}
