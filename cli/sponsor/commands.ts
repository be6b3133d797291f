import { addTemplateProposalCommands } from '../template/proposals';
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { FINAL_GRANT_STAGES, REFUSED_GRANT_STAGES, waitFor } from '../../sdk';
import {
  CliError,
  EXIT,
  partyClient,
  readText,
  withPartyOptions,
  type PartyOptions,
  jsonText,
} from '../common';
import { catalog, chooseTemplate } from '../buyer/buy';
import { owedForGrant, whatIsOwed, withPayOptions, type PayOptions } from '../settlement/pay';
import { keepSignedTerms, payAsSigned } from '../settlement/kept-terms';
import { publicGet } from '../common';
import { addDealsCommand, addKeygenCommand, encode, printStatus, progressOnStderr } from '../party-commands';
import { addKeyCheckCommand } from '../key-check';
import { checkGrantVerdicts } from './verdicts';
import { checkGrantExtensions, extensionLines } from './extensions';
import { milestoneDecisionLines, type MilestoneDecisionAnswer } from './milestone-answer';
import {
  approveMilestone,
  consentToRemainder,
  extendMilestone,
  submitGrantEvidence,
} from '../../lib/signed-actions';
import type { ApprovalCheck, RequestedMilestoneCheck } from '../../workflows/grant/shapes';

interface MilestoneInput {
  milestoneId: string;
  name: string;
  amount: string;
  deadline: string;
  /** A query check's template version may be left to the catalog: the CLI pins the one it finds. */
  check: ApprovalCheck | WithOptional<Extract<RequestedMilestoneCheck, { kind: 'query' }>, 'templateHash'>;
}

type WithOptional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

interface GrantStatus {
  grantId: string;
  stage: string;
}

async function createGrant(
  options: PartyOptions & { grantee: string; milestones: string; id?: string; wait?: boolean },
): Promise<void> {
  const client = await partyClient(options);
  let milestones: MilestoneInput[];
  try {
    milestones = JSON.parse(await readText(options.milestones, 'milestones file')) as MilestoneInput[];
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${options.milestones} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(milestones))
    throw new CliError(`${options.milestones} holds a JSON array of milestones`);
  // A query check pins the template version the sponsor saw, as a deal does.
  const pinned = await Promise.all(
    milestones.map(async ({ check, ...milestone }) => {
      if (check?.kind !== 'query') return { ...milestone, check };
      const { sellerId, ...rest } = check;
      const template = await chooseTemplate(client, check.templateId, sellerId);
      return { ...milestone, check: { ...rest, templateHash: check.templateHash ?? template.hash } };
    }),
  );
  // The catalog states the platform fee the sponsor signs.
  await catalog(client);
  const grantId = options.id ?? randomUUID();
  const signed = client.signed('grant', { grantId, granteeId: options.grantee, milestones: pinned });
  // Kept before it is sent: `tusk sponsor grant fund` pays only what this says.
  await keepSignedTerms(options.home, client, 'grant', grantId, signed);
  let status = await client.post<GrantStatus>('/grants', signed);
  if (options.wait) status = await waitGrant(grantId, options);
  printStatus(status, REFUSED_GRANT_STAGES, false);
  console.log(`grant ${status.grantId}: ${status.stage}`);
}

async function waitGrant(grantId: string, options: PartyOptions): Promise<GrantStatus> {
  const client = await partyClient(options);
  return waitFor<GrantStatus>(
    client,
    `/grants/${encode(grantId)}`,
    (s) => FINAL_GRANT_STAGES.has(s.stage as never),
    {
      onStage: progressOnStderr(grantId),
    },
  );
}

export function registerSponsorCommands(program: Command): void {
  const sponsor = program
    .command('sponsor')
    .description('fund research grants whose milestones release money as they are met');
  addKeygenCommand(sponsor, 'sponsor');
  addTemplateProposalCommands(sponsor, 'sponsor');
  const grant = sponsor.command('grant').description('a milestone grant');
  withPartyOptions(
    grant
      .command('create')
      .description('fund a grant: the total is locked in escrow, signed as your terms')
      .requiredOption('--grantee <partyId>', 'who receives the tranches')
      .requiredOption(
        '--milestones <file.json>',
        'a JSON array of {milestoneId, name, amount, deadline (ISO), check: {kind: "sponsor_approval"} or {kind: "query", templateId, parameters, metric, threshold}}',
      )
      .option('--id <grantId>', 'the grant id (default: a new UUID)')
      .option('--wait', 'wait until the grant ends (exit 1 if it failed)'),
  ).action(createGrant);
  withPayOptions(
    withPartyOptions(
      grant
        .command('fund <grantId>')
        .description("pay the grant's total into its escrow from your wallet, once it is open"),
    ),
  ).action(async (grantId: string, options: PartyOptions & PayOptions) => {
    const client = await partyClient(options);
    const owed = await whatIsOwed(client, `/grants/${encode(grantId)}`, owedForGrant, options.wait);
    await payAsSigned(owed, options, client.partyId, 'grant', grantId);
  });
  withPartyOptions(
    grant.command('status <grantId>').description("the grant's milestones and tranches (JSON)"),
  )
    .option('--wait', 'wait until the grant ends (exit 1 if it failed)')
    .action(async (grantId: string, options: PartyOptions & { wait?: boolean }) => {
      const client = await partyClient(options);
      const status = options.wait
        ? await waitGrant(grantId, options)
        : await client.get<GrantStatus>(`/grants/${encode(grantId)}`);
      printStatus(status, REFUSED_GRANT_STAGES);
    });
  withPartyOptions(
    grant
      .command('verdicts <grantId>')
      .description("check each milestone's verdict is its seller's perimeter's (exit 1 if not)"),
  ).action(checkGrantVerdicts);
  withPartyOptions(
    grant
      .command('evidence <grantId> <milestoneId>')
      .description(
        "submit evidence (the grantee, --as it); a query milestone is then checked in the seller's perimeter",
      )
      .requiredOption('--text <text>', 'the evidence')
      .option('--json', 'the whole answer as JSON'),
  ).action(
    async (
      grantId: string,
      milestoneId: string,
      options: PartyOptions & { text: string; json?: boolean },
    ) => {
      const client = await partyClient(options);
      const answer = await submitGrantEvidence<MilestoneDecisionAnswer>(
        client,
        grantId,
        milestoneId,
        options.text,
      );
      console.log(options.json ? jsonText(answer) : milestoneDecisionLines(answer).join('\n'));
    },
  );
  withPartyOptions(
    grant
      .command('approve <grantId> <milestoneId>')
      .description("approve a milestone checked by the sponsor's approval: its tranche is released")
      .option('--json', 'the whole answer as JSON'),
  ).action(async (grantId: string, milestoneId: string, options: PartyOptions & { json?: boolean }) => {
    const client = await partyClient(options);
    const answer = await approveMilestone<MilestoneDecisionAnswer>(client, grantId, milestoneId);
    console.log(options.json ? jsonText(answer) : milestoneDecisionLines(answer).join('\n'));
    if (REFUSED_GRANT_STAGES.has(answer.stage as never)) process.exitCode = EXIT.refused;
  });
  withPartyOptions(
    grant
      .command('extend <grantId> <milestoneId>')
      .description("move a milestone's deadline later, before it passes")
      .requiredOption('--deadline <iso>', 'the new deadline (ISO date-time with offset)'),
  ).action(async (grantId: string, milestoneId: string, options: PartyOptions & { deadline: string }) => {
    const client = await partyClient(options);
    const status = await extendMilestone<GrantStatus>(client, grantId, milestoneId, options.deadline);
    console.log(`grant ${grantId}: ${status.stage}`);
  });
  withPartyOptions(
    grant
      .command('extensions <grantId>')
      .description(
        "check each deadline extension shown is the sponsor's and in the transparency log, where settlement reads it (exit 1 if not)",
      )
      .option('--operator-key <key>', "the operator's pinned log key (or TUSK_OPERATOR_KEY)")
      .option('--json', 'print JSON'),
  ).action(async (grantId: string, options: PartyOptions & { operatorKey?: string; json?: boolean }) => {
    const findings = await checkGrantExtensions(grantId, options);
    console.log(options.json ? jsonText(findings) : extensionLines(grantId, findings).join('\n'));
    if (findings.some((finding) => finding.problem)) process.exitCode = EXIT.refused;
  });
  withPartyOptions(
    grant
      .command('give-back <grantId>')
      .description(
        'give what is not paid yet back to the sponsor now (the grantee, --as it), signed: the grant ends',
      ),
  ).action(async (grantId: string, options: PartyOptions) => {
    const client = await partyClient(options);
    const status = await consentToRemainder<GrantStatus>(client, grantId);
    console.log(`grant ${grantId}: ${status.stage}, the remainder goes back to the sponsor`);
  });
  withPartyOptions(
    grant
      .command('progress <grantId>')
      .description('public progress: aggregates only (JSON); anyone may read it, no --as needed'),
  ).action(async (grantId: string, options: PartyOptions) => {
    console.log(jsonText(await publicGet(options, `/public/grants/${encode(grantId)}/progress`)));
  });
  addDealsCommand(sponsor);
  addKeyCheckCommand(sponsor);
}
