import type { QueryTemplate } from './template';

/** How much noise each released number gets, derived from the signed template alone. */
export interface NoisePlan {
  mechanism: QueryTemplate['privacy']['mechanism'];
  /** The whole answer's cost: what the buyer's budget is charged. */
  epsilon: number;
  /** Scale of the unit count's noise: b for Laplace, σ for Gaussian. */
  countScale: number;
  /** Scale of each summed metric's noise, by metric name. */
  sumScales: Record<string, number>;
}

/**
 * The answer's epsilon (and delta) is split evenly over the noised quantities: the unit count per
 * group, and each sum/avg metric's bounded sum. A unit touches at most `maxGroupsPerUnit` groups
 * and moves a sum by at most max(|min|, |max|) in each, which gives the L1 sensitivity (Laplace)
 * and the L2 sensitivity (Gaussian, calibrated by the classic σ = Δ₂·√(2 ln(1.25/δ))/ε).
 */
export function noisePlan(template: QueryTemplate): NoisePlan {
  const summed = template.metrics.filter((metric) => metric.aggregate !== 'count_units');
  const quantities = 1 + summed.length;
  const epsilon = template.privacy.epsilon / quantities;
  const groups = template.maxGroupsPerUnit;
  const privacy = template.privacy;
  const scale = (perGroup: number) => {
    switch (privacy.mechanism) {
      case 'discrete_laplace':
        return (groups * perGroup) / epsilon;
      case 'discrete_gaussian':
        return (
          (Math.sqrt(groups) * perGroup * Math.sqrt(2 * Math.log(1.25 / (privacy.delta / quantities)))) /
          epsilon
        );
    }
  };
  return {
    mechanism: template.privacy.mechanism,
    epsilon: template.privacy.epsilon,
    countScale: scale(1),
    sumScales: Object.fromEntries(
      summed.map((metric) => [
        metric.name,
        scale(Math.ceil(Math.max(Math.abs(metric.min), Math.abs(metric.max)))),
      ]),
    ),
  };
}
