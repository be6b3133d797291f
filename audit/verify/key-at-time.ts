import { periodCovers, type KeyPeriod } from '../../lib/transparency/key-registration';
import type { PartyKeys } from './auditor-keys';

/** Which held key made a signature, and whether it spoke for its party when the signature counted. */
export type SigningKey =
  | { kind: 'none-held' }
  | { kind: 'none-verifies' }
  | { kind: 'valid'; key: string }
  | { kind: 'retired'; key: string; period: KeyPeriod };

/**
 * The key of `known` that verifies, judged at `at` (when the history says the signature took effect).
 * Keys the auditor pinned carry no periods: the auditor vouches for them as they are. Keys from the
 * log are valid only within their period; without a time, only the current key is.
 */
export function keyThatSigned(
  known: PartyKeys | undefined,
  verifies: (publicKey: string) => boolean,
  at: number | undefined,
): SigningKey {
  if (!known || known.keys.length === 0) return { kind: 'none-held' };
  const key = known.keys.find(verifies);
  if (!key) return { kind: 'none-verifies' };
  if (!known.periods) return { kind: 'valid', key };
  const periods = known.periods.filter((p) => p.registration.publicKey === key);
  const valid = periods.some((p) => (at === undefined ? p.current : periodCovers(p, at)));
  return valid ? { kind: 'valid', key } : { kind: 'retired', key, period: periods.at(-1)! };
}

const iso = (ms: number | undefined) =>
  ms === undefined ? 'an unrecorded time' : new Date(ms).toISOString();

/** A finding's words for a signature made with a key outside its period. */
export function retiredKeyProblem(what: string, signing: { key: string; period: KeyPeriod }, at?: number) {
  const { period } = signing;
  if (period.current)
    return `${what}: signed with key ${signing.key}, registered only at ${iso(period.fromTime)} (log entry ${period.fromLeaf}), but took effect at ${iso(at)}: before its key's period`;
  const retired = `retired at ${iso(period.untilTime)} (log entry ${period.untilLeaf ?? '?'}, registration ${period.registration.sequence + 1})`;
  return `${what}: signed with key ${signing.key}, ${retired}, but took effect at ${iso(at)}: a retired key`;
}
