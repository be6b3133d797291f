import { addTemplateProposalCommands } from '../template/proposals';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  confirmDeal,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  REFUSED_DEAL_STAGES,
  waitForDeal,
  type BudgetView,
  type DealStatus,
} from '../../sdk';
import {
  CliError,
  home,
  keyPaths,
  partyClient,
  print,
  withPartyOptions,
  writeFileAtomic,
  type PartyOptions,
} from '../common';
import { formatTable } from '../../lib/format-table';
import { addDisputePartyCommands } from '../dispute-commands';
import { addDealsCommand, encode, printStatus } from '../party-commands';
import { addKeyCheckCommand } from '../key-check';
import { buy, buySum, catalog, parseParam, type BuyOptions } from './buy';
import { createHeKeys } from './he-keys';
import { describePrivacy, openDealResult, showResult } from './result';
import { registerSubscriptionCommands } from './subscriptions';
import {
  owedForDeal,
  owedForMultiSellerDeal,
  whatIsOwed,
  withPayOptions,
  type PayOptions,
} from '../settlement/pay';
import { payAsSigned } from '../settlement/kept-terms';
import { dealKindOf } from './deal-kind';

export { describePrivacy, openDealResult, parseParam };

export function describeBudget(view: BudgetView): string {
  const row = (who: string, f: NonNullable<BudgetView['buyer']>) => [
    who,
    String(f.spent.epsilon),
    String(f.left.epsilon),
    String(f.budget.epsilon),
    String(f.spent.delta),
    String(f.budget.delta),
    String(f.spent.rho),
  ];
  return [
    `${view.sellerId}/${view.dataset}: ` +
      (view.windowDays === undefined || view.windowStart === undefined
        ? 'lifetime privacy budget'
        : `privacy budget per ${view.windowDays} days (since ${new Date(view.windowStart).toISOString()})`) +
      (view.sharedWith ? `, shared by ${view.sharedWith.join(', ')}` : ''),
    formatTable(
      ['', 'ε spent', 'ε left', 'ε budget', 'δ spent', 'δ budget', 'ρ spent'],
      [...(view.buyer ? [row('you', view.buyer)] : []), row('all buyers', view.total)],
    ),
  ].join('\n');
}

/** Polls a deal until `done`; kept for tests that wait on their own condition. */
export const waitForStage = waitForDeal;

const collect = (value: string, previous: string[] = []) => [...previous, value];

async function keygen(buyerId: string, options: PartyOptions & { he?: boolean }): Promise<void> {
  const homeDir = home(options.home);
  if (options.he) {
    const client = await partyClient({ ...options, as: buyerId });
    console.log(`HE key (use it in deals): ${await createHeKeys(client, homeDir, buyerId)}`);
    return;
  }
  const paths = keyPaths(homeDir, buyerId);
  if (existsSync(paths.signing) || existsSync(paths.result))
    throw new CliError(`keys for ${buyerId} exist; not overwriting`);
  const signing = generateEd25519KeyPair();
  const result = generateX25519KeyPair();
  await writeFileAtomic(paths.signing, signing.privateKeyPem, 0o600);
  await writeFileAtomic(paths.result, result.privateKeyPem, 0o600);
  console.log(
    `request-signing public key (register it): ${signing.publicKey}\nresult public key (sent with deals): ${result.publicKey}\n` +
      `  tusk operator party add ${buyerId} --role buyer --public-key ${signing.publicKey}`,
  );
}

/** The options of every purchase: parameters, compliance, waiting. */
function purchaseOptions(command: Command): Command {
  return withPartyOptions(command)
    .option('--param <name=value>', 'a template parameter (repeat)', collect)
    .requiredOption('--jurisdiction <CC>', 'where you are (e.g. US)')
    .requiredOption('--purpose <purpose>', 'why you ask (e.g. research)')
    .option('--accept <class>', 'a data class you accept (repeat)', collect)
    .option('--deal-id <id>', 'the deal id (default: a new UUID)')
    .option(
      '--acceptance-window <hours>',
      "hours after delivery to confirm or dispute before the deal confirms itself (signed; default: the operator's suggestion, 72)",
    )
    .option(
      '--wait',
      'wait until the deal is delivered, refused or failed (progress on stderr; exit 1 unless delivered)',
    )
    .option('--json', 'print the deal status as JSON');
}

export function registerBuyerCommands(program: Command): void {
  const buyer = program
    .command('buyer')
    .description('buy answers: deals, private selections, sums, subscriptions');

  withPartyOptions(
    buyer
      .command('keygen <buyerId>')
      .description('make request-signing (Ed25519) and result (X25519) keys in $TUSK_HOME/keys')
      .option(
        '--he',
        'BFV keys (N=4096, t=1032193, 128-bit): public and Galois keys uploaded, the secret key kept in $TUSK_HOME/keys/<buyerId>.bfv.json',
      ),
  ).action(keygen);

  addTemplateProposalCommands(buyer, 'buyer');
  withPartyOptions(buyer.command('templates').description('signed templates for sale'))
    .option('--json', 'print JSON')
    .action(async (options: PartyOptions & { json?: boolean }) => {
      const templates = await catalog(await partyClient(options));
      print(options.json, templates, () =>
        formatTable(
          ['id', 'seller', 'price', 'title', 'hash'],
          templates.map((t) => [t.id, t.seller, t.price, t.title, t.hash]),
        ),
      );
    });

  purchaseOptions(
    buyer
      .command('deal <templateId>')
      .alias('buy')
      .description(
        "buy one answer of a template: sign the terms, pay into escrow, the seller's perimeter runs it",
      ),
  )
    .option('--seller <sellerId>', 'the seller whose copy you buy (needed when several offer the template)')
    .option(
      '--select <cells>',
      'a private selection: a group by its dimension values, comma-separated (e.g. 100,I10); repeat for more. Needs keygen --he',
      collect,
    )
    .action(buy);

  purchaseOptions(
    buyer
      .command('sum <templateId>')
      .description("one template over several sellers' perimeters, summed under your HE key (keygen --he)"),
  )
    .requiredOption('--seller <sellerId>', 'a seller (repeat: at least two)', collect)
    .action((templateId: string, { seller, ...options }: Omit<BuyOptions, 'seller'> & { seller: string[] }) =>
      buySum(templateId, { ...options, sellers: seller }),
    );

  withPartyOptions(buyer.command('status <dealId>').description("a deal's stage and timeline (JSON)"))
    .option('--multi', 'a multi-seller deal (found without it too)')
    .option('--json', 'print JSON (what it prints already; accepted like every data command)')
    .action(async (dealId: string, options: PartyOptions & { multi?: boolean }) => {
      const client = await partyClient(options);
      const { path } = await dealKindOf(client, dealId, options.multi);
      printStatus(await client.get<DealStatus>(path), REFUSED_DEAL_STAGES);
    });

  withPayOptions(
    withPartyOptions(
      buyer
        .command('pay <dealId>')
        .description(
          "pay the deal's price into its escrow (each seller's share for a multi-seller deal), once it is open",
        ),
    ),
  )
    .option('--multi', 'a multi-seller deal (found without it too)')
    .action(async (dealId: string, options: PartyOptions & PayOptions & { multi?: boolean }) => {
      const client = await partyClient(options);
      const { kind, path } = await dealKindOf(client, dealId, options.multi);
      const owed =
        kind === 'multi_seller'
          ? await whatIsOwed(client, path, owedForMultiSellerDeal, options.wait)
          : await whatIsOwed(client, path, owedForDeal, options.wait);
      // Only what the buyer itself signed is paid, whatever the status asks for.
      await payAsSigned(owed, options, client.partyId, kind, dealId);
    });

  withPartyOptions(buyer.command('confirm <dealId>').description('accept the result: the seller is paid'))
    .option('--multi', 'a multi-seller deal (found without it too)')
    .option('--json', 'print JSON (what it prints already; accepted like every data command)')
    .action(async (dealId: string, options: PartyOptions & { multi?: boolean }) => {
      const client = await partyClient(options);
      const { kind } = await dealKindOf(client, dealId, options.multi);
      // Signed over the deal's run and terms, one-time or multi-seller alike.
      const status = await confirmDeal<DealStatus>(client, dealId, kind);
      console.log(`deal ${status.dealId}: ${status.stage}`);
    });

  withPartyOptions(
    buyer
      .command('result <dealId>')
      .description(
        'fetch, open on this machine and print the answer: a sealed table, a private selection or an HE sum',
      ),
  )
    .option('--multi', 'a multi-seller deal (tried anyway when the id is no plain deal)')
    .option('--json', 'print JSON')
    .action(showResult);

  withPartyOptions(
    buyer
      .command('budget')
      .description("privacy budget spent and left on a dataset: yours, and all buyers'")
      .requiredOption('--seller <sellerId>', 'the seller')
      .requiredOption('--dataset <name>', 'the dataset')
      .option('--json', 'print JSON'),
  ).action(async (options: PartyOptions & { seller: string; dataset: string; json?: boolean }) => {
    const client = await partyClient(options);
    const view = await client.get<BudgetView>(
      `/budgets/${encode(options.seller)}/${encode(options.dataset)}`,
    );
    print(options.json, view, () => describeBudget(view));
  });

  addDealsCommand(buyer);
  addKeyCheckCommand(buyer);
  addDisputePartyCommands(buyer);
  registerSubscriptionCommands(buyer);
}
