/**
 * What answers cost, kept in whole units so that any number of charges adds up exactly:
 * - `microEpsilon`: pure ε (discrete Laplace answers), composed by addition (basic composition);
 * - `nanoRho`: zero-concentrated DP ρ (discrete Gaussian answers), composed by addition
 *   (Bun & Steinke 2016, Lemma 2.3);
 * - `femtoDelta`: δ spent outright (the chance that private partition selection releases a group
 *   that exists only because of one person), composed by addition.
 * Converting to whole units always rounds up, so a stored cost is never below the true one.
 */
export interface PrivacyCost {
  microEpsilon: number;
  nanoRho: number;
  femtoDelta: number;
}

/** A budget stated as (ε, δ)-DP, as sellers and regulators state them. */
export interface PrivacyBudget {
  epsilon: number;
  delta: number;
}

const MICRO = 1e6;
const NANO = 1e9;
const FEMTO = 1e15;

export const ZERO_COST: PrivacyCost = { microEpsilon: 0, nanoRho: 0, femtoDelta: 0 };

export function privacyCost(parts: { epsilon?: number; rho?: number; delta?: number }): PrivacyCost {
  // Math.max turns the -0 that Math.ceil gives for a zero part into 0.
  const units = (value: number | undefined, scale: number) =>
    Math.max(0, Math.ceil((value ?? 0) * scale - 1e-9));
  return {
    microEpsilon: units(parts.epsilon, MICRO),
    nanoRho: units(parts.rho, NANO),
    femtoDelta: units(parts.delta, FEMTO),
  };
}

export const addCosts = (a: PrivacyCost, b: PrivacyCost): PrivacyCost => ({
  microEpsilon: a.microEpsilon + b.microEpsilon,
  nanoRho: a.nanoRho + b.nanoRho,
  femtoDelta: a.femtoDelta + b.femtoDelta,
});

export const isFree = (cost: PrivacyCost) =>
  cost.microEpsilon === 0 && cost.nanoRho === 0 && cost.femtoDelta === 0;

/**
 * ρ-zCDP implies (ρ + 2·√(ρ·ln(1/δ)), δ)-DP for every δ > 0 (Bun & Steinke 2016, Proposition 1.3).
 */
export function zcdpEpsilon(rho: number, delta: number): number {
  if (rho === 0) return 0;
  if (!(delta > 0 && delta < 1)) return Number.POSITIVE_INFINITY;
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/** The largest ρ whose conversion at δ is at most ε: the inverse of zcdpEpsilon. */
export function zcdpRhoFor(epsilon: number, delta: number): number {
  const log = Math.log(1 / delta);
  // (√(L + ε) − √L)² written without the subtraction, which loses digits when ε ≪ L.
  return (epsilon / (Math.sqrt(log + epsilon) + Math.sqrt(log))) ** 2;
}

/**
 * The (ε, δ)-DP guarantee of everything charged, stated at the budget's δ. The pure-ε answers and
 * the zCDP answers are each composed in their own calculus, then the two groups by basic composition
 * (Dwork & Roth 2014, Theorem 3.16): ε = Σε + ε_zCDP(Σρ, δ_budget − Σδ), δ = δ_budget. The δ spent
 * outright by partition selection comes off the δ left for the zCDP conversion.
 */
export function spentEpsilon(total: PrivacyCost, budgetDelta: number): number {
  const deltaLeft = budgetDelta - total.femtoDelta / FEMTO;
  return total.microEpsilon / MICRO + zcdpEpsilon(total.nanoRho / NANO, deltaLeft);
}

/** Whether a total cost stays inside an (ε, δ) budget. */
export function withinBudget(total: PrivacyCost, budget: PrivacyBudget): boolean {
  if (total.femtoDelta / FEMTO > budget.delta) return false;
  return spentEpsilon(total, budget.delta) <= budget.epsilon + 1e-12;
}

/** A cost as people read it: ε, ρ and δ in their own units. */
export const describeCost = (cost: PrivacyCost) => ({
  epsilon: cost.microEpsilon / MICRO,
  rho: cost.nanoRho / NANO,
  delta: cost.femtoDelta / FEMTO,
});
