import { z } from 'zod';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ledgerFileOf, localLedgerAccounts } from '../../activities/settlement/ledger-accounts';
import { addParty, party, partiesFile } from '../../lib/parties';
import { readSellerFile } from '../../lib/seller-workspace';
import { CliError, home, withHomeOption, jsonText } from '../common';
import { addKeygenCommand } from '../party-commands';
import { addKeyCheckCommand } from '../key-check';
import { formatTable } from '../../lib/format-table';
import { registerOperatorServices } from '../../lib/service-parties';

const ledger = (options: { home?: string }) => localLedgerAccounts(ledgerFileOf(home(options.home)));

export const partiesPath = (options: { home?: string }) =>
  process.env.TUSK_PARTIES_FILE ?? join(home(options.home), 'parties.json');

interface PartyAddOptions {
  home?: string;
  role?: string;
  publicKey?: string;
  perimeterKey?: string;
  perimeterSealingKey?: string;
  webhook?: string;
  aztecAddress?: string;
  from?: string;
}

async function partyAdd(id: string, options: PartyAddOptions): Promise<void> {
  // A seller's key is read from its seller.json, the one place it is written down.
  const seller = options.from ? await readSeller(options.from) : undefined;
  if (seller && seller.seller !== id)
    throw new CliError(`${options.from} is seller ${seller.seller}, not ${id}`);
  const parsed = party.safeParse({
    id,
    role: options.role ?? (seller ? 'seller' : undefined),
    publicKey: options.publicKey ?? seller?.publicKey,
    perimeterKey: options.perimeterKey ?? seller?.perimeterKey,
    perimeterSealingKey: options.perimeterSealingKey ?? seller?.perimeterSealingKey,
    webhookUrl: options.webhook,
    aztecAddress: options.aztecAddress,
  });
  if (!parsed.success) throw new CliError(z.prettifyError(parsed.error));
  await addParty(partiesPath(options), parsed.data);
  console.log(`registered ${parsed.data.role} ${parsed.data.id}`);
}

async function partyList(options: { home?: string; json: boolean }): Promise<void> {
  const path = partiesPath(options);
  const text = await readFile(path, 'utf8').catch(() => {
    throw new CliError(`no parties registered yet: ${path} does not exist (tusk operator party add)`);
  });
  const parsed = partiesFile.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new CliError(`${path} is not a parties file: ${z.prettifyError(parsed.error)}`, 1);
  const parties = [...parsed.data.parties].sort((a, b) => a.id.localeCompare(b.id));
  if (options.json) {
    console.log(jsonText(parties));
    return;
  }
  console.log(
    formatTable(
      ['id', 'role', 'public key', 'perimeter key', 'webhook'],
      parties.map((p) => [p.id, p.role, p.publicKey, p.perimeterKey ?? '', p.webhookUrl ?? '']),
    ),
  );
}

async function readSeller(path: string) {
  try {
    return readSellerFile(path);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

export function registerOperatorCommands(program: Command): void {
  const operator = program.command('operator').description('run the service: parties and the local ledger');
  addKeygenCommand(operator, 'operator');
  addKeyCheckCommand(operator);
  const parties = operator.command('party').description('the registry of parties and their keys');
  withHomeOption(
    parties
      .command('add <id>')
      .description('register a party (its Aztec account, when settling on Aztec)')
      .option('--role <role>', 'buyer, seller, sponsor, auditor, compliance or operator')
      .option('--public-key <key>', 'its request-signing Ed25519 public key (base64url)')
      .option('--perimeter-key <key>', "a seller's perimeter key (it signs what the perimeter releases)")
      .option(
        '--perimeter-sealing-key <key>',
        "a seller's perimeter sealing key (X25519: template proposals are sealed to it)",
      )
      .option('--from <seller.json>', "a seller's seller.json: its role, key and perimeter key from there")
      .option('--webhook <url>', 'where its deal events are posted')
      .option('--aztec-address <address>', 'its Aztec account'),
  ).action(partyAdd);
  withHomeOption(
    parties
      .command('list')
      .description('the registered parties: id, role and keys')
      .option('--json', 'as JSON', false),
  ).action(partyList);
  withHomeOption(
    operator
      .command('services')
      .description("the operator's own processes that read the key log")
      .command('register')
      .description(
        'register settlement and the coordinator as parties (operator-settlement, operator-coordinator), each with its own key; safe to repeat',
      ),
  ).action(async (options: { home?: string }) => {
    for (const service of await registerOperatorServices(partiesPath(options), home(options.home)))
      console.log(
        `${service.partyId}: ${service.changed ? 'registered' : 'already registered'} (${service.publicKey})`,
      );
  });
  withHomeOption(
    operator
      .command('fund <account> <amount>')
      .description('credit an account on the local development ledger'),
  ).action(async (account: string, amount: string, options: { home?: string }) => {
    if (!/^[1-9][0-9]*$/.test(amount)) throw new CliError('the amount is a positive whole number');
    await ledger(options).mint(account, BigInt(amount));
    console.log(`${account}: ${await ledger(options).balanceOf(account)}`);
  });
  withHomeOption(
    operator.command('balance <account>').description("an account's balance on the local development ledger"),
  ).action(async (account: string, options: { home?: string }) => {
    console.log(`${account}: ${await ledger(options).balanceOf(account)}`);
  });
}
