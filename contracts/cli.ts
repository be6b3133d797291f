import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deploySettlementContracts, seconds } from './deploy';
import {
  aztecPaths,
  readDeployment,
  readEscrowSecret,
  readOrCreateEscrowSecret,
  writeDeployment,
  type SettlementDeployment,
} from './deployment';
import { publicNftStates } from './anchors';
import { dealEscrow } from './escrow';
import { privateReceipts } from './receipts';
import { connectToNode } from './node';
import { loadAztecSdk, type AztecNode, type AztecSdk } from './sdk';
import { bindSettlementContracts } from './settlement-contracts';
import { privateBalance } from './token';
import { openTestAccountWallet, type AccountWallet } from './wallets';

const usage = `usage (runs on the Aztec toolchain's Node: npm run aztec -- <command>):
  deploy                                   the operator deploys the settlement Token and the receipt NFT
                                           (once per network); writes $TUSK_HOME/aztec/deployment.json
  fund <account> <amount>                  the operator mints <amount> privately to a test account
  pay <account> <escrow address> <amount>  a test account pays privately into a deal's escrow
  balances <account>... [--escrow <escrow id>]... [--sender <address>]...
                                           private balances as each account's own wallet sees them (JSON)
  receipts <account> [--sender <address>]...
                                           receipt ids the account holds privately (JSON)
  public-nft <nft address> <token id>...   whether each id was minted and its public owner, from the
                                           node's public storage (JSON); needs only --node, no deployment
  <account> is a local-network test account: 0 operator, 1 buyer, 2 seller.
  --home DIR (or TUSK_HOME), --node URL (or TUSK_AZTEC_NODE_URL, default http://127.0.0.1:8080)`;

class UsageError extends Error {}

function accountIndex(text: string | undefined): number {
  if (!text || !/^[0-9]$/.test(text))
    throw new UsageError(`an account is a test account number, got ${text}`);
  return Number(text);
}

function amountOf(text: string | undefined): bigint {
  if (!text || !/^[1-9][0-9]{0,30}$/.test(text))
    throw new UsageError(`an amount is a positive whole number, got ${text}`);
  return BigInt(text);
}

/** A test account's wallet, bound to the settlement contracts, seeing notes from the given senders. */
async function partyWallet(
  sdk: AztecSdk,
  node: AztecNode,
  deployment: SettlementDeployment,
  index: number,
  senders: string[],
) {
  const account: AccountWallet = await openTestAccountWallet(sdk, node, index);
  const contracts = await bindSettlementContracts(sdk, node, account.wallet, deployment);
  // Every test account (payer into escrows, operator minting) and each named sender (an escrow paying
  // out): registered before the first sync, so notes already on chain are found.
  for (const sender of new Set([...deployment.testAccounts, ...senders]))
    await account.wallet.registerSender(sdk.AztecAddress.fromString(sender));
  return { ...account, ...contracts };
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      home: { type: 'string' },
      node: { type: 'string' },
      escrow: { type: 'string', multiple: true },
      sender: { type: 'string', multiple: true },
    },
  });
  const [command, ...rest] = positionals;
  if (!command || !['deploy', 'fund', 'pay', 'balances', 'receipts', 'public-nft'].includes(command))
    throw new UsageError(usage);
  const home = resolve(values.home ?? process.env.TUSK_HOME ?? '.tusk');
  const paths = aztecPaths(home);
  // The SDK's loggers read LOG_LEVEL when they load; its retry warnings would bury this tool's answer.
  process.env.LOG_LEVEL ??= 'error';
  const sdk = await loadAztecSdk();

  if (command === 'deploy') {
    const url = values.node ?? process.env.TUSK_AZTEC_NODE_URL ?? 'http://127.0.0.1:8080';
    const node = await connectToNode(sdk, url);
    const started = performance.now();
    const deployment = await deploySettlementContracts(sdk, node, url, (line) => console.error(line));
    await writeDeployment(paths.deployment, deployment);
    await readOrCreateEscrowSecret(paths.escrowSecret);
    console.error(`deployed in ${seconds(started)}; wrote ${paths.deployment}`);
    console.log(JSON.stringify(deployment));
    return;
  }

  if (command === 'public-nft') {
    // An auditor's read: public state only, so no deployment file, wallet or key is needed.
    const [contract, ...ids] = rest;
    if (!contract || !/^0x[0-9a-f]{64}$/.test(contract) || ids.length === 0)
      throw new UsageError('public-nft <nft address> <token id>...');
    if (ids.some((id) => !/^0x[0-9a-f]{1,64}$/.test(id)))
      throw new UsageError('a token id is 0x and up to 64 hex digits');
    const url = values.node ?? process.env.TUSK_AZTEC_NODE_URL ?? 'http://127.0.0.1:8080';
    const node = await connectToNode(sdk, url);
    console.log(JSON.stringify(await publicNftStates(sdk, node, contract, ids)));
    return;
  }

  const deployment = await readDeployment(paths.deployment);
  const node = await connectToNode(sdk, values.node ?? process.env.TUSK_AZTEC_NODE_URL ?? deployment.nodeUrl);
  const senders = values.sender ?? [];
  switch (command) {
    case 'fund': {
      const to = deployment.testAccounts[accountIndex(rest[0])];
      if (!to) throw new UsageError(`no test account ${rest[0]}`);
      const operator = await partyWallet(sdk, node, deployment, deployment.operator.testAccount, senders);
      try {
        const started = performance.now();
        await operator.token.methods
          .mint_to_private(sdk.AztecAddress.fromString(to), amountOf(rest[1]))
          .send({ from: operator.address });
        console.error(`minted ${rest[1]} to account ${rest[0]} (${seconds(started)})`);
      } finally {
        await operator.wallet.stop();
      }
      return;
    }
    case 'pay': {
      const payer = await partyWallet(sdk, node, deployment, accountIndex(rest[0]), senders);
      try {
        const escrow = sdk.AztecAddress.fromString(rest[1] ?? '');
        const started = performance.now();
        const { receipt } = await payer.token.methods
          .transfer(escrow, amountOf(rest[2]))
          .send({ from: payer.address });
        console.error(`paid ${rest[2]} into ${rest[1]} (${seconds(started)})`);
        const txSeconds = Number(((performance.now() - started) / 1000).toFixed(1));
        console.log(JSON.stringify({ txHash: receipt.txHash.toString(), seconds: txSeconds }));
      } finally {
        await payer.wallet.stop();
      }
      return;
    }
    case 'balances': {
      const balances: Record<string, string> = {};
      const escrows: Record<string, string> = {};
      for (const index of rest.map(accountIndex)) {
        const party = await partyWallet(sdk, node, deployment, index, senders);
        try {
          balances[index] = (await privateBalance(party.token, party.address)).toString();
        } finally {
          await party.wallet.stop();
        }
      }
      if (values.escrow?.length) {
        // An escrow's notes are readable only with its keys: the operator derives them.
        const master = await readEscrowSecret(paths.escrowSecret);
        const operator = await partyWallet(sdk, node, deployment, deployment.operator.testAccount, senders);
        try {
          for (const dealId of values.escrow) {
            const escrow = await dealEscrow(sdk, operator.wallet, operator.address, master, dealId);
            escrows[dealId] = (await privateBalance(operator.token, escrow.address)).toString();
          }
        } finally {
          await operator.wallet.stop();
        }
      }
      console.log(JSON.stringify({ accounts: balances, escrows }));
      return;
    }
    case 'receipts': {
      const holder = await partyWallet(sdk, node, deployment, accountIndex(rest[0]), senders);
      try {
        console.log(JSON.stringify({ receipts: await privateReceipts(holder.receipts, holder.address) }));
      } finally {
        await holder.wallet.stop();
      }
      return;
    }
    default:
      throw new UsageError(usage);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(
      error instanceof UsageError ? error.message : `aztec: ${(error as Error).message ?? String(error)}`,
    );
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
