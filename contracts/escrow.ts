import { deriveDealSecret } from './deal-secrets';
import type { AztecAddress, AztecSdk, DeployMethod, DeployOptions, EscrowContract, Wallet } from './sdk';

/** One deal's escrow: a private-only instance of the prebuilt Escrow contract, owned by the operator. */
export interface DealEscrow {
  address: AztecAddress;
  contract: EscrowContract;
  deploy: DeployMethod<EscrowContract>;
  deployOptions: DeployOptions;
}

/**
 * The deal's escrow, registered in the operator's wallet with its secret key. Its keys and salt derive
 * from the escrow master secret and the deal id, so the address is the same in every wallet that
 * derives it, deployed or not. The wallet must hold the keys before the constructor runs: the owner
 * note is encrypted to the escrow itself.
 */
export async function dealEscrow(
  sdk: AztecSdk,
  wallet: Wallet,
  operator: AztecAddress,
  master: Buffer,
  dealId: string,
): Promise<DealEscrow> {
  const secretKey = sdk.Fr.fromBufferReduce(deriveDealSecret(master, 'escrow-secret-key', dealId));
  const salt = sdk.Fr.fromBufferReduce(deriveDealSecret(master, 'escrow-salt', dealId));
  const { publicKeys } = await sdk.deriveKeys(secretKey);
  const deploy = sdk.EscrowContract.deployWithPublicKeys(publicKeys, wallet, operator);
  // Deployer zero (universal deploy): the address depends on keys, salt and owner only.
  const instance = await deploy.getInstance({ contractAddressSalt: salt });
  await wallet.registerContract(instance, sdk.EscrowContract.artifact, secretKey);
  return {
    address: instance.address,
    contract: sdk.EscrowContract.at(instance.address, wallet),
    deploy,
    // Private only: no class or instance publication, nothing about the escrow in public state.
    deployOptions: {
      from: operator,
      contractAddressSalt: salt,
      universalDeploy: true,
      skipClassPublication: true,
      skipInstancePublication: true,
    },
  };
}

/** Payouts out of an escrow, as calls the operator's wallet proves with the escrow in scope. */
export function withdrawals(
  escrow: DealEscrow,
  token: AztecAddress,
  payouts: { to: AztecAddress; amount: bigint }[],
) {
  return payouts
    .filter((payout) => payout.amount > 0n)
    .map((payout) => escrow.contract.methods.withdraw(token, payout.amount, payout.to));
}
