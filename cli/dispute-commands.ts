import type { Command } from 'commander';
import { partyClient, readText, withPartyOptions, type PartyOptions } from './common';
import { encode } from './party-commands';
import { addDisputeEvidence } from '../lib/signed-actions';

/** A dispute's parties (buyer, seller) add evidence and read its status. */
export function addDisputePartyCommands(group: Command): void {
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
    console.log(JSON.stringify(await client.get(`/deals/${encode(dealId)}/dispute`), null, 2));
  });
}
