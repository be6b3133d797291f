import type { Command } from 'commander';
import { partyClient, readText, withPartyOptions, type PartyOptions, jsonText } from './common';
import { encode } from './party-commands';
import { addDisputeEvidence, concedeDispute, openDispute } from '../lib/signed-actions';

/** A dispute's parties (buyer, seller) open it, add evidence and read its status. */
export function addDisputePartyCommands(group: Command): void {
  withPartyOptions(
    group
      .command('dispute <dealId>')
      .description(
        'dispute a delivered answer within its acceptance window (its buyer or seller): the escrow stays locked',
      )
      .requiredOption('--reason <text>', 'what is wrong (signed with the dispute)'),
  ).action(async (dealId: string, options: PartyOptions & { reason: string }) => {
    const client = await partyClient(options);
    console.log(jsonText(await openDispute(client, dealId, options.reason)));
  });
  const dispute = group
    .command('dispute-evidence')
    .description("add evidence to a deal's dispute (its buyer or seller)");
  withPartyOptions(dispute.argument('<dealId>'))
    .option('--text <text>', 'the evidence')
    .option('--file <path>', 'the evidence, from a text file (up to 32 KB)')
    .action(async (dealId: string, options: PartyOptions & { text?: string; file?: string }) => {
      const client = await partyClient(options);
      const evidence = options.file ? await readText(options.file, 'evidence file') : (options.text ?? '');
      await addDisputeEvidence(client, dealId, evidence);
      console.log(`evidence added to the dispute of ${dealId}`);
    });
  withPartyOptions(
    group
      .command('dispute-status <dealId>')
      .description("a deal's dispute: stage, evidence, approvals (JSON)"),
  ).action(async (dealId: string, options: PartyOptions) => {
    const client = await partyClient(options);
    console.log(jsonText(await client.get(`/deals/${encode(dealId)}/dispute`)));
  });
}

/**
 * The seller concedes (`tusk seller dispute-concede`): beside `dispute <dealId>`, which opens one, as
 * `dispute-evidence` and `dispute-status` are.
 */
export function addDisputeConcedeCommand(seller: Command): void {
  withPartyOptions(
    seller
      .command('dispute-concede <dealId>')
      .description(
        "concede a deal's dispute (its seller), signed: the buyer gets the escrow back, the dispute resolves as a refund",
      ),
  ).action(async (dealId: string, options: PartyOptions) => {
    const client = await partyClient(options);
    const status = await concedeDispute<{ stage: string; outcome?: { kind: string } }>(client, dealId);
    console.log(`dispute of ${dealId}: ${status.stage}${status.outcome ? ` (${status.outcome.kind})` : ''}`);
  });
}
