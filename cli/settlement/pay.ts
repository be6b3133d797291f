import { execFile } from 'node:child_process';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  FINAL_SUBSCRIPTION_STAGES,
  waitFor,
  type ShareEscrow,
  type SubscriptionStage,
  type TuskClient,
} from '../../sdk';
import { CliError, EXIT, home, writeFileAtomic } from '../common';

/** One payment a payer owes: into which escrow, how much, for what. */
export interface Payment {
  what: string;
  address: string;
  amount: string;
  /** A multi-seller share's seller; a subscription charge's period: checked against the signed terms. */
  sellerId?: string;
  period?: number;
}

/**
 * What a lifecycle's status says its payer owes now, or why nothing is owed: `waiting` while the
 * escrow is not open yet (worth polling), `none` once paying would be a second payment.
 */
export type Owed =
  { state: 'owed'; payments: Payment[] } | { state: 'waiting'; why: string } | { state: 'none'; why: string };

interface EscrowedStatus {
  stage: string;
}

/** A one-time deal: its price into its escrow, while the lock waits for it (budget reserved). */
export function owedForDeal(status: EscrowedStatus & { price: string; escrow?: { address: string } }): Owed {
  if (status.stage === 'quoted') return { state: 'waiting', why: 'the deal is still being quoted' };
  if (status.stage !== 'budget_reserved')
    return { state: 'none', why: `the deal is ${status.stage}: its payment is no longer expected` };
  if (!status.escrow) return { state: 'waiting', why: 'its escrow is not open yet' };
  return {
    state: 'owed',
    payments: [{ what: 'price', address: status.escrow.address, amount: status.price }],
  };
}

/** A multi-seller deal: each contributing seller's share into that share's escrow, once all are open. */
export function owedForMultiSellerDeal(
  status: EscrowedStatus & {
    contributors: string[];
    escrows?: ShareEscrow[];
  },
): Owed {
  if (status.stage === 'quoted') return { state: 'waiting', why: 'the deal is still being quoted' };
  if (status.stage !== 'budget_reserved')
    return { state: 'none', why: `the deal is ${status.stage}: its payments are no longer expected` };
  const escrows = status.escrows ?? [];
  if (escrows.length === 0 || escrows.length < status.contributors.length)
    return { state: 'waiting', why: 'the shares’ escrows are not all open yet' };
  return {
    state: 'owed',
    payments: escrows.map((e) => ({
      what: `share of ${e.sellerId}`,
      address: e.address,
      amount: e.amount,
      sellerId: e.sellerId,
    })),
  };
}

/** A subscription: the current period's charge, until that period is charged. */
export function owedForSubscription(
  status: EscrowedStatus & {
    periodsCharged: number;
    payment?: { period: number; address: string; amount: string };
  },
): Owed {
  if (FINAL_SUBSCRIPTION_STAGES.has(status.stage as SubscriptionStage))
    return { state: 'none', why: `the subscription is ${status.stage}` };
  const payment = status.payment;
  if (!payment || payment.period <= status.periodsCharged)
    return { state: 'waiting', why: 'no period’s charge is open (the next one opens at renewal)' };
  return {
    state: 'owed',
    payments: [
      {
        what: `period ${payment.period}`,
        address: payment.address,
        amount: payment.amount,
        period: payment.period,
      },
    ],
  };
}

/** A grant: the whole total into the grant's escrow, while it is being funded. */
export function owedForGrant(status: EscrowedStatus & { total: string; escrow?: { address: string } }): Owed {
  if (status.stage !== 'funding')
    return { state: 'none', why: `the grant is ${status.stage}: it is funded already or over` };
  if (!status.escrow) return { state: 'waiting', why: 'its escrow is not open yet' };
  return {
    state: 'owed',
    payments: [{ what: 'grant total', address: status.escrow.address, amount: status.total }],
  };
}

export interface PayOptions {
  home?: string;
  walletAccount?: string;
  aztecHome?: string;
  aztecNode?: string;
  wait?: boolean;
  json?: boolean;
}

/** Asks the API what is owed; with --wait, polls until the escrow opens (or paying is moot). */
export async function whatIsOwed<S extends EscrowedStatus>(
  client: TuskClient,
  path: string,
  owedOf: (status: S) => Owed,
  wait: boolean | undefined,
): Promise<Owed> {
  const status = wait
    ? await waitFor<S>(client, path, (s) => owedOf(s).state !== 'waiting', {
        onStage: (s) => console.error(`… ${s.stage}`),
        intervalMs: 500,
      })
    : await client.get<S>(path);
  return owedOf(status);
}

const run = promisify(execFile);
const REPO = resolve(__dirname, '../..');

/**
 * Pays what is owed from an Aztec test account's wallet, through the Aztec tooling (`npm run aztec --
 * pay`, on the toolchain's Node 22); without --wallet-account, prints what to pay so any Aztec wallet
 * can. Refuses when nothing is owed: paying then would be a second payment.
 */
export async function payOwed(owed: Owed, options: PayOptions): Promise<void> {
  if (owed.state === 'none') throw new CliError(`nothing to pay: ${owed.why}`, EXIT.refused);
  if (owed.state === 'waiting')
    throw new CliError(`nothing to pay yet: ${owed.why} (add --wait to wait for it)`, EXIT.refused);
  if (options.walletAccount === undefined) {
    if (options.json) console.log(JSON.stringify({ payments: owed.payments }));
    else
      for (const p of owed.payments)
        console.log(`pay ${p.amount} into ${p.address} (${p.what}) from your Aztec wallet`);
    return;
  }
  const paid: (Payment & { txHash: string; before?: true })[] = [];
  for (const payment of owed.payments) {
    // A share paid by an earlier run that stopped half-way is not paid twice.
    const earlier = await paidBefore(options, payment);
    if (earlier) {
      paid.push({ ...payment, txHash: earlier, before: true });
      if (!options.json) console.log(`already paid into ${payment.address} (${payment.what}): ${earlier}`);
      continue;
    }
    const txHash = await payFromTestAccount(options, payment);
    await recordPayment(options, payment, txHash);
    paid.push({ ...payment, txHash });
    if (!options.json)
      console.log(`paid ${payment.amount} into ${payment.address} (${payment.what}): ${txHash}`);
  }
  if (options.json) console.log(JSON.stringify({ payments: paid }));
}

async function payFromTestAccount(options: PayOptions, payment: Payment): Promise<string> {
  const args = [
    join(REPO, 'contracts/cli.ts'),
    'pay',
    options.walletAccount!,
    payment.address,
    payment.amount,
  ];
  if (options.aztecHome) args.push('--home', resolve(options.aztecHome));
  if (options.aztecNode) args.push('--node', options.aztecNode);
  console.error(
    `paying ${payment.amount} into ${payment.address} (${payment.what}); an Aztec transaction takes a few seconds…`,
  );
  try {
    const { stdout } = await run(join(REPO, 'scripts/aztec/node22'), args, { maxBuffer: 1 << 20 });
    return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { txHash: string }).txHash;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new CliError(`the payment failed: ${stderr || (error as Error).message}`, EXIT.refused);
  }
}

/** Payments this CLI sent, one file per escrow address under $TUSK_HOME/payments. */
const paymentFile = (options: PayOptions, address: string) =>
  join(home(options.home), 'payments', `${address.replace(/[^\w]/g, '')}.json`);

async function paidBefore(options: PayOptions, payment: Payment): Promise<string | undefined> {
  const text = await readFile(paymentFile(options, payment.address), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { txHash: string }).txHash;
}

function recordPayment(options: PayOptions, payment: Payment, txHash: string): Promise<void> {
  const record = { ...payment, txHash, at: new Date().toISOString() };
  return writeFileAtomic(paymentFile(options, payment.address), `${JSON.stringify(record)}\n`);
}

/** The options of every pay command: which wallet pays, on which network, and whether to wait. */
export function withPayOptions(command: Command): Command {
  return command
    .option(
      '--wallet-account <n>',
      'pay from this Aztec test account (npm run aztec); without it, print what to pay and where',
    )
    .option('--aztec-home <dir>', 'where the Aztec deployment file is (default: $TUSK_HOME or .tusk)')
    .option('--aztec-node <url>', "the Aztec node (default: the deployment's)")
    .option('--wait', 'wait until the escrow is open')
    .option('--json', 'print the payments as JSON');
}
