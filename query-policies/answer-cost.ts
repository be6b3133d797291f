import { privacyCost, type PrivacyCost } from './privacy-cost';
import type { QueryTemplate } from './template';

/**
 * What one answer of a template costs the budgets: its signed epsilon, as pure ε. A stand-in until
 * the noise plan (query-policies/noise-plan.ts) owns the cost of each mechanism (ρ for discrete
 * Gaussian, δ for partition selection) and this file goes.
 */
export function answerCost(template: QueryTemplate): PrivacyCost {
  return privacyCost({ epsilon: template.privacy.epsilon });
}
