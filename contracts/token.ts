import type { AztecAddress, TokenContract } from './sdk';

/**
 * A private balance as the wallet holding `owner`'s keys sees it (`scope` is the account whose notes
 * the simulation may read: the owner itself, or an escrow the wallet holds keys for).
 */
export async function privateBalance(
  token: TokenContract,
  owner: AztecAddress,
  scope: AztecAddress = owner,
): Promise<bigint> {
  const { result } = await token.methods.balance_of_private(owner).simulate({ from: scope });
  return BigInt(result as bigint);
}
