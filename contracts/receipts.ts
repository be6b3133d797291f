import type { AztecAddress, Field, NftContract } from './sdk';

/**
 * Minting a receipt: the operator mints the NFT whose token id is the deal's blinded receipt id, and
 * moves it into the buyer's private set, in one transaction. The id is public; who holds it is not.
 */
export function receiptCalls(
  nft: NftContract,
  operator: AztecAddress,
  buyer: AztecAddress,
  receiptId: Field,
) {
  return [nft.methods.mint(operator, receiptId), nft.methods.transfer_to_private(buyer, receiptId)];
}

/** The receipt ids (hex) a wallet holds privately, as its own wallet sees them. */
export async function privateReceipts(nft: NftContract, owner: AztecAddress): Promise<string[]> {
  const ids: string[] = [];
  for (let page = 0; ; page++) {
    const { result } = await nft.methods.get_private_nfts(owner, page).simulate({ from: owner });
    const [tokenIds, more] = result as [bigint[], boolean];
    ids.push(
      ...tokenIds
        .filter((id) => BigInt(id) !== 0n)
        .map((id) => `0x${BigInt(id).toString(16).padStart(64, '0')}`),
    );
    if (!more) return ids;
  }
}
