import {
  dividedByDecimal,
  FLOAT_MARGIN,
  roundedUp,
  shownScale,
  toNumber,
  type ExactRational,
} from './noise-scale';
import { privacyCost, zcdpRhoFor, type PrivacyCost } from './privacy-cost';
import type { QueryTemplate } from './template';
import type { GroupRelease } from '../lib/released-table';

/** Which groups an answer holds: the released table's own description (lib/released-table.ts). */
export type { GroupRelease } from '../lib/released-table';

/** How much noise each released number gets, and what the answer costs, from the signed template alone. */
export interface NoisePlan {
  mechanism: QueryTemplate['privacy']['mechanism'];
  /** The answer's (ε, δ)-DP guarantee as the template states it (δ = 0 for pure ε). */
  epsilon: number;
  delta: number;
  /** What the ledger charges for one answer: pure ε, or zCDP ρ, plus partition selection's δ. */
  cost: PrivacyCost;
  /** What the sampler draws the unit count's noise with: b for Laplace, σ² for Gaussian, exactly. */
  countNoise: ExactRational;
  /** The same for each summed metric, by metric name. */
  sumNoise: Record<string, ExactRational>;
  /** The scales drawn with (b, or σ), rounded up to hundredths: for showing only. */
  countScale: number;
  sumScales: Record<string, number>;
  groupRelease: GroupRelease;
}

/**
 * One person (privacy unit) appears in at most m = maxGroupsPerUnit groups and moves each group's
 * unit count by at most 1 and each bounded sum by at most B = max(|min|, |max|). The answer's budget
 * is split evenly over its Q noised quantities (the count, and each sum/avg metric's sum):
 * - discrete Laplace: ε/Q per quantity; L1 sensitivities m and m·B; scale b = Δ₁·Q/ε. Each quantity
 *   is (ε/Q)-DP (Ghosh, Roughgarden, Sundararajan 2009; Canonne, Kamath, Steinke 2020), the answer
 *   ε-DP by basic composition.
 * - discrete Gaussian: the answer's (ε, δ) is met by ρ-zCDP with ρ = (√(ln(1/δ) + ε) − √ln(1/δ))²
 *   (the inverse of Bun & Steinke 2016, Prop. 1.3), ρ/Q per quantity; L2 sensitivities √m and √m·B;
 *   σ = Δ₂/√(2ρ/Q), since the discrete Gaussian is Δ₂²/(2σ²)-zCDP (Canonne, Kamath, Steinke 2020,
 *   Thm. 4). Valid for every ε, unlike the classic σ = Δ₂√(2 ln(1.25/δ))/ε, which needs ε < 1.
 */
export function noisePlan(template: QueryTemplate): NoisePlan {
  const summed = template.metrics.filter((metric) => metric.aggregate !== 'count_units');
  const quantities = BigInt(1 + summed.length);
  const m = BigInt(template.maxGroupsPerUnit);
  const privacy = template.privacy;
  const bound = (metric: (typeof summed)[number]) =>
    BigInt(Math.ceil(Math.max(Math.abs(metric.min), Math.abs(metric.max))));
  let noise: (perGroup: bigint) => ExactRational;
  let cost: { epsilon?: number; rho?: number };
  let delta = 0;
  switch (privacy.mechanism) {
    case 'discrete_laplace':
      // b = m·Δ·Q/ε, exactly.
      noise = (perGroup) => dividedByDecimal(m * perGroup * quantities, privacy.epsilon);
      cost = { epsilon: privacy.epsilon };
      break;
    case 'discrete_gaussian': {
      const rho = zcdpRhoFor(privacy.epsilon, privacy.delta);
      // σ² = m·Δ²·Q/(2ρ), rounded up.
      noise = (perGroup) => roundedUp(Number(m * perGroup * perGroup * quantities) / (2 * rho));
      cost = { rho };
      delta = privacy.delta;
      break;
    }
  }
  const countNoise = noise(1n);
  const sumNoise = Object.fromEntries(summed.map((metric) => [metric.name, noise(bound(metric))]));
  const groupRelease = template.groupDomain
    ? ({ kind: 'declared_domain' } as const)
    : partitionSelection(
        privacy.mechanism,
        drawnScale(privacy.mechanism, countNoise),
        template.maxGroupsPerUnit,
        privacy.selectionDelta!,
      );
  const selectionDelta = groupRelease.kind === 'partition_selection' ? groupRelease.delta : 0;
  const shown = (parameter: ExactRational) => shownScale(privacy.mechanism, parameter);
  return {
    mechanism: privacy.mechanism,
    epsilon: privacy.epsilon,
    delta: delta + selectionDelta,
    cost: privacyCost({ ...cost, delta: selectionDelta }),
    countNoise,
    sumNoise,
    countScale: shown(countNoise),
    sumScales: Object.fromEntries(Object.entries(sumNoise).map(([name, p]) => [name, shown(p)])),
    groupRelease,
  };
}

/**
 * The scale a sampler parameter draws with (b, or σ = √σ²), raised by FLOAT_MARGIN: the threshold
 * below must be computed for at least the noise actually drawn, since more noise means a fatter tail.
 */
const drawnScale = (mechanism: QueryTemplate['privacy']['mechanism'], parameter: ExactRational) =>
  (mechanism === 'discrete_laplace' ? toNumber(parameter) : Math.sqrt(toNumber(parameter))) *
  (1 + FLOAT_MARGIN);

/** What one answer on this template costs the buyer's and the dataset's budgets. */
export const answerCost = (template: QueryTemplate): PrivacyCost => noisePlan(template).cost;

/**
 * The threshold τ for private partition selection. A group that exists only because of one person
 * has a true count of 1 and is released iff 1 + noise ≥ τ; that person is in at most m such groups,
 * so δ ≤ m·P(noise ≥ τ − 1) (Korolova et al. 2009; Wilson et al. 2020; OpenDP make_laplace_threshold
 * and PipelineDP's Laplace/Gaussian thresholding take the same bound). Groups in both neighbours are
 * covered by the noise's ε (or ρ); the threshold is post-processing for them.
 * - discrete Laplace of scale b: P(X ≥ t) = q^t/(1 + q) with q = e^(−1/b), exactly;
 * - discrete Gaussian of scale σ: P(X ≥ t) ≤ e^(−t²/(2σ²)), as it is σ²-subgaussian (Canonne,
 *   Kamath, Steinke 2020, Prop. 19 and Cor. 23).
 * τ is the least whole number meeting the bound.
 */
export function partitionSelection(
  mechanism: QueryTemplate['privacy']['mechanism'],
  scale: number,
  maxGroupsPerUnit: number,
  delta: number,
): GroupRelease {
  const perGroup = delta / maxGroupsPerUnit;
  let tail: number;
  switch (mechanism) {
    case 'discrete_laplace': {
      const q = Math.exp(-1 / scale);
      tail = scale * Math.log(1 / (perGroup * (1 + q)));
      break;
    }
    case 'discrete_gaussian':
      tail = scale * Math.sqrt(2 * Math.log(1 / perGroup));
      break;
  }
  // Raised by FLOAT_MARGIN so that floating point cannot round τ below the bound.
  return {
    kind: 'partition_selection',
    threshold: 1 + Math.max(0, Math.ceil(tail * (1 + FLOAT_MARGIN))),
    delta,
  };
}
