/** Who decided: the principal's party id and the Ed25519 key its signed decision verified under. */
export interface Voter {
  principal: string;
  /** base64url public key, as verified by the coordinator against the party registry. */
  key: string;
}

/** One principal's decision on something that needs several distinct principals to agree. */
export interface Vote<D> extends Voter {
  decision: D;
  at: number;
}

/** Throws with the reason when this principal, or this key under another name, may not vote (again). */
export function assertNewVoter<D>(
  votes: readonly Vote<D>[],
  voter: Pick<Voter, 'principal'> & Partial<Voter>,
): void {
  if (votes.some((vote) => vote.principal === voter.principal))
    throw new Error(`${voter.principal} has already decided; a second decision needs another principal`);
  if (voter.key !== undefined && votes.some((vote) => vote.key === voter.key))
    throw new Error(
      `the key that signed ${voter.principal}'s decision has already decided; a second needs another key`,
    );
}

/**
 * The decision `required` distinct principals agree on, if any. Principals are counted by the key
 * their decision verified under, so one key never counts twice whatever names reach the workflow.
 * Decisions are compared by `keyOf`, so a split at 40 % and one at 60 % are different decisions.
 */
export function agreedDecision<D>(
  votes: readonly Vote<D>[],
  keyOf: (decision: D) => string,
  required = 2,
): D | undefined {
  const byDecision = new Map<string, Set<string>>();
  for (const vote of votes) {
    const decision = keyOf(vote.decision);
    const keys = byDecision.get(decision) ?? new Set<string>();
    keys.add(vote.key);
    byDecision.set(decision, keys);
    if (keys.size >= required) return vote.decision;
  }
  return undefined;
}
