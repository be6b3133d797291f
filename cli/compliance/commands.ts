import type { Command } from 'commander';
import { CliError, partyClient, withPartyOptions, type PartyOptions, jsonText } from '../common';
import { addDealsCommand, addKeygenCommand, encode } from '../party-commands';
import { addKeyCheckCommand } from '../key-check';
import {
  approveOutcome,
  decideDisclosure,
  nameReviewer,
  readDisputeEvidence,
} from '../../lib/signed-actions';

/** `release`, `refund` or `split:<seller bps>`. */
export function parseOutcome(value: string) {
  if (value === 'release' || value === 'refund') return { kind: value } as const;
  const split = /^split:(\d{1,5})$/.exec(value);
  if (split && Number(split[1]) <= 10_000) return { kind: 'split', sellerBps: Number(split[1]) } as const;
  throw new CliError(`an outcome is release, refund or split:<seller basis points 0-10000>, got ${value}`);
}

export function registerComplianceCommands(program: Command): void {
  const compliance = program
    .command('compliance')
    .description('resolve disputes and decide disclosures (two distinct principals each time)');
  addKeygenCommand(compliance, 'compliance');

  const disputes = compliance.command('dispute').description("a deal's dispute");
  withPartyOptions(
    disputes.command('status <dealId>').description('stage, evidence, approvals (JSON)'),
  ).action(async (dealId: string, options: PartyOptions) => {
    const client = await partyClient(options);
    console.log(jsonText(await client.get(`/deals/${encode(dealId)}/dispute`)));
  });
  withPartyOptions(
    disputes
      .command('reviewer <dealId> <reviewerId>')
      .description('name the reviewer: time-bound access to the evidence'),
  ).action(async (dealId: string, reviewerId: string, options: PartyOptions) => {
    const client = await partyClient(options);
    await nameReviewer(client, dealId, reviewerId);
    console.log(`${reviewerId} reviews the dispute of ${dealId}`);
  });
  withPartyOptions(
    disputes
      .command('evidence <dealId>')
      .description('read the evidence (the named reviewer; each read is recorded)'),
  ).action(async (dealId: string, options: PartyOptions) => {
    const client = await partyClient(options);
    console.log(jsonText(await readDisputeEvidence(client, dealId)));
  });
  withPartyOptions(
    disputes
      .command('vote <dealId> <outcome>')
      .description(
        'approve an outcome, signed: release, refund or split:<seller bps>; two principals agreeing resolve it',
      ),
  ).action(async (dealId: string, outcomeText: string, options: PartyOptions) => {
    const client = await partyClient(options);
    const outcome = parseOutcome(outcomeText);
    const status = await approveOutcome<{ stage: string }>(client, dealId, outcome);
    console.log(`dispute of ${dealId}: ${status.stage}`);
  });

  const disclosures = compliance
    .command('disclosure')
    .description("an auditor's request to see hidden fields");
  withPartyOptions(
    disclosures.command('status <disclosureId>').description('stage, decisions, views (JSON)'),
  ).action(async (id: string, options: PartyOptions) => {
    const client = await partyClient(options);
    console.log(jsonText(await client.get(`/disclosures/${encode(id)}`)));
  });
  withPartyOptions(
    disclosures
      .command('decide <disclosureId> <decision>')
      .description('approve or deny, signed; two approvals open the view, one denial ends it'),
  ).action(async (id: string, decision: string, options: PartyOptions) => {
    if (decision !== 'approve' && decision !== 'deny') throw new CliError('the decision is approve or deny');
    const client = await partyClient(options);
    const status = await decideDisclosure<{ stage: string }>(client, id, decision);
    console.log(`disclosure ${id}: ${status.stage}`);
  });
  addDealsCommand(compliance);
  addKeyCheckCommand(compliance);
}
