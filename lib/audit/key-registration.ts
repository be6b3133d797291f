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
 * releases with. `sequence` counts the earlier registrations of the same subject, so a rotation back to
 * an earlier key is a new entry, and the newest registration is the one with the highest sequence.
 */
export const keyPurpose = z.enum(['party', 'perimeter']);
export type KeyPurpose = z.infer<typeof keyPurpose>;

export const keyRegistration = z.strictObject({
  type: z.literal('tusk.key-registration/v1'),
  partyId: z.string().min(1),
  role: partyRole,
  purpose: keyPurpose,
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  sequence: z.number().int().min(0),
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
  { ok: true; head: SignedTreeHead; registrations: KeyRegistration[] } | { ok: false; reason: string };

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
  const registrations: KeyRegistration[] = [];
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
    registrations.push(registration);
  }
  registrations.sort((a, b) => a.sequence - b.sequence);
  // Sequences count from 0 without gaps: a registration left out of the middle shows.
  const gap = registrations.findIndex((r, i) => r.sequence !== i);
  if (gap >= 0) return { ok: false, reason: `registration ${gap} of ${subject} is missing from the answer` };
  return { ok: true, head: answer.treeHead, registrations };
}

/** The saved head must be a prefix of the new one (or the same head): anything else is a forked log. */
function checkSavedHead(saved: SignedTreeHead, answer: KeyRegistrations): SignatureCheck {
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
