import { z } from 'zod';
import { canonicalHash } from '../canonical-json';
import { partyRole } from '../parties';
import { verifyInclusion } from './merkle';
import type { SignatureCheck } from './signed-document';
import {
  checkConsistency,
  checkTreeHead,
  consistencyProofResponse,
  entryLeafHash,
  signedTreeHead,
  type LogEntry,
  type SignedTreeHead,
} from './tree-head';

/**
 * A key registration as the transparency log holds it: which key speaks for which party. `party` is the
 * key a party signs requests and terms with; `perimeter` is the key a seller's perimeter signs what it
 * releases with; `perimeter-sealing` is the X25519 key drafts are sealed to for that perimeter alone
 * (query-policies/sealed-draft.ts). `sequence` counts the earlier registrations of the same subject, so a rotation back to
 * an earlier key is a new entry, and the newest registration is the one with the highest sequence.
 */
export const keyPurpose = z.enum(['party', 'perimeter', 'perimeter-sealing']);
export type KeyPurpose = z.infer<typeof keyPurpose>;

export const keyRegistration = z.strictObject({
  type: z.literal('tusk.key-registration/v1'),
  partyId: z.string().min(1),
  role: partyRole,
  purpose: keyPurpose,
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  sequence: z.number().int().min(0),
  /**
   * When the log appended it (ms since the epoch, the operator's clock): the key speaks for the party
   * from then until its successor's `registeredAt`. Absent in registrations logged before it existed.
   */
  registeredAt: z.number().int().min(0).optional(),
});
export type KeyRegistration = z.infer<typeof keyRegistration>;

/** The log's subject for a party's keys of one purpose (the entry's `dealId` column). */
export const keySubject = (partyId: string, purpose: KeyPurpose) => `key:${purpose}:${partyId}`;

export const registrationEntry = (registration: KeyRegistration): LogEntry => ({
  type: 'tusk.log-entry/v1',
  kind: 'key-registration',
  dealId: keySubject(registration.partyId, registration.purpose),
  digest: canonicalHash(registration),
});

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * Every registration of one subject, each with its inclusion proof up to one signed head, and the
 * consistency proof from the head the asker saved (`since`) to that head.
 */
export const keyRegistrations = z.strictObject({
  subject: z.string(),
  treeHead: signedTreeHead,
  registrations: z.array(
    z.strictObject({
      registration: keyRegistration,
      leafIndex: z.number().int().min(0),
      path: z.array(hex32),
    }),
  ),
  consistency: consistencyProofResponse,
});
export type KeyRegistrations = z.infer<typeof keyRegistrations>;

export type RegistrationsCheck =
  | { ok: true; head: SignedTreeHead; registrations: KeyRegistration[]; periods: KeyPeriod[] }
  | { ok: false; reason: string };

/**
 * Checks an answer about a subject's keys: the head is the operator's (pinned key), it extends the head
 * the asker saved (no fork, no rollback), and every registration is in the log under that head.
 * Returns the registrations newest last. What it cannot show is that no other registration of the
 * subject exists: that is what the owner's `key check` and an auditor's full scan are for.
 */
export function checkKeyRegistrations(
  answer: KeyRegistrations,
  subject: string,
  operatorPublicKey: string,
  saved?: SignedTreeHead,
): RegistrationsCheck {
  const head = checkTreeHead(answer.treeHead, operatorPublicKey);
  if (!head.ok) return head;
  const fork = saved ? checkSavedHead(saved, answer) : { ok: true as const };
  if (!fork.ok) return fork;
  const registrations: { registration: KeyRegistration; leafIndex: number }[] = [];
  for (const { registration, leafIndex, path } of answer.registrations) {
    const entry = registrationEntry(registration);
    if (entry.dealId !== subject)
      return { ok: false, reason: `a registration of ${entry.dealId} was given for ${subject}` };
    const included = verifyInclusion(
      leafIndex,
      answer.treeHead.body.treeSize,
      entryLeafHash(entry),
      path.map((hex) => Buffer.from(hex, 'hex')),
      Buffer.from(answer.treeHead.body.rootHash, 'hex'),
    );
    if (!included)
      return { ok: false, reason: `the registration at leaf ${leafIndex} is not in the log's signed head` };
    registrations.push({ registration, leafIndex });
  }
  registrations.sort((a, b) => a.registration.sequence - b.registration.sequence);
  // Sequences count from 0 without gaps: a registration left out of the middle shows.
  const gap = registrations.findIndex((r, i) => r.registration.sequence !== i);
  if (gap >= 0) return { ok: false, reason: `registration ${gap} of ${subject} is missing from the answer` };
  const disorder = registrations.findIndex((r, i) => i > 0 && r.leafIndex < registrations[i - 1]!.leafIndex);
  if (disorder >= 0)
    return { ok: false, reason: `registration ${disorder} of ${subject} is logged before its predecessor` };
  return {
    ok: true,
    head: answer.treeHead,
    registrations: registrations.map((r) => r.registration),
    periods: keyPeriods(registrations),
  };
}

/**
 * How long a key spoke for its party: from its registration to the next registration of the same
 * subject (a rotation, or a retirement of the key by another), as log positions [fromLeaf, untilLeaf)
 * and, where the log recorded them, times [fromTime, untilTime). The newest registration is current.
 */
export interface KeyPeriod {
  registration: KeyRegistration;
  fromLeaf: number;
  untilLeaf?: number;
  fromTime?: number;
  untilTime?: number;
  current: boolean;
}

/** Each registration's period; `registrations` oldest first, as `checkKeyRegistrations` orders them. */
export function keyPeriods(
  registrations: readonly { registration: KeyRegistration; leafIndex: number }[],
): KeyPeriod[] {
  return registrations.map(({ registration, leafIndex }, i) => {
    const successor = registrations[i + 1];
    const fromTime = registration.registeredAt;
    const untilTime = successor?.registration.registeredAt;
    return {
      registration,
      fromLeaf: leafIndex,
      ...(successor ? { untilLeaf: successor.leafIndex } : {}),
      ...(fromTime !== undefined ? { fromTime } : {}),
      ...(untilTime !== undefined ? { untilTime } : {}),
      current: !successor,
    };
  });
}

/**
 * Whether the key of `period` spoke for its party at `time`. A registration logged without a time
 * counts from the log's start; a retired key whose successor carries no time is not valid at any
 * time, since when it stopped is unknown.
 */
export function periodCovers(period: KeyPeriod, time: number): boolean {
  if (period.fromTime !== undefined && time < period.fromTime) return false;
  if (period.current) return true;
  return period.untilTime !== undefined && time < period.untilTime;
}

/**
 * Whether the key of `period` was its subject's registered key at log position `leaf`: registered at
 * an earlier leaf, and not yet succeeded (a rotation or retirement at or before `leaf` ends it). The
 * log's order is the one time neither the operator (append-only, consistency-checked heads) nor a
 * signer holding a retired key can move: a statement appended after the rotation is after it.
 */
export function periodHoldsLeaf(period: KeyPeriod, leaf: number): boolean {
  return period.fromLeaf < leaf && (period.untilLeaf === undefined || leaf < period.untilLeaf);
}

/** The registration that spoke for its subject at log position `leaf`, if any registration did. */
export const registrationAtLeaf = (periods: readonly KeyPeriod[], leaf: number) =>
  periods.find((period) => periodHoldsLeaf(period, leaf))?.registration;

/** The saved head must be a prefix of the new one (or the same head): anything else is a forked log. */
/** That an answer's head extends the head the asker saved: no rollback, no fork. */
export function checkSavedHead(
  saved: SignedTreeHead,
  answer: Pick<KeyRegistrations, 'treeHead' | 'consistency'>,
): SignatureCheck {
  const older = saved.body;
  const newer = answer.treeHead.body;
  if (older.treeSize > newer.treeSize)
    return {
      ok: false,
      reason: `the log's head (size ${newer.treeSize}) is older than one already seen (size ${older.treeSize})`,
    };
  if (older.treeSize === newer.treeSize)
    return older.rootHash === newer.rootHash
      ? { ok: true }
      : { ok: false, reason: `two different logs of size ${older.treeSize} were signed: the log forked` };
  return checkConsistency(older, newer, answer.consistency);
}

/** The subject's current key: its newest registration's, if it has one. */
export const currentRegistration = (registrations: readonly KeyRegistration[]) =>
  registrations.reduce<KeyRegistration | undefined>(
    (newest, r) => (newest === undefined || r.sequence > newest.sequence ? r : newest),
    undefined,
  );
