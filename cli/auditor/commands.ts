import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { FINAL_DISCLOSURE_STAGES, waitFor } from '../../sdk';
import { EXIT, partyClient, withPartyOptions, type PartyOptions, jsonText } from '../common';
import { addDealsCommand, addKeygenCommand, encode, progressOnStderr } from '../party-commands';
import { addKeyCheckCommand } from '../key-check';
import { viewDisclosure } from '../../lib/signed-actions';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerAuditorCommands(program: Command): void {
  const auditor = program
    .command('auditor')
    .description('see deals without their parties and amounts; ask for disclosures');
  addKeygenCommand(auditor, 'auditor');
  withPartyOptions(
    auditor.command('deal <dealId>').description('a deal as auditors see it (parties and amount hidden)'),
  ).action(async (dealId: string, options: PartyOptions) => {
    const client = await partyClient(options);
    console.log(jsonText(await client.get(`/deals/${encode(dealId)}`)));
  });
  const disclosure = auditor.command('disclosure').description("ask to see a deal's hidden fields");
  withPartyOptions(
    disclosure
      .command('request <dealId>')
      .description('ask, with a reason; two compliance principals decide')
      .requiredOption('--reason <text>', 'why (at least 10 characters; recorded)')
      .option('--field <field>', 'a hidden field to see (repeat; default: all)', collect)
      .option('--id <disclosureId>', 'the disclosure id (default: a new UUID)')
      .option('--wait', 'wait for the decision (exit 1 unless approved)'),
  ).action(
    async (
      dealId: string,
      options: PartyOptions & { reason: string; field?: string[]; id?: string; wait?: boolean },
    ) => {
      const client = await partyClient(options);
      const disclosureId = options.id ?? randomUUID();
      let status = await client.post<{ disclosureId: string; stage: string }>('/disclosures', {
        disclosureId,
        dealId,
        reason: options.reason,
        ...(options.field ? { fields: options.field } : {}),
      });
      if (options.wait)
        status = await waitFor<{ disclosureId: string; stage: string }>(
          client,
          `/disclosures/${encode(disclosureId)}`,
          (s) => FINAL_DISCLOSURE_STAGES.has(s.stage as never),
          { onStage: progressOnStderr(disclosureId) },
        );
      console.log(`disclosure ${status.disclosureId}: ${status.stage}`);
      if (options.wait && status.stage !== 'approved') process.exitCode = EXIT.refused;
    },
  );
  withPartyOptions(
    disclosure.command('status <disclosureId>').description('stage, decisions, views (JSON)'),
  ).action(async (id: string, options: PartyOptions) => {
    const client = await partyClient(options);
    console.log(jsonText(await client.get(`/disclosures/${encode(id)}`)));
  });
  withPartyOptions(
    disclosure.command('view <disclosureId>').description('see the approved fields (each view is recorded)'),
  ).action(async (id: string, options: PartyOptions) => {
    const client = await partyClient(options);
    console.log(jsonText(await viewDisclosure(client, id)));
  });
  addDealsCommand(auditor);
  addKeyCheckCommand(auditor);
}
