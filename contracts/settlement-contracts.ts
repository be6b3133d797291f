import type { SettlementDeployment } from './deployment';
import type { AztecAddress, AztecNode, AztecSdk, NftContract, TokenContract, Wallet } from './sdk';

export interface SettlementContracts {
  token: TokenContract;
  receipts: NftContract;
}

/**
 * Binds a wallet to the deployed Token and receipt NFT (registering their published instances), after
 * checking that the deployment belongs to the network the node serves: a local network forgets
 * everything when it stops, and a deployment file outlives it.
 */
export async function bindSettlementContracts(
  sdk: AztecSdk,
  node: AztecNode,
  wallet: Wallet,
  deployment: SettlementDeployment,
): Promise<SettlementContracts> {
  const info = await node.getNodeInfo();
  const stale = () =>
    new Error(
      `the settlement contracts in the deployment (${deployment.deployedAt}) are not on the network at ` +
        `${deployment.nodeUrl}: a local network loses its state when it stops. Run npm run aztec:deploy`,
    );
  if (info.rollupVersion !== deployment.rollupVersion || info.l1ChainId !== deployment.l1ChainId)
    throw stale();
  const bind = async <C>(
    address: string,
    contract: { artifact: object; at(address: AztecAddress, wallet: Wallet): C },
  ): Promise<C> => {
    const instance = await node.getContract(sdk.AztecAddress.fromString(address));
    if (!instance) throw stale();
    await wallet.registerContract(instance, contract.artifact);
    return contract.at(instance.address, wallet);
  };
  return {
    token: await bind(deployment.token, sdk.TokenContract),
    receipts: await bind(deployment.receipts, sdk.NFTContract),
  };
}
