/**
 * Settlement on Aztec, per lifecycle: how many transactions (the payers' payments included) and how
 * much wall time each takes on a local network, beside the one-time deal. The baseline is the one-time
 * deal as it settled before (escrow deployed on its own, release and receipt as two transactions),
 * measured in the same run. Every lifecycle goes through the settlement port (the Aztec adapter) and
 * pays from the payer's own wallet, as in production; the seller's and payer's balances are checked.
 *
 * Usage: npm run bench:settlement -- [--smoke] [--node URL]
 *   --smoke   one-time deal only (and its baseline): a quick check that the bench runs.
 *   Without TUSK_AZTEC_NODE_URL or --node, a local network is started for the run (about 90 s).
 * Runs on the Aztec toolchain's Node 22 (the npm script does that).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AztecSettlement } from '../activities/settlement/aztec-settlement';
import { SettlementTransactions } from '../activities/settlement/aztec-transactions';
import { TxJournal } from '../activities/settlement/tx-journal';
import { dealEscrowId, escrowId, grantEscrowId, periodEscrowId, shareEscrowId } from '../lib/ids/escrow-ids';
import { deploySettlementContracts } from '../contracts/deploy';
import { readOrCreateEscrowSecret, TEST_ACCOUNT } from '../contracts/deployment';
import { dealEscrow } from '../contracts/escrow';
import { connectToNode } from '../contracts/node';
import { loadAztecSdk } from '../contracts/sdk';
import { bindSettlementContracts } from '../contracts/settlement-contracts';
import { privateBalance } from '../contracts/token';
import { openTestAccountWallet, type AccountWallet } from '../contracts/wallets';
import { BlobStore } from '../lib/blob-store';
import { generateEd25519KeyPair } from '../lib/ed25519';
import { PartyRegistry } from '../lib/parties';
import { freeLoopbackPorts } from '../stack/launcher';
import { startAztecNetwork, type AztecNetwork } from '../scripts/lib/aztec-network';

const { values: flags } = parseArgs({
  options: { smoke: { type: 'boolean', default: false }, node: { type: 'string' } },
});
process.env.LOG_LEVEL ??= 'error';

interface Row {
  lifecycle: string;
  what: string;
  transactions: number;
  seconds: number;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tusk-bench-settlement-'));
  let network: AztecNetwork | undefined;
  try {
    let url = flags.node ?? process.env.TUSK_AZTEC_NODE_URL;
    if (!url) {
      const [port, anvilPort] = await freeLoopbackPorts(2);
      console.error('starting a local network (about 90 s)…');
      network = await startAztecNetwork({ port: port!, anvilPort: anvilPort!, dataDir: join(work, 'aztec') });
      url = network.url;
    }
    await bench(await setUp(url, work));
  } finally {
    await network?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** The operator's settlement (counting its transactions), and the payer's and seller's wallets. */
async function setUp(url: string, work: string) {
  const sdk = await loadAztecSdk();
  const node = await connectToNode(sdk, url);
  console.error('deploying the Token and the receipt NFT…');
  const deployment = await deploySettlementContracts(sdk, node, url, (line) => console.error(line));
  const wallets: AccountWallet[] = [];
  for (const index of [TEST_ACCOUNT.operator, TEST_ACCOUNT.buyer, TEST_ACCOUNT.seller])
    wallets.push(await openTestAccountWallet(sdk, node, index));
  const [operator, payer, seller] = wallets as [AccountWallet, AccountWallet, AccountWallet];
  for (const wallet of wallets)
    for (const other of wallets) await wallet.wallet.registerSender(other.address);
  const contracts = await bindSettlementContracts(sdk, node, operator.wallet, deployment);
  const payerContracts = await bindSettlementContracts(sdk, node, payer.wallet, deployment);
  const sellerContracts = await bindSettlementContracts(sdk, node, seller.wallet, deployment);
  await contracts.token.methods.mint_to_private(payer.address, 1_000_000n).send({ from: operator.address });

  const partiesFile = join(work, 'parties.json');
  const party = (id: string, role: string, address: AccountWallet) => ({
    id,
    role,
    publicKey: generateEd25519KeyPair().publicKey,
    aztecAddress: address.address.toString(),
  });
  await writeFile(
    partiesFile,
    JSON.stringify({
      parties: [
        party('payer', 'buyer', payer),
        party('seller', 'seller', seller),
        party('seller-b', 'seller', seller),
      ],
    }),
  );
  const transactions = new SettlementTransactions(
    sdk,
    node,
    operator.wallet,
    new TxJournal(join(work, 'journal')),
    new BlobStore(join(work, 'blobs')),
  );
  const counter = { sent: 0 };
  const send = transactions.send.bind(transactions);
  transactions.send = (...args) => {
    counter.sent += 1;
    return send(...args);
  };
  const escrowMaster = await readOrCreateEscrowSecret(join(work, 'escrow-master.key'));
  const settlement = new AztecSettlement({
    sdk,
    wallet: operator.wallet,
    operator: operator.address,
    contracts,
    escrowMaster,
    parties: () => PartyRegistry.load(partiesFile),
    transactions,
    pollMs: 500,
  });
  /** The payer pays privately from its own wallet; counted as one transaction. */
  const pay = async (address: string, amount: bigint) => {
    counter.sent += 1;
    await payerContracts.token.methods
      .transfer(sdk.AztecAddress.fromString(address), amount)
      .send({ from: payer.address });
  };
  const balances = async () => ({
    payer: await privateBalance(payerContracts.token, payer.address),
    seller: await privateBalance(sellerContracts.token, seller.address),
  });
  return { sdk, settlement, counter, pay, balances, operator, contracts, escrowMaster };
}

type Setup = Awaited<ReturnType<typeof setUp>>;

async function measure(
  setup: Setup,
  lifecycle: string,
  what: string,
  expected: { payer: bigint; seller: bigint },
  run: () => Promise<void>,
): Promise<Row> {
  const before = await setup.balances();
  const sentBefore = setup.counter.sent;
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const after = await setup.balances();
  const moved = { payer: after.payer - before.payer, seller: after.seller - before.seller };
  if (moved.payer !== expected.payer || moved.seller !== expected.seller)
    throw new Error(`${lifecycle}: the payer moved ${moved.payer} and the seller ${moved.seller}`);
  const row = { lifecycle, what, transactions: setup.counter.sent - sentBefore, seconds };
  console.error(`${lifecycle}: ${row.transactions} transactions, ${seconds.toFixed(1)} s`);
  return row;
}

const COMMITMENT = `sha256:${'ab'.repeat(32)}`;
const FEE_BPS = 250;

/** Opens, pays and locks one escrow as a lifecycle does. */
async function fund(setup: Setup, id: string, amount: bigint) {
  const opened = await setup.settlement.openEscrow({ dealId: id, buyerId: 'payer', amount: `${amount}` });
  await setup.pay(opened.escrowAddress, amount);
  await setup.settlement.lockEscrow({ dealId: id, buyerId: 'payer', amount: `${amount}` });
}

async function bench(setup: Setup): Promise<void> {
  const { settlement } = setup;
  const run = Date.now().toString(36);
  const rows: Row[] = [];

  rows.push(
    await measure(
      setup,
      'one-time deal, before',
      'escrow deploy; pay; release; receipt',
      { payer: -1000n, seller: 975n },
      async () => {
        // How a deal settled before: the escrow deployed in a transaction of its own, the receipt in another.
        const id = dealEscrowId(`baseline-${run}`);
        const escrow = await dealEscrow(
          setup.sdk,
          setup.operator.wallet,
          setup.operator.address,
          setup.escrowMaster,
          id,
        );
        setup.counter.sent += 1;
        await escrow.deploy.send(escrow.deployOptions);
        await fund(setup, id, 1000n);
        await settlement.releaseEscrow({
          dealId: id,
          sellerId: 'seller',
          buyerId: 'payer',
          amount: '1000',
          feeBps: FEE_BPS,
        });
        await settlement.recordReceipt({ dealId: id, buyerId: 'payer', commitment: COMMITMENT });
      },
    ),
  );
  rows.push(
    await measure(
      setup,
      'one-time deal',
      'pay; release + fee + receipt (+ escrow constructor)',
      { payer: -1000n, seller: 975n },
      async () => {
        const id = dealEscrowId(`deal-${run}`);
        await fund(setup, id, 1000n);
        await settlement.releaseEscrow({
          dealId: id,
          sellerId: 'seller',
          buyerId: 'payer',
          amount: '1000',
          feeBps: FEE_BPS,
          receiptFor: COMMITMENT,
        });
      },
    ),
  );
  if (!flags.smoke) {
    rows.push(
      await measure(setup, 'refunded deal', 'pay; refund', { payer: 0n, seller: 0n }, async () => {
        const id = dealEscrowId(`refund-${run}`);
        await fund(setup, id, 1000n);
        await settlement.refundEscrow({ dealId: id, buyerId: 'payer', amount: '1000' });
      }),
    );
    rows.push(
      await measure(
        setup,
        'multi-seller (2 sellers)',
        'pay each share; release each share',
        { payer: -1000n, seller: 976n },
        async () => {
          const shares = ['seller', 'seller-b'].map((sellerId) => ({
            sellerId,
            id: shareEscrowId(`multi-${run}`, sellerId),
          }));
          for (const share of shares) await fund(setup, share.id, 500n);
          for (const share of shares)
            await settlement.releaseEscrow({
              dealId: share.id,
              sellerId: share.sellerId,
              buyerId: 'payer',
              amount: '500',
              feeBps: FEE_BPS,
            });
        },
      ),
    );
    rows.push(
      await measure(
        setup,
        'subscription (2 periods)',
        'per period: pay; release',
        { payer: -1000n, seller: 976n },
        async () => {
          for (const period of [1, 2]) {
            const id = periodEscrowId(`sub-${run}`, period);
            await fund(setup, id, 500n);
            await settlement.releaseEscrow({
              dealId: id,
              sellerId: 'seller',
              buyerId: 'payer',
              amount: '500',
              feeBps: FEE_BPS,
            });
          }
        },
      ),
    );
    rows.push(
      await measure(
        setup,
        'grant (1 of 2 tranches met)',
        'fund; tranche; refund the rest',
        { payer: -1000n, seller: 975n },
        async () => {
          const id = grantEscrowId(`grant-${run}`);
          await fund(setup, id, 2000n);
          await settlement.releasePart({
            dealId: id,
            partId: 'm1',
            payeeId: 'seller',
            amount: '1000',
            feeBps: FEE_BPS,
          });
          await settlement.refundRemainder({ dealId: id, funderId: 'payer' });
        },
      ),
    );
    rows.push(
      await measure(
        setup,
        'dispute split (60 % seller)',
        'pay; seller + fee + buyer',
        { payer: -600n, seller: 585n },
        async () => {
          const id = dealEscrowId(`dispute-${run}`);
          await fund(setup, id, 1000n);
          await settlement.splitEscrow({
            dealId: id,
            splitId: escrowId({ kind: 'dispute', dealId: `dispute-${run}` }),
            sellerId: 'seller',
            buyerId: 'payer',
            amount: '1000',
            sellerAmount: '600',
            feeBps: FEE_BPS,
          });
        },
      ),
    );
  }
  printTable(rows);
  await setup.operator.wallet.stop();
}

function printTable(rows: Row[]): void {
  const baseline = rows[0]!;
  const header = ['lifecycle', 'transactions', 'wall time', 'vs deal before', 'what is sent'];
  const lines = rows.map((row) => [
    row.lifecycle,
    String(row.transactions),
    `${row.seconds.toFixed(1)} s`,
    `${(row.seconds / baseline.seconds).toFixed(2)}×`,
    row.what,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(format(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const line of lines) console.log(format(line));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:settlement: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
