import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { openResult, type ResultPayload } from '../../lib/sealed-result';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import type { TuskClient } from '../../lib/tusk-client';
import { publicKeyFromPem } from '../../lib/x25519-public';
import type { DealStatus } from '../../workflows/deal/state';
import type { BudgetView } from '../../api/budgets/schemas';
import { createHeKeys } from './he-keys';
import {
  CliError,
  home,
  keyPaths,
  partyClient,
  print,
  readText,
  withPartyOptions,
  writeFileAtomic,
  type PartyOptions,
} from '../common';
import { formatTable } from '../format-table';

export function parseParam(pair: string): [string, string | number] {
  const at = pair.indexOf('=');
  if (at < 1) throw new CliError(`--param takes name=value, got ${JSON.stringify(pair)}`);
  const value = pair.slice(at + 1);
  return [pair.slice(0, at), /^-?\d+$/.test(value) ? Number(value) : value];
}

export function describePrivacy(privacy: ResultPayload['privacy']): string {
  const scales = Object.entries(privacy.noiseScales)
    .map(([column, scale]) => `${column} ±${scale}`)
    .join(', ');
  const groups =
    privacy.groupRelease.kind === 'declared_domain'
      ? `every group of the declared domain; numbers withheld where the noisy count is under ${privacy.minCohortSize}`
      : `groups whose noisy count reached ${Math.max(privacy.groupRelease.threshold, privacy.minCohortSize)} (private partition selection, δ ${privacy.groupRelease.delta})`;
  return [
    groups,
    `${privacy.mechanism.replace('_', ' ')} noise (scale ${scales}), ε spent ${privacy.epsilonSpent}${privacy.delta > 0 ? `, δ ${privacy.delta}` : ''}`,
  ].join('\n');
}

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
    `${view.sellerId}/${view.dataset}: privacy budget per ${view.windowDays} days (since ${new Date(view.windowStart).toISOString()})`,
    formatTable(
      ['', 'ε spent', 'ε left', 'ε budget', 'δ spent', 'δ budget', 'ρ spent'],
      [...(view.buyer ? [row('you', view.buyer)] : []), row('all buyers', view.total)],
    ),
  ].join('\n');
}

export async function openDealResult(client: TuskClient, resultKeyPem: string, dealId: string) {
  const sealed = await client.get<{ ciphertext: string; commitment: string }>(
    `/deals/${encodeURIComponent(dealId)}/result`,
  );
  return openResult(Buffer.from(sealed.ciphertext, 'base64'), resultKeyPem, dealId, sealed.commitment);
}

/** On a chain, the buyer pays the escrow itself: the deal waits for that (the local ledger does not). */
const awaitsPayment = (status: DealStatus) =>
  status.stage === 'quoted' && status.escrow !== undefined && !status.escrow.address.startsWith('ledger:');

export async function waitForStage(
  client: TuskClient,
  dealId: string,
  done: (status: DealStatus) => boolean,
  timeoutMs = 600_000,
  intervalMs = 200,
): Promise<DealStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await client.get<DealStatus>(`/deals/${encodeURIComponent(dealId)}`);
    if (done(status)) return status;
    if (Date.now() > deadline) throw new CliError(`deal ${dealId} is still ${status.stage}`, 1);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface DealOptions extends PartyOptions {
  param?: string[];
  dealId?: string;
  jurisdiction: string;
  purpose: string;
  accept?: string[];
  wait?: boolean;
}

async function buy(templateId: string, options: DealOptions): Promise<void> {
  const client = await partyClient(options);
  const paths = keyPaths(home(options.home), client.partyId);
  const { templates } = await client.get<{ templates: { id: string; hash: string; price: string }[] }>(
    '/templates',
  );
  const chosen = templates.find((t) => t.id === templateId);
  if (!chosen) throw new CliError(`no template ${templateId} for sale`, 1);
  // The buyer signs the terms; every perimeter checks that signature before it reserves anything.
  const status = await client.post<DealStatus>(
    '/deals',
    client.signed('cohort_query', {
      dealId: options.dealId ?? randomUUID(),
      templateId,
      templateHash: chosen.hash,
      parameters: Object.fromEntries((options.param ?? []).map(parseParam)),
      price: chosen.price,
      buyerPublicKey: publicKeyFromPem(await readText(paths.result, `result key of ${client.partyId}`)),
      compliance: {
        jurisdiction: options.jurisdiction,
        purpose: options.purpose,
        acceptedDataClasses: options.accept ?? [],
      },
    }),
  );
  const final = options.wait
    ? await waitForStage(
        client,
        status.dealId,
        (s) =>
          awaitsPayment(s) ||
          (s.stage !== 'quoted' && s.stage !== 'escrow_locked' && s.stage !== 'query_running'),
      )
    : status;
  if (awaitsPayment(final)) {
    const escrow = final.escrow!.address;
    console.log(
      `deal ${final.dealId}: pay ${final.price} into its escrow ${escrow} from your own wallet\n` +
        `  (on the local network: npm run aztec -- pay 1 ${escrow} ${final.price}), then: tusk buyer status ${final.dealId}`,
    );
    return;
  }
  console.log(
    `deal ${final.dealId}: ${final.stage}${final.problem ? ` (${final.problem.code}: ${final.problem.reason})` : ''}`,
  );
}

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
    `request-signing public key (register it): ${signing.publicKey}\nresult public key (sent with deals): ${result.publicKey}`,
  );
}

export function registerBuyerCommands(program: Command): void {
  const buyer = program.command('buyer').description('buy answers: deals, results, budgets');

  withPartyOptions(
    buyer
      .command('keygen <buyerId>')
      .description('make request-signing (Ed25519) and result (X25519) keys in $TUSK_HOME/keys')
      .option(
        '--he',
        'BFV keys (N=4096, t=1032193, 128-bit): public and Galois keys uploaded, the secret key kept in $TUSK_HOME/keys/<buyerId>.bfv.json',
      ),
  ).action(keygen);

  withPartyOptions(buyer.command('templates').description('signed templates for sale'))
    .option('--json', 'print JSON')
    .action(async (options: PartyOptions & { json?: boolean }) => {
      const client = await partyClient(options);
      const { templates } = await client.get<{
        templates: { id: string; seller: string; title: string; price: string; hash: string }[];
      }>('/templates');
      print(options.json, templates, () =>
        formatTable(
          ['id', 'seller', 'price', 'title', 'hash'],
          templates.map((t) => [t.id, t.seller, t.price, t.title, t.hash]),
        ),
      );
    });

  withPartyOptions(
    buyer
      .command('deal <templateId>')
      .description(
        "buy one answer of a template: sign the terms, pay into escrow, the seller's perimeter runs it",
      )
      .option('--param <name=value>', 'a template parameter (repeat)', collect)
      .requiredOption('--jurisdiction <CC>', 'where you are (e.g. US)')
      .requiredOption('--purpose <purpose>', 'why you ask (e.g. research)')
      .option('--accept <class>', 'a data class you accept (repeat)', collect)
      .option('--deal-id <id>', 'the deal id (default: a new UUID)')
      .option('--wait', 'wait until the deal is delivered, refused or failed'),
  ).action(buy);

  withPartyOptions(buyer.command('status <dealId>').description("a deal's stage and timeline")).action(
    async (dealId: string, options: PartyOptions) => {
      const client = await partyClient(options);
      console.log(
        JSON.stringify(await client.get<DealStatus>(`/deals/${encodeURIComponent(dealId)}`), null, 2),
      );
    },
  );

  withPartyOptions(
    buyer.command('confirm <dealId>').description('accept the result: the seller is paid'),
  ).action(async (dealId: string, options: PartyOptions) => {
    const client = await partyClient(options);
    const status = await client.post<DealStatus>(`/deals/${encodeURIComponent(dealId)}/confirm`);
    console.log(`deal ${status.dealId}: ${status.stage}`);
  });

  withPartyOptions(
    buyer.command('result <dealId>').description('fetch, decrypt, verify and print the answer'),
  ).action(async (dealId: string, options: PartyOptions) => {
    const client = await partyClient(options);
    const paths = keyPaths(home(options.home), client.partyId);
    const payload = await openDealResult(
      client,
      await readText(paths.result, `result key of ${client.partyId}`),
      dealId,
    );
    console.log(formatTable(payload.columns, payload.rows));
    console.log(`\n${describePrivacy(payload.privacy)}\ncommitment verified`);
  });

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
      `/budgets/${encodeURIComponent(options.seller)}/${encodeURIComponent(options.dataset)}`,
    );
    print(options.json, view, () => describeBudget(view));
  });
}
