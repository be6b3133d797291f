import type { Command } from 'commander';
import { concedeSubscriptionPeriod } from '../../lib/signed-actions';
import { jsonText, partyClient, withPartyOptions, type PartyOptions } from '../common';
import { encode } from '../party-commands';
import { periodOf } from '../buyer/subscriptions';

/** The seller's side of its subscriptions: their status, and conceding a disputed period. */
export function addSellerSubscriptionCommands(seller: Command): void {
  const subscription = seller
    .command('subscription')
    .description("a subscription to your templates: status, a disputed period's concession");
  withPartyOptions(
    subscription.command('status <subscriptionId>').description('periods, deliveries, disputes (JSON)'),
  ).action(async (id: string, options: PartyOptions) => {
    const client = await partyClient(options);
    console.log(jsonText(await client.get(`/subscriptions/${encode(id)}`)));
  });
  withPartyOptions(
    subscription
      .command('concede <subscriptionId>')
      .description(
        "concede a disputed period (signed refund_consent of that period's escrow): the subscriber is refunded that period",
      )
      .requiredOption('--period <n>', 'the disputed period'),
  ).action(async (id: string, options: PartyOptions & { period: string }) => {
    const client = await partyClient(options);
    const period = periodOf(options.period);
    const status = await concedeSubscriptionPeriod<{ disputes?: { period: number; stage: string }[] }>(
      client,
      id,
      period,
    );
    const stage = status.disputes?.find((d) => d.period === period)?.stage ?? 'conceded';
    console.log(`subscription ${id}: period ${period} ${stage}; it is refunded at the period's settlement`);
  });
}
