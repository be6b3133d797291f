import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { LocalLedger } from '../activities/settlement/local-ledger';
import { party, partiesFile, type Party } from '../lib/parties';
import { CliError, home, writeFileAtomic } from './common';
import { readFile } from 'node:fs/promises';

export const operatorUsage = `tusk operator party add <id> --role ROLE --public-key KEY [--webhook URL] [--aztec-address ADDR]
                                            register a party (its Aztec account, when settling on Aztec)
tusk operator fund <account> <amount>       credit an account on the local development ledger
tusk operator balance <account>             an account's balance on the local development ledger
tusk operator retry <id> --as <operator> [--kind deal|multi-seller-deal|subscription|grant] [--json]
                                            retry a lifecycle's failed money steps (needs_attention)`;

export async function addParty(partiesPath: string, entry: Party): Promise<void> {
  const text = await readFile(partiesPath, 'utf8').catch(() => '{"parties":[]}');
  const current = partiesFile.parse(JSON.parse(text));
  const parties = [...current.parties.filter((p) => p.id !== entry.id), entry];
  await writeFileAtomic(partiesPath, `${JSON.stringify({ parties }, null, 2)}\n`);
}

export async function operator(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      home: { type: 'string' },
      role: { type: 'string' },
      'public-key': { type: 'string' },
      webhook: { type: 'string' },
      'aztec-address': { type: 'string' },
    },
  });
  const homeDir = home(values.home);
  const ledger = () => new LocalLedger(process.env.TUSK_LEDGER_FILE ?? join(homeDir, 'ledger.jsonl'));
  const [command, sub, id] = positionals;
  if (command === 'party' && sub === 'add') {
    const parsed = party.safeParse({
      id,
      role: values.role,
      publicKey: values['public-key'],
      webhookUrl: values.webhook,
      aztecAddress: values['aztec-address'],
    });
    if (!parsed.success)
      throw new CliError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    await addParty(process.env.TUSK_PARTIES_FILE ?? join(homeDir, 'parties.json'), parsed.data);
    console.log(`registered ${parsed.data.role} ${parsed.data.id}`);
    return;
  }
  if (command === 'fund') {
    const [account, value] = [sub, id];
    if (!account || !value || !/^[1-9][0-9]*$/.test(value))
      throw new CliError('usage: tusk operator fund <account> <amount>');
    await ledger().mint(account, BigInt(value));
    console.log(`${account}: ${await ledger().balanceOf(account)}`);
    return;
  }
  if (command === 'balance' && sub) {
    console.log(`${sub}: ${await ledger().balanceOf(sub)}`);
    return;
  }
  throw new CliError(operatorUsage);
}
