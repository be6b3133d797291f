import { createHash } from 'node:crypto';
import { z } from 'zod';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, '32 bytes of lowercase hex');
const field = z.string().regex(/^0x00[0-9a-f]{62}$/, 'a field element: 0x00 and 62 hex digits');
const aztecHex = z.string().regex(/^0x[0-9a-f]{64}$/, '0x and 64 hex digits');

/**
 * The public id a tree head is anchored under on chain: sha256 over the size and the root, cut to 31
 * bytes so it is a field element (an NFT token id). Anyone holding a head recomputes it and looks it
 * up on the node; nothing else is needed, and no other head can map to the same id.
 */
export function anchorId(treeSize: number, rootHash: string): string {
  if (!Number.isSafeInteger(treeSize) || treeSize < 0) throw new RangeError('a tree size is a whole number');
  if (!/^[0-9a-f]{64}$/.test(rootHash)) throw new RangeError('a root hash is 32 bytes of lowercase hex');
  const digest = createHash('sha256')
    .update('tusk log anchor v1\0')
    .update(String(treeSize))
    .update('\0')
    .update(Buffer.from(rootHash, 'hex'))
    .digest();
  return `0x${Buffer.concat([Buffer.alloc(1), digest.subarray(0, 31)]).toString('hex')}`;
}

/** One anchored tree head, as the operator records it: where on chain anyone can find it. */
export const logAnchor = z.strictObject({
  treeSize: z.number().int().min(0),
  rootHash: hex32,
  /** anchorId(treeSize, rootHash): the token id minted publicly. */
  anchorId: field,
  /** The receipt NFT contract the anchor was minted in. */
  contract: aztecHex,
  txHash: aztecHex,
  blockNumber: z.number().int().min(0),
  /** Milliseconds since the epoch at which the anchor was recorded. */
  anchoredAt: z.number().int(),
});
export type LogAnchor = z.infer<typeof logAnchor>;

export const logAnchorList = z.strictObject({ anchors: z.array(logAnchor) });

/** What the chain says of one NFT token id: minted at all, and its public owner (zero once private). */
export const publicNftState = z.strictObject({ exists: z.boolean(), publicOwner: aztecHex });
export type PublicNftState = z.infer<typeof publicNftState>;
