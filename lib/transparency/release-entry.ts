import { z } from 'zod';
import { canonicalHash, canonicalJson, sha256Ref } from '../canonical-json';
import { verifyInclusion } from './merkle';
import { checkSavedHead } from './key-registration';
import { checkDocumentSignature, signedOf, type SignatureCheck } from './signed-document';
import {
  checkTreeHead,
  consistencyProofResponse,
  entryLeafHash,
  signedTreeHead,
  type LogEntry,
  type SignedTreeHead,
} from './tree-head';

/**
 * A perimeter's release as the transparency log holds it: under a lookup key only the deal's parties
 * can compute (the terms hash covers the payer's random nonce), the digest of the signed release
 * statement, nothing else. Another reader of the log learns that something was released, and when;
 * not for whom, by whom, or what. Settlement looks the key up before it refunds a deal nobody showed it
 * delivered (activities/settlement/refund-proof.ts), so an operator who withheld the delivery from the
 * workflow cannot give the seller's answer back for free.
 */

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const sha256 = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/**
 * The lookup key of one seller's releases under one deal's signed terms: H("tusk release" ‖ seller ‖
 * deal ‖ terms hash), each part length-delimited by canonical JSON. The seller is part of it, so a
 * multi-seller deal's shares are looked up one seller at a time.
 */
export function releaseLookupKey(release: { sellerId: string; dealId: string; termsHash: string }): string {
  const digest = sha256Ref(
    canonicalJson(['tusk release', release.sellerId, release.dealId, release.termsHash]),
  );
  return digest.slice('sha256:'.length);
}

/**
 * What the log holds under lookup keys: a perimeter's `release` (its digest only), or a sponsor's
 * signed `extension` of a grant milestone's deadline (kept beside its leaf and served with it, so
 * settlement can check the sponsor's signature on an extension the workflow never showed it).
 */
export const lookedUpKind = z.enum(['release', 'extension']);
export type LookedUpKind = z.infer<typeof lookedUpKind>;

/** The log entry of a looked-up statement: its lookup key as the subject, the statement's digest. */
export const lookedUpEntry = (kind: LookedUpKind, lookupKey: string, statementDigest: string): LogEntry => ({
  type: 'tusk.log-entry/v1',
  kind,
  dealId: `${kind}:${lookupKey}`,
  digest: statementDigest,
});

/**
 * The releases a perimeter logs: those a buyer's refund could give back for free once its `notAfter`
 * passed (a deal's answer, a private selection's, a multi-seller share's contribution). A subscription
 * period is refunded only on refusals of every run, and a milestone verdict moves no refund.
 */
export const LOGGED_RELEASE_KINDS: ReadonlySet<string> = new Set([
  'sealed_table',
  'he_selection',
  'he_contribution',
]);

/** The log entry of a release. */
export const releaseEntry = (lookupKey: string, statementDigest: string) =>
  lookedUpEntry('release', lookupKey, statementDigest);

/**
 * The lookup key of a grant's deadline extensions: H("tusk extension" ‖ grant ‖ terms hash). Only the
 * grant's parties know the terms hash (it covers the sponsor's nonce).
 */
export function extensionLookupKey(grant: { grantId: string; termsHash: string }): string {
  return sha256Ref(canonicalJson(['tusk extension', grant.grantId, grant.termsHash])).slice('sha256:'.length);
}

/** The digest a release statement is logged under (the whole signed statement, signature included). */
export const releaseStatementDigest = (statement: unknown) => canonicalHash(statement);

/** What a perimeter asks the log to append. */
export const releaseAppendRequest = z.strictObject({ lookupKey: hex32, digest: sha256 });
export type ReleaseAppendRequest = z.infer<typeof releaseAppendRequest>;

/** One logged statement with its inclusion proof under the answer's head (an extension's document too). */
export const loggedRelease = z.strictObject({
  digest: sha256,
  leafIndex: z.number().int().min(0),
  path: z.array(hex32),
  document: z.unknown().optional(),
});
export type LoggedRelease = z.infer<typeof loggedRelease>;

/**
 * The operator's signed word on what the log holds under a lookup key at one size: an answer that
 * leaves out a release the perimeter holds an inclusion proof for is then a signed, provable lie.
 */
export const releaseLookupBody = z.strictObject({
  type: z.literal('tusk.release-lookup/v1'),
  kind: lookedUpKind,
  lookupKey: hex32,
  treeSize: z.number().int().min(0),
  leafIndexes: z.array(z.number().int().min(0)),
});
export type ReleaseLookupBody = z.infer<typeof releaseLookupBody>;

/** The log's answer to a lookup (and to an append: the entry's own proof among them). */
export const releaseLookup = z.strictObject({
  lookupKey: hex32,
  treeHead: signedTreeHead,
  releases: z.array(loggedRelease),
  consistency: consistencyProofResponse,
  statement: signedOf(releaseLookupBody),
});
export type ReleaseLookup = z.infer<typeof releaseLookup>;

export type ReleaseLookupCheck =
  { ok: true; head: SignedTreeHead; releases: LoggedRelease[] } | { ok: false; reason: string };

/**
 * Checks a lookup answer: the head and the statement are the operator's (pinned key), the head extends
 * the one the asker saved, the statement names this key at this head and exactly these leaves, and each
 * release is in the log under that head.
 */
export function checkReleaseLookup(
  answer: ReleaseLookup,
  lookupKey: string,
  operatorPublicKey: string,
  saved?: SignedTreeHead,
  kind: LookedUpKind = 'release',
): ReleaseLookupCheck {
  const head = checkTreeHead(answer.treeHead, operatorPublicKey);
  if (!head.ok) return head;
  const fork = saved ? checkSavedHead(saved, answer) : { ok: true as const };
  if (!fork.ok) return fork;
  const statement = statementProblem(answer, lookupKey, operatorPublicKey, kind);
  if (!statement.ok) return statement;
  for (const release of answer.releases) {
    if (release.document !== undefined && canonicalHash(release.document) !== release.digest)
      return { ok: false, reason: `the document at leaf ${release.leafIndex} is not the one logged` };
    const included = verifyInclusion(
      release.leafIndex,
      answer.treeHead.body.treeSize,
      entryLeafHash(lookedUpEntry(kind, lookupKey, release.digest)),
      release.path.map((hex) => Buffer.from(hex, 'hex')),
      Buffer.from(answer.treeHead.body.rootHash, 'hex'),
    );
    if (!included)
      return {
        ok: false,
        reason: `the release at leaf ${release.leafIndex} is not in the log's signed head`,
      };
  }
  return { ok: true, head: answer.treeHead, releases: answer.releases };
}

function statementProblem(
  answer: ReleaseLookup,
  lookupKey: string,
  operatorPublicKey: string,
  kind: LookedUpKind,
): SignatureCheck {
  const signature = checkDocumentSignature(answer.statement, operatorPublicKey);
  if (!signature.ok) return { ok: false, reason: `release lookup: ${signature.reason}` };
  const { body } = answer.statement;
  const indexes = answer.releases.map((release) => release.leafIndex);
  if (
    body.kind !== kind ||
    body.lookupKey !== lookupKey ||
    answer.lookupKey !== lookupKey ||
    body.treeSize !== answer.treeHead.body.treeSize ||
    canonicalJson(body.leafIndexes) !== canonicalJson(indexes)
  )
    return { ok: false, reason: 'the signed lookup statement does not say what the answer holds' };
  return { ok: true };
}
