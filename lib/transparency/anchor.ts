import { z } from 'zod';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, '32 bytes of lowercase hex');
const field = z.string().regex(/^0x00[0-9a-f]{62}$/, 'a field element: 0x00 and 62 hex digits');
const aztecHex = z.string().regex(/^0x[0-9a-f]{64}$/, '0x and 64 hex digits');

/** One anchored tree head, as the operator records it: where on chain anyone can find it. */
export const logAnchor = z.strictObject({
  treeSize: z.number().int().min(0),
  rootHash: hex32,
  /** anchorId(treeSize, rootHash) (lib/ids/anchor-id.ts): the token id minted publicly. */
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
