import type { AztecAddress, AztecNode, AztecSdk, Field, NftContract } from './sdk';

/**
 * Anchoring a transparency-log head: the operator mints, in public, a receipt-NFT token whose id is
 * anchorId(tree size, root) (lib/transparency/anchor.ts) and keeps it public. Unlike a deal's receipt, nothing
 * about it is private: an auditor with only the node's URL can see that the id was minted.
 */
export const anchorCall = (nft: NftContract, operator: AztecAddress, anchorId: Field) =>
  nft.methods.mint(operator, anchorId);

/**
 * The public state of NFT token ids, read from the node's public storage: no wallet, no keys. A
 * receipt moved into a private set keeps `exists` but loses its public owner; an anchor keeps both.
 */
export async function publicNftStates(
  sdk: AztecSdk,
  node: AztecNode,
  contract: string,
  ids: string[],
): Promise<Record<string, { exists: boolean; publicOwner: string }>> {
  const address = sdk.AztecAddress.fromString(contract);
  const { nft_exists, public_owners } = sdk.NFTContract.storage;
  const read = async (map: { slot: Field }, id: Field) =>
    node.getPublicStorageAt('latest', address, await sdk.deriveStorageSlotInMap(map.slot.toBigInt(), id));
  const states: Record<string, { exists: boolean; publicOwner: string }> = {};
  for (const text of ids) {
    const id = sdk.Fr.fromString(text);
    const exists = !(await read(nft_exists, id)).isZero();
    const owner = await read(public_owners, id);
    states[text] = { exists, publicOwner: `0x${owner.toBigInt().toString(16).padStart(64, '0')}` };
  }
  return states;
}
