import { createHash } from 'node:crypto';

/**
 * A receipt's public id: a hash of the result commitment and a secret salt, cut to 31 bytes so it is a
 * field element (an NFT token id). On chain it reveals nothing about the result; with the salt, anyone
 * can check that it belongs to the commitment.
 */
export function blindedReceiptId(commitment: string, salt: Buffer): string {
  if (salt.length < 16) throw new RangeError('the receipt salt must be at least 16 bytes');
  const digest = createHash('sha256')
    .update('tusk receipt v1\0')
    .update(commitment)
    .update('\0')
    .update(salt)
    .digest();
  return `0x${Buffer.concat([Buffer.alloc(1), digest.subarray(0, 31)]).toString('hex')}`;
}
