import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { describePrivacy, openDealTable, waitForDeal } from '../sdk';
import { formatTable } from '../lib/format-table';
import { OPERATOR_ACCOUNT } from '../activities/settlement/ledger-entries';
import { blindedReceiptId } from '../lib/ids/receipt-id';
import { aztecPaths, TEST_ACCOUNT } from '../contracts/deployment';
import type { DealStatus } from '../workflows/deal/shapes';
import { startDemoChain, type DemoChain } from './lib/demo-chain';
import { auditDemoDeal } from './lib/demo-audit';
import { deployLocal, type LocalDeployment } from './lib/local-deployment';
import { startStack, type Stack } from '../stack/launcher';
import { confirmDeal } from '../lib/signed-actions';

const say = (line: string) => console.log(`• ${line}`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const SHOWN_ROWS = 15;
/** Each wallet opens and syncs its private notes: tens of seconds on a busy machine. */
const WALLETS_READING = "reading the three parties' private balances, each from its own wallet…";
const DEMO_COMPLIANCE = {
  jurisdiction: 'US',
  purpose: 'research',
  acceptedDataClasses: ['health', 'deidentified'],
};

/** Reads the three parties' balances: from the ledger, or from each party's own Aztec wallet. */
async function balances(deployment: LocalDeployment, chain?: DemoChain, escrow?: string): Promise<string> {
  if (chain) {
    const { accounts } = await chain.cli.balances({
      accounts: [TEST_ACCOUNT.buyer, TEST_ACCOUNT.seller, TEST_ACCOUNT.operator],
      senders: escrow ? [escrow] : [],
    });
    const of = (index: number) => accounts[index]?.toString() ?? '?';
    return `buyer ${of(TEST_ACCOUNT.buyer)}, seller ${of(TEST_ACCOUNT.seller)}, operator fee ${of(TEST_ACCOUNT.operator)} (private notes, each read by its owner's wallet)`;
  }
  const of = (account: string) => deployment.ledger.balanceOf(account);
  const [buyer, seller, operator] = await Promise.all([
    of('demo-buyer'),
    of(deployment.sellerId),
    of(OPERATOR_ACCOUNT),
  ]);
  return `buyer ${buyer}, seller ${seller}, operator fee ${operator}`;
}

async function runDeal(deployment: LocalDeployment, chain?: DemoChain): Promise<string> {
  const { client, resultKeyPem, resultPublicKey } = deployment.buyer;
  const { templates } = await client.get<{
    templates: { id: string; seller: string; hash: string; price: string; title: string }[];
  }>('/templates');
  const template = templates.find((t) => t.id === 'cohort-cost-by-zip3');
  if (!template) throw new Error('the demo template is not in the catalog; is its signature intact?');
  say(`buyer picks "${template.title}" (${template.hash.slice(0, 19)}…), price ${template.price}`);
  if (chain) say(WALLETS_READING);
  say(`balances before: ${await balances(deployment, chain)}`);

  const submitted = performance.now();
  const deal = await client.post<DealStatus>(
    '/deals',
    client.signed('cohort_query', {
      dealId: `demo-${randomUUID()}`,
      templateId: template.id,
      sellerId: template.seller,
      templateHash: template.hash,
      parameters: { min_age: 30, max_age: 50, sex: 'F' },
      price: template.price,
      buyerPublicKey: resultPublicKey,
      compliance: DEMO_COMPLIANCE,
    }),
  );
  let escrow: string | undefined;
  if (chain) {
    const opened = await waitForDeal(client, deal.dealId, (s) => s.escrow !== undefined || !!s.problem);
    escrow = opened.escrow?.address;
    if (!escrow) throw new Error(`the deal failed: ${opened.problem?.code}: ${opened.problem?.reason}`);
    say(`escrow opened for the deal at ${escrow.slice(0, 18)}… (${seconds(performance.now() - submitted)})`);
    const paying = performance.now();
    say('buyer opens its wallet and pays the escrow privately (a proof, then a transaction)…');
    const payment = await chain.cli.pay(TEST_ACCOUNT.buyer, escrow, template.price);
    say(
      `buyer paid ${template.price} privately into it from its own wallet: transaction ${payment.seconds.toFixed(1)} s ` +
        `(${seconds(performance.now() - paying)} with opening the wallet)`,
    );
  }
  const delivered = await waitForDeal(
    client,
    deal.dealId,
    (s) => s.stage === 'delivered' || s.problem !== undefined,
  );
  const latency = performance.now() - submitted;
  if (delivered.problem)
    throw new Error(
      `the deal was ${delivered.stage}: ${delivered.problem.code}: ${delivered.problem.reason}`,
    );
  say(`deal ${deal.dealId} delivered: API submit → result available in ${seconds(latency)}`);

  const payload = await openDealTable(client, resultKeyPem, deal.dealId);
  const top = [...payload.rows].sort((a, b) => Number(b[2]) - Number(a[2])).slice(0, SHOWN_ROWS);
  console.log(
    `\nDecrypted by the buyer (women aged 30–50; largest ${SHOWN_ROWS} of ${payload.rows.length} groups):\n`,
  );
  console.log(formatTable(payload.columns, top));
  console.log(`\n${describePrivacy(payload.privacy)}\ncommitment verified.\n`);

  const confirmedAt = performance.now();
  if (chain) say('buyer confirms; settlement pays the seller and keeps the fee from the escrow…');
  await confirmDeal(client, deal.dealId);
  await waitForDeal(client, deal.dealId, (s) => s.stage === 'settled');
  say(`buyer confirmed; seller paid and fee kept in ${seconds(performance.now() - confirmedAt)}`);
  const settled = await waitForDeal(client, deal.dealId, (s) => s.receipt !== undefined, 120_000);
  const receipt = settled.receipt!;
  const matches =
    blindedReceiptId(delivered.result!.commitment, Buffer.from(receipt.salt, 'hex')) === receipt.id;
  say(
    `receipt ${receipt.id.slice(0, 18)}… recorded (${seconds(performance.now() - confirmedAt)} after confirming); it blinds the result commitment: ${matches ? 'checked' : 'MISMATCH'}`,
  );
  if (chain) {
    say("reading the receipt from the buyer's wallet…");
    const held = await chain.cli.receipts(TEST_ACCOUNT.buyer);
    say(`the buyer's wallet holds it privately: ${held.includes(receipt.id) ? 'yes' : 'no'}`);
  }
  if (chain) say(WALLETS_READING);
  say(`balances after: ${await balances(deployment, chain, escrow)}`);
  return deal.dealId;
}

/**
 * Every other lifecycle's money on the same network, through the settlement port on the toolchain's
 * Node 22 (bench/settlement.ts): refund, multi-seller shares, two subscription periods, a grant's
 * tranche and remainder, a dispute split, each payer paying from its own wallet, balances checked.
 */
function settleEveryLifecycle(nodeUrl: string): Promise<void> {
  say('settling every lifecycle on the same network (refund, multi-seller, subscription, grant, dispute)…');
  return new Promise((done, failed) => {
    const child = spawn(
      join(__dirname, 'aztec/node22'),
      [join(__dirname, '../bench/settlement.ts'), '--node', nodeUrl],
      {
        stdio: 'inherit',
      },
    );
    child.once('error', failed);
    child.once('exit', (code) =>
      code === 0 ? done() : failed(new Error(`the lifecycles' settlement exited with ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      'no-chain': { type: 'boolean', default: false },
      'all-lifecycles': { type: 'boolean', default: false },
    },
  });
  if (values['all-lifecycles'] && values['no-chain'])
    throw new Error('--all-lifecycles settles on Aztec: leave out --no-chain');
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 1000) throw new Error('--rows takes a whole number of at least 1000');
  const home = resolve('.tusk/demo');
  await rm(home, { recursive: true, force: true });
  const began = performance.now();
  let stack: Stack | undefined;
  let chain: DemoChain | undefined;
  let deployment: LocalDeployment | undefined;
  const stopAll = async () => {
    await deployment?.stop();
    await chain?.stop();
    await stack?.stop();
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  try {
    say('starting Temporal and Redis (whatever is not already running)…');
    stack = await startStack({ dataDir: join(home, 'stack'), log: (line) => say(line) });
    if (!values['no-chain']) chain = await startDemoChain(home, say);
    else say('settling on the local development ledger (--no-chain)');
    say('creating keys, parties, the seller dataset, and starting api + workers…');
    const paths = aztecPaths(home);
    deployment = await deployLocal({
      home,
      temporalAddress: stack.temporalAddress,
      redisUrl: stack.redisUrl,
      rows,
      log: say,
      ...(chain
        ? {
            aztec: {
              nodeUrl: chain.cli.nodeUrl,
              deploymentFile: paths.deployment,
              escrowSecretFile: paths.escrowSecret,
            },
          }
        : {}),
    });
    const dealId = await runDeal(deployment, chain);
    await auditDemoDeal(deployment, home, dealId, say, !chain);
    if (chain && values['all-lifecycles']) await settleEveryLifecycle(chain.cli.nodeUrl);
    say(`demo done in ${seconds(performance.now() - began)}; logs in ${join(home, 'logs')}`);
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
