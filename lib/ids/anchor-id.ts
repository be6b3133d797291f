import { createHash } from 'node:crypto';

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
