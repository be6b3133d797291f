import { TEST_ACCOUNT, type SettlementDeployment } from './deployment';
import type { AztecNode, AztecSdk } from './sdk';
import { openTestAccountWallet, testAccountAddresses } from './wallets';

/**
 * Deploys the settlement currency (a private Token, 6 decimals, the operator as admin and minter) and
 * the receipt NFT, once per network, from the operator's account. Two transactions.
 */
export async function deploySettlementContracts(
  sdk: AztecSdk,
  node: AztecNode,
  nodeUrl: string,
  log: (line: string) => void,
): Promise<SettlementDeployment> {
  const info = await node.getNodeInfo();
  const operator = await openTestAccountWallet(sdk, node, TEST_ACCOUNT.operator);
  try {
    let started = performance.now();
    const { contract: token } = await sdk.TokenContract.deploy(
      operator.wallet,
      operator.address,
      'Tusk settlement dollar',
      'TUSD',
      6,
    ).send({ from: operator.address });
    log(`Token deployed at ${token.address.toString()} (${seconds(started)})`);
    started = performance.now();
    const { contract: receipts } = await sdk.NFTContract.deploy(
      operator.wallet,
      operator.address,
      'Tusk deal receipt',
      'TUSKR',
    ).send({ from: operator.address });
    log(`receipt NFT deployed at ${receipts.address.toString()} (${seconds(started)})`);
    return {
      nodeUrl,
      l1ChainId: info.l1ChainId,
      rollupVersion: info.rollupVersion,
      token: token.address.toString(),
      receipts: receipts.address.toString(),
      operator: { testAccount: TEST_ACCOUNT.operator, address: operator.address.toString() },
      testAccounts: await testAccountAddresses(sdk),
      deployedAt: new Date().toISOString(),
    };
  } finally {
    await operator.wallet.stop();
  }
}

export const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
