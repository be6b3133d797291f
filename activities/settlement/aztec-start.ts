import { aztecPaths, readDeployment, readEscrowSecret } from '../../contracts/deployment';
import { connectToNode } from '../../contracts/node';
import { loadAztecSdk } from '../../contracts/sdk';
import { bindSettlementContracts } from '../../contracts/settlement-contracts';
import { openTestAccountWallet } from '../../contracts/wallets';
import { blobStoreFromEnv } from '../../lib/blob-store-env';
import { PartyRegistry } from '../../lib/parties';
import { AztecSettlement } from './aztec-settlement';
import { type LandedReport, SettlementTransactions } from './aztec-transactions';
import { TxJournal } from './tx-journal';

export interface AztecSettlementOptions {
  tuskHome: string;
  blobDir: string;
  partiesFile: string;
  journalDir: string;
  /** Overrides the node URL the deployment names. */
  nodeUrl?: string;
  /** Where each landed transaction is reported (the worker's log). */
  reportLanded?: LandedReport;
}

/**
 * Connects the settlement worker to Aztec: the operator's wallet (in memory, rebuilt from the chain on
 * every start), the deployed Token and receipt NFT, and the escrow master secret.
 */
export async function startAztecSettlement(
  options: AztecSettlementOptions,
): Promise<{ settlement: AztecSettlement; summary: string; stop(): Promise<void> }> {
  // The SDK's loggers read LOG_LEVEL when they load: keep its per-transaction chatter out of the log.
  process.env.LOG_LEVEL ??= 'warn';
  const sdk = await loadAztecSdk();
  const paths = aztecPaths(options.tuskHome);
  const deployment = await readDeployment(paths.deployment);
  const escrowMaster = await readEscrowSecret(paths.escrowSecret).catch((error: Error) => {
    throw new Error(`cannot read the escrow master secret at ${paths.escrowSecret}: ${error.message}`);
  });
  const url = options.nodeUrl ?? deployment.nodeUrl;
  const node = await connectToNode(sdk, url);
  const operator = await openTestAccountWallet(sdk, node, deployment.operator.testAccount);
  if (operator.address.toString() !== deployment.operator.address)
    throw new Error('the operator account does not match the deployment file');
  const contracts = await bindSettlementContracts(sdk, node, operator.wallet, deployment);
  const parties = () => PartyRegistry.load(options.partiesFile);
  // Senders first, before anything syncs: a wallet that already synced a block would not look again
  // for notes of a sender registered later until the next block.
  for (const party of (await parties()).all())
    if (party.aztecAddress)
      await operator.wallet.registerSender(sdk.AztecAddress.fromString(party.aztecAddress));
  const transactions = new SettlementTransactions(
    sdk,
    node,
    operator.wallet,
    new TxJournal(options.journalDir),
    blobStoreFromEnv(options.blobDir),
    options.reportLanded,
  );
  const settlement = new AztecSettlement({
    sdk,
    wallet: operator.wallet,
    operator: operator.address,
    contracts,
    escrowMaster,
    parties,
    transactions,
  });
  return {
    settlement,
    summary: `aztec at ${url}, token ${deployment.token.slice(0, 10)}…, operator ${deployment.operator.address.slice(0, 10)}…`,
    stop: () => operator.wallet.stop(),
  };
}
