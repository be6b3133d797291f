/**
 * A test of (ε, δ)-differential privacy against its definition, from samples of the attacker's view.
 *
 * Hypothesis (what a correct mechanism satisfies): for the event E and the two neighbours,
 *   p₁ = P[E | with] ≤ e^ε·p₀ + δ and p₀ ≤ e^ε·p₁ + δ, p₀ = P[E | without].
 * Estimator: the fraction of N independent answers on each neighbour in which E happened.
 * Decision: a violation is declared only if even the most favourable values inside confidence bounds
 * break the inequality. The bounds come from the Chernoff bound in its Kullback–Leibler form,
 * P[p̂ ≥ p + t] ≤ exp(−N·KL(p + t ‖ p)) (and the same below), so each one fails with probability at
 * most α; four bounds per event give a false-positive rate of at most 4α for a correct mechanism.
 */
export interface EventVerdict {
  withRate: number;
  withoutRate: number;
  violated: boolean;
}

const kl = (p: number, q: number) =>
  (p > 0 ? p * Math.log(p / q) : 0) + (p < 1 ? (1 - p) * Math.log((1 - p) / (1 - q)) : 0);

/** The Chernoff–KL confidence bound on a proportion from `hits` of `n`: below it (lower) or above. */
export function proportionBound(hits: number, n: number, alpha: number, side: 'lower' | 'upper'): number {
  const rate = hits / n;
  const limit = Math.log(1 / alpha) / n;
  let [low, high] = side === 'upper' ? [rate, 1] : [0, rate];
  for (let i = 0; i < 100; i++) {
    const middle = (low + high) / 2;
    const inside = kl(rate, Math.min(Math.max(middle, 1e-300), 1 - 1e-16)) <= limit;
    if (side === 'upper') [low, high] = inside ? [middle, high] : [low, middle];
    else [low, high] = inside ? [low, middle] : [middle, high];
  }
  return side === 'upper' ? high : low;
}

/** The decision above for one event seen `hitsWith` and `hitsWithout` times in `n` answers each. */
export function judgeEvent(
  hitsWith: number,
  hitsWithout: number,
  n: number,
  privacy: { epsilon: number; delta: number },
  alpha: number,
): EventVerdict {
  const factor = Math.exp(privacy.epsilon);
  const breaks = (a: number, b: number) =>
    proportionBound(a, n, alpha, 'lower') > factor * proportionBound(b, n, alpha, 'upper') + privacy.delta;
  return {
    withRate: hitsWith / n,
    withoutRate: hitsWithout / n,
    violated: breaks(hitsWith, hitsWithout) || breaks(hitsWithout, hitsWith),
  };
}

/** How often `event` happens in `n` answers drawn by `answer`. */
export function eventCount<T>(n: number, answer: () => T, event: (answer: T) => boolean): number {
  let hits = 0;
  for (let i = 0; i < n; i++) if (event(answer())) hits++;
  return hits;
}
