import type { KeyHistory, RegisteredKeys, ReleaseLog } from '../../lib/key-log';
import { releaseLookupKey, releaseStatementDigest } from '../../lib/transparency/release-entry';
import { registrationAtLeaf } from '../../lib/transparency/key-registration';

/** Where the perimeter key a release is judged under came from. */
export type ReleaseKeySource = 'current' | 'log-position';

export interface ReleaseKey {
  publicKey: string;
  source: ReleaseKeySource;
}

/**
 * The perimeter key a seller's release statement is judged under: the key the log registered for
 * the seller's perimeter at the release's own leaf. The perimeter appends each refundable release to
 * the log before returning it (activities/perimeter/release-logging.ts), so that leaf is when the
 * release took effect, a time neither the operator (append-only log, heads checked for consistency)
 * nor a holder of a retired key can move back: a release signed after the rotation is logged after it.
 * A seller that rotates its perimeter key after a release is still paid for it; a retired key's fresh
 * release is not.
 *
 * The current key answers first (a release signed under it counts now, as before). Only a statement
 * signed by another key is looked up: in the log under its lookup key and digest, then in the key's
 * history. A release the log does not hold, or a settlement that reads no key history, is judged under
 * the current key alone. Undefined when no key is registered at all.
 */
export async function perimeterKeyOfRelease(
  keys: RegisteredKeys & Partial<KeyHistory & ReleaseLog>,
  release: { sellerId: string; dealId: string; termsHash: string; statement: unknown },
): Promise<ReleaseKey | undefined> {
  const current = await keys.currentKey(release.sellerId, 'perimeter');
  const signedBy = (release.statement as { publicKey?: unknown } | null)?.publicKey;
  // An unsigned or malformed statement has no digest to look up: the current key refuses it.
  if (
    typeof signedBy !== 'string' ||
    signedBy === current?.publicKey ||
    !keys.loggedReleases ||
    !keys.keyPeriods
  )
    return current && { publicKey: current.publicKey, source: 'current' };
  const digest = releaseStatementDigest(release.statement);
  const logged = (await keys.loggedReleases(releaseLookupKey(release))).find((r) => r.digest === digest);
  if (!logged) return current && { publicKey: current.publicKey, source: 'current' };
  const periods = await keys.keyPeriods(release.sellerId, 'perimeter');
  const registered = registrationAtLeaf(periods, logged.leafIndex);
  // No key held the seller's perimeter at that leaf: judged (and refused) under the current one.
  if (!registered) return current && { publicKey: current.publicKey, source: 'current' };
  return { publicKey: registered.publicKey, source: 'log-position' };
}
