import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { ACCESS_TOKEN_HEADER, accessTokenContext } from '../../lib/access-token';
import { open } from '../../lib/sealed-box';
import {
  cancelSubscription,
  disputeSubscriptionPeriod,
  openResult,
  publicKeyFromPem,
  reportPaymentReady,
  type ReleaseStatement,
  type TuskClient,
} from '../../sdk';
import {
  CliError,
  EXIT,
  home,
  keyPaths,
  partyClient,
  readText,
  withPartyOptions,
  type PartyOptions,
} from '../common';
import { formatTable } from '../../lib/format-table';
import { encode, printStatus } from '../party-commands';
import { chooseTemplate, parseParam } from './buy';
import { describePrivacy } from './result';
import { owedForSubscription, whatIsOwed, withPayOptions, type PayOptions } from '../settlement/pay';
import { keepSignedTerms, payAsSigned, readKeptTermsHash } from '../settlement/kept-terms';
import { requireSellersRelease } from './release-acceptance';

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface SubscribeOptions extends PartyOptions {
  param?: string[];
  periodSeconds: string;
  jurisdiction: string;
  purpose: string;
  accept?: string[];
  seller?: string;
  id?: string;
  periods?: string;
}

/** A period number given on the command line (from 1). */
export function periodOf(value: string): number {
  const period = Number(value);
  if (!Number.isInteger(period) || period < 1) throw new CliError('--period takes a whole number from 1');
  return period;
}

function periodsOf(value: string): number {
  const periods = Number(value);
  if (!Number.isInteger(periods) || periods < 1) throw new CliError('--periods takes a whole number from 1');
  return periods;
}

async function subscribe(templateIds: string[], options: SubscribeOptions): Promise<void> {
  const client = await partyClient(options);
  const templates = await Promise.all(templateIds.map((id) => chooseTemplate(client, id, options.seller)));
  const parameters = Object.fromEntries((options.param ?? []).map(parseParam));
  const resultKey = await readText(keyPaths(home(options.home), client.partyId).result, 'result key');
  const periodSeconds = Number(options.periodSeconds);
  if (!Number.isInteger(periodSeconds) || periodSeconds < 1)
    throw new CliError('--period-seconds takes a whole number');
  const subscriptionId = options.id ?? randomUUID();
  const signed = client.signed('subscription', {
    subscriptionId,
    queries: templates.map((t) => ({
      templateId: t.id,
      sellerId: t.seller,
      templateHash: t.hash,
      parameters,
    })),
    pricePerPeriod: String(templates.reduce((sum, t) => sum + BigInt(t.price), 0n)),
    periodSeconds,
    ...(options.periods === undefined ? {} : { periods: periodsOf(options.periods) }),
    buyerPublicKey: publicKeyFromPem(resultKey),
    compliance: {
      jurisdiction: options.jurisdiction,
      purpose: options.purpose,
      acceptedDataClasses: options.accept ?? [],
    },
  });
  // Kept before it is sent: `tusk buyer subscription pay` pays only what this says.
  await keepSignedTerms(options.home, client, 'subscription', subscriptionId, signed);
  const status = await client.post<{ subscriptionId: string; stage: string }>('/subscriptions', signed);
  console.log(`subscription ${status.subscriptionId}: ${status.stage}`);
}

/** The current access token, opened with the buyer's result key. */
async function currentToken(client: TuskClient, resultKeyPem: string, id: string) {
  const sealed = await client.get<{ period: number; sealedToken: string }>(
    `/subscriptions/${encode(id)}/token`,
  );
  return {
    period: sealed.period,
    token: (
      await open(
        Buffer.from(sealed.sealedToken, 'base64'),
        resultKeyPem,
        accessTokenContext(id, sealed.period),
      )
    ).toString(),
  };
}

type DeliveredResult =
  | { queryIndex: number; runId: string; commitment: string; ciphertext: string; release?: ReleaseStatement }
  | { queryIndex: number; runId: string; problem: { code: string } };

/**
 * A period's answers: each one only if the seller's perimeter signed its delivery for the
 * subscription terms kept here; one that fails is refused (exit 1) and the others still shown.
 */
async function delivery(id: string, period: string, options: PartyOptions) {
  const client = await partyClient(options);
  const resultKey = await readText(keyPaths(home(options.home), client.partyId).result, 'result key');
  const termsHash = await readKeptTermsHash(options.home, client.partyId, 'subscription', id);
  const { sellerId } = await client.get<{ sellerId: string }>(`/subscriptions/${encode(id)}`);
  const { token } = await currentToken(client, resultKey, id);
  const { body } = await client.request<{ results: DeliveredResult[] }>(
    'GET',
    `/subscriptions/${encode(id)}/deliveries/${encode(period)}`,
    undefined,
    { [ACCESS_TOKEN_HEADER]: token },
  );
  for (const result of body.results) {
    if ('problem' in result) {
      console.log(`query ${result.queryIndex}: ${result.problem.code}`);
      process.exitCode = EXIT.refused;
      continue;
    }
    try {
      await requireSellersRelease(client, { ...result, dealId: result.runId }, sellerId, {
        kind: 'subscription_delivery',
        termsHash,
      });
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      console.error(error.message);
      process.exitCode = EXIT.refused;
      continue;
    }
    const payload = await openResult(
      Buffer.from(result.ciphertext, 'base64'),
      resultKey,
      result.runId,
      result.commitment,
    );
    console.log(
      `query ${result.queryIndex} (${result.runId})\n${formatTable(payload.columns, payload.rows)}\n${describePrivacy(payload.privacy)}\n`,
    );
  }
}

export function registerSubscriptionCommands(buyer: Command): void {
  withPartyOptions(
    buyer
      .command('subscribe <templateIds...>')
      .description("subscribe to a seller's templates: charged, run and delivered every period"),
  )
    .requiredOption('--period-seconds <n>', 'how long a period is')
    .option('--periods <n>', 'the most periods you agree to pay (signed; default 12)')
    .option('--param <name=value>', 'a template parameter (repeat)', collect)
    .requiredOption('--jurisdiction <CC>', 'where you are (e.g. US)')
    .requiredOption('--purpose <purpose>', 'why you ask (e.g. research)')
    .option('--accept <class>', 'a data class you accept (repeat)', collect)
    .option('--seller <sellerId>', 'the seller (when several offer a template)')
    .option('--id <subscriptionId>', 'the subscription id (default: a new UUID)')
    .action(subscribe);

  const subscription = buyer
    .command('subscription')
    .description('a subscription: status, cancel, deliveries');
  withPartyOptions(
    subscription
      .command('status <subscriptionId>')
      .description('period, renewals, tokens, deliveries (JSON)'),
  ).action(async (id: string, options: PartyOptions) => {
    const client = await partyClient(options);
    printStatus(await client.get<{ stage: string }>(`/subscriptions/${encode(id)}`), new Set(['suspended']));
  });
  withPartyOptions(
    subscription.command('cancel <subscriptionId>').description('end it at the current period end'),
  ).action(async (id: string, options: PartyOptions) => {
    const client = await partyClient(options);
    const status = await cancelSubscription<{ stage: string }>(client, id);
    console.log(`subscription ${id}: ${status.stage}`);
  });
  withPayOptions(
    withPartyOptions(
      subscription
        .command('pay <subscriptionId>')
        .description("pay the current period's charge into its escrow, once it is open"),
    ),
  ).action(async (id: string, options: PartyOptions & PayOptions) => {
    const client = await partyClient(options);
    const owed = await whatIsOwed(client, `/subscriptions/${encode(id)}`, owedForSubscription, options.wait);
    await payAsSigned(owed, options, client.partyId, 'subscription', id);
  });
  withPartyOptions(
    subscription
      .command('payment-ready <subscriptionId>')
      .description('in a grace window: you topped up, charge again now (signed over the period in grace)'),
  ).action(async (id: string, options: PartyOptions) => {
    const client = await partyClient(options);
    await reportPaymentReady<{ accepted: true }>(client, id);
    console.log(`subscription ${id}: payment reported; the charge is tried again now`);
  });
  withPartyOptions(
    subscription
      .command('dispute <subscriptionId>')
      .description(
        "dispute a delivered period before its end (signed): its payout waits for the seller's concession or the dispute's deadline",
      )
      .requiredOption('--period <n>', 'the period disputed (its status shows it as `held`)')
      .requiredOption('--reason <text>', 'what is wrong (signed with the dispute)'),
  ).action(async (id: string, options: PartyOptions & { period: string; reason: string }) => {
    const client = await partyClient(options);
    const status = await disputeSubscriptionPeriod<{ disputes?: { period: number; until: number }[] }>(
      client,
      id,
      periodOf(options.period),
      options.reason,
    );
    const dispute = status.disputes?.find((d) => d.period === periodOf(options.period));
    const until = dispute ? ` until ${new Date(dispute.until).toISOString()}` : '';
    console.log(`subscription ${id}: period ${options.period} disputed; its payout is held${until}`);
  });
  withPartyOptions(
    subscription
      .command('delivery <subscriptionId> <period>')
      .description("a period's answers, opened with the current access token"),
  ).action(delivery);
}
