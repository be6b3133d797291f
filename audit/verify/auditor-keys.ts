import { z } from 'zod';
import type { KeyPeriod } from '../../lib/transparency/key-registration';
import { readKeyLog } from '../../lib/key-log';
import { partyRole, type PartyRole } from '../../lib/parties';
import { signedTermsSchema } from '../../lib/signed-terms';
import type { SignedBundle } from '../bundle';
import { readHistory } from '../history-json';
import { countedDecisions } from './decision-checks';

/** The keys an auditor holds for one party: every key it accepts (newest last), its role if known. */
export interface PartyKeys {
  keys: string[];
  role?: PartyRole;
  /** Where they come from, as the report names it. */
  from: string;
  /**
   * When each key spoke for the party, from the log: a signature counts only within its key's period.
   * Absent for keys the auditor pinned (it vouches for them itself).
   */
  periods?: KeyPeriod[];
}

/**
 * The keys an audit checks signatures against: what the auditor pinned, or what the transparency
 * log proves under the operator key the auditor pinned. Never the keys a bundle carries: the
 * operator makes the bundle.
 */
export interface AuditorKeys {
  parties: Record<string, PartyKeys>;
  /** Seller id → its perimeter's key. */
  perimeters: Record<string, string>;
  /**
   * Seller id → every perimeter key the log registered for it, with when each spoke for the seller:
   * a release is checked against the key valid when it was made, not only the newest.
   */
  perimeterPeriods?: Record<string, PartyKeys>;
}

const base64Key = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url Ed25519 public key');

/**
 * A keys file an auditor pins: `{ "parties": { "<id>": "<key>" | { "publicKey", "role" } | ["<key>", ...] },
 * "perimeters": { "<seller id>": "<key>" } }`.
 */
export const pinnedKeysFile = z.strictObject({
  parties: z
    .record(
      z.string(),
      z.union([
        base64Key,
        z.array(base64Key).min(1),
        z.strictObject({ publicKey: base64Key, role: partyRole.optional() }),
      ]),
    )
    .default({}),
  perimeters: z.record(z.string(), base64Key).default({}),
});
export type PinnedKeysFile = z.infer<typeof pinnedKeysFile>;

export function pinnedKeys(file: PinnedKeysFile, from: string): AuditorKeys {
  const parties = Object.fromEntries(
    Object.entries(file.parties).map(([id, entry]) => {
      if (typeof entry === 'string') return [id, { keys: [entry], from }];
      if (Array.isArray(entry)) return [id, { keys: entry, from }];
      return [id, { keys: [entry.publicKey], ...(entry.role ? { role: entry.role } : {}), from }];
    }),
  );
  return { parties, perimeters: { ...file.perimeters } };
}

/** The parties whose keys the checks need: the payer, every principal, every party the bundle names. */
export function partiesToKey(bundle: SignedBundle): { parties: string[]; sellers: string[] } {
  const input = readHistory(bundle.body.runs[0]!.history).input[0] as { terms?: unknown } | undefined;
  const terms = signedTermsSchema.safeParse(input?.terms);
  const principals = bundle.body.runs.flatMap((run) =>
    countedDecisions(run).map((d) => d.signed.statement.principal),
  );
  const parties = new Set([
    ...(terms.success ? [terms.data.signer] : []),
    ...principals.filter((p): p is string => typeof p === 'string'),
    ...bundle.body.parties.map((p) => p.id),
  ]);
  const sellers = new Set([
    ...bundle.body.templates.map((t) => t.sellerId),
    ...bundle.body.parties.filter((p) => p.role === 'seller').map((p) => p.id),
  ]);
  return { parties: [...parties], sellers: [...sellers] };
}

/**
 * The keys of every party the bundle involves, read from the transparency log through `get` (a
 * signed request) and believed only under the operator key the auditor pinned. A party already in
 * `pinned` keeps the auditor's keys. A party the log registers no key for is kept with none: a
 * signature in its name is then a finding.
 */
export async function auditorKeysFromLog(
  get: (path: string) => Promise<unknown>,
  operatorPublicKey: string,
  bundle: SignedBundle,
  pinned: AuditorKeys = { parties: {}, perimeters: {} },
): Promise<AuditorKeys> {
  const { parties, sellers } = partiesToKey(bundle);
  const keys: AuditorKeys = { parties: { ...pinned.parties }, perimeters: { ...pinned.perimeters } };
  for (const partyId of parties.filter((id) => !keys.parties[id])) {
    const { registrations, periods } = await readKeyLog(get, {
      partyId,
      purpose: 'party',
      operatorPublicKey,
    });
    const newest = registrations.at(-1);
    keys.parties[partyId] = {
      keys: registrations.map((r) => r.publicKey),
      ...(newest ? { role: newest.role } : {}),
      from: 'the transparency log',
      periods,
    };
  }
  for (const sellerId of sellers.filter((id) => !keys.perimeters[id])) {
    const { registrations, periods } = await readKeyLog(get, {
      partyId: sellerId,
      purpose: 'perimeter',
      operatorPublicKey,
    });
    const newest = registrations.at(-1);
    if (!newest) continue;
    keys.perimeters[sellerId] = newest.publicKey;
    keys.perimeterPeriods = {
      ...keys.perimeterPeriods,
      [sellerId]: { keys: registrations.map((r) => r.publicKey), from: 'the transparency log', periods },
    };
  }
  return keys;
}
