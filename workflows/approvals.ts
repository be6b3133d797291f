/** One principal's decision on something that needs several distinct principals to agree. */
export interface Vote<D> {
  principal: string;
  decision: D;
  at: number;
}

/** Throws with the reason when this principal may not vote (again). */
export function assertNewVoter<D>(votes: readonly Vote<D>[], principal: string): void {
  if (votes.some((vote) => vote.principal === principal))
    throw new Error(`${principal} has already decided; a second decision needs another principal`);
}

/**
 * The decision `required` distinct principals agree on, if any. Decisions are compared by `keyOf`,
 * so a split at 40 % and one at 60 % are different decisions.
 */
export function agreedDecision<D>(
  votes: readonly Vote<D>[],
  keyOf: (decision: D) => string,
  required = 2,
): D | undefined {
  const byKey = new Map<string, Set<string>>();
  for (const vote of votes) {
    const key = keyOf(vote.decision);
    const principals = byKey.get(key) ?? new Set<string>();
    principals.add(vote.principal);
    byKey.set(key, principals);
    if (principals.size >= required) return vote.decision;
  }
  return undefined;
}
