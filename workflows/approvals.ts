import { z } from 'zod';
import { refusal } from './refusals';
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

/** A counted decision as a status shows it: who, under which verified key, what and when. */
export const vote = <D extends z.ZodType>(decision: D) =>
  z.object({ principal: z.string(), key: z.string(), decision, at: z.number() });

/**
 * Throws with the reason when this principal may not cast this vote: a principal may change its
 * vote until an outcome is reached (its new vote replaces its old one), but not cast the same one
 * twice, and a key that decided under one name never votes under another.
 */
export function assertMayVote<D>(
  votes: readonly Vote<D>[],
  voter: Pick<Voter, 'principal'> & Partial<Voter>,
  decision: D,
  keyOf: (decision: D) => string,
): void {
  const own = votes.find((vote) => vote.principal === voter.principal);
  if (own && keyOf(own.decision) === keyOf(decision))
    throw refusal(
      'AlreadyDecided',
      `${voter.principal} has already decided ${keyOf(decision)}; another principal must agree`,
    );
  if (own && voter.key !== undefined && own.key !== voter.key)
    throw refusal(
      'Forbidden',
      `${voter.principal} voted under another key; a changed vote must be signed with the same key`,
    );
  if (
    voter.key !== undefined &&
    votes.some((vote) => vote.key === voter.key && vote.principal !== voter.principal)
  )
    throw refusal(
      'Forbidden',
      `the key that signed ${voter.principal}'s decision has already decided; a second needs another key`,
    );
}

/** The votes with this principal's vote cast, replacing any earlier vote of its own. */
export function castVote<D>(
  votes: readonly Vote<D>[],
  vote: Vote<D>,
): { votes: Vote<D>[]; changed: boolean } {
  const others = votes.filter((earlier) => earlier.principal !== vote.principal);
  return { votes: [...others, vote], changed: others.length !== votes.length };
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
