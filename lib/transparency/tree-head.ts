import { z } from 'zod';
import { canonicalJson } from '../canonical-json';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle';
import { checkDocumentSignature, signedOf, type SignatureCheck } from './signed-document';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, '32 bytes of lowercase hex');
const sha256Ref = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/**
 * One entry of the operator's transparency log: what was issued for which deal, by its digest. A
 * `key-registration` names a party's key instead (`dealId` is then its subject, see key-registration.ts);
 * a `release` names a perimeter's release under an opaque lookup key (release-entry.ts).
 */
export const logEntry = z.strictObject({
  type: z.literal('tusk.log-entry/v1'),
  kind: z.enum(['receipt', 'audit-bundle', 'key-registration', 'release', 'extension']),
  dealId: z.string().min(1),
  /** sha256 of the canonical JSON of the signed document's body. */
  digest: sha256Ref,
});
export type LogEntry = z.infer<typeof logEntry>;

/** The leaf hash of an entry: the leaf's bytes are the entry's canonical JSON (RFC 8785). */
export const entryLeafHash = (entry: LogEntry) => leafHash(Buffer.from(canonicalJson(entry)));

/** A signed tree head (RFC 9162 §4.10's role): the operator vouches for the log's size and root. */
export const treeHeadBody = z.strictObject({
  type: z.literal('tusk.tree-head/v1'),
  treeSize: z.number().int().min(0),
  rootHash: hex32,
  /** Milliseconds since the epoch at which the head was signed. */
  timestamp: z.number().int(),
});
export type TreeHeadBody = z.infer<typeof treeHeadBody>;
export const signedTreeHead = signedOf(treeHeadBody);
export type SignedTreeHead = z.infer<typeof signedTreeHead>;

export const inclusionProofResponse = z.strictObject({
  leafIndex: z.number().int().min(0),
  treeSize: z.number().int().min(1),
  leafHash: hex32,
  path: z.array(hex32),
  treeHead: signedTreeHead,
});
export type InclusionProofResponse = z.infer<typeof inclusionProofResponse>;

export const consistencyProofResponse = z.strictObject({
  first: z.number().int().min(0),
  second: z.number().int().min(0),
  path: z.array(hex32),
});
export type ConsistencyProofResponse = z.infer<typeof consistencyProofResponse>;

const bytes = (hex: string) => Buffer.from(hex, 'hex');

/** A signed head, checked against the operator's pinned key. */
export function checkTreeHead(head: SignedTreeHead, operatorPublicKey?: string): SignatureCheck {
  const signature = checkDocumentSignature(head, operatorPublicKey);
  return signature.ok ? signature : { ok: false, reason: `tree head: ${signature.reason}` };
}

/** That `entry` is in the log whose signed head came with the proof. */
export function checkInclusion(
  entry: LogEntry,
  proof: InclusionProofResponse,
  operatorPublicKey?: string,
): SignatureCheck {
  const head = checkTreeHead(proof.treeHead, operatorPublicKey);
  if (!head.ok) return head;
  const leaf = entryLeafHash(entry);
  if (leaf.toString('hex') !== proof.leafHash)
    return { ok: false, reason: 'the proof is for another entry than the one checked' };
  if (proof.treeHead.body.treeSize !== proof.treeSize)
    return { ok: false, reason: 'the proof is for another tree size than its signed head' };
  const ok = verifyInclusion(
    proof.leafIndex,
    proof.treeSize,
    leaf,
    proof.path.map(bytes),
    bytes(proof.treeHead.body.rootHash),
  );
  return ok
    ? { ok: true }
    : {
        ok: false,
        reason: `the inclusion proof of leaf ${proof.leafIndex} does not lead to the signed root`,
      };
}

/** That the log of `older` is a prefix of the log of `newer`: nothing was rewritten or dropped between. */
export function checkConsistency(
  older: TreeHeadBody,
  newer: TreeHeadBody,
  proof: ConsistencyProofResponse,
): SignatureCheck {
  if (proof.first !== older.treeSize || proof.second !== newer.treeSize)
    return { ok: false, reason: `the proof is for sizes ${proof.first} → ${proof.second}` };
  if (older.treeSize > newer.treeSize)
    return { ok: false, reason: `the log shrank from ${older.treeSize} to ${newer.treeSize} entries` };
  const ok = verifyConsistency(
    older.treeSize,
    newer.treeSize,
    bytes(older.rootHash),
    bytes(newer.rootHash),
    proof.path.map(bytes),
  );
  return ok
    ? { ok: true }
    : {
        ok: false,
        reason: `the log of size ${newer.treeSize} does not extend the head of size ${older.treeSize} the auditor holds: history was rewritten`,
      };
}
