import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { generateEd25519KeyPair, type TuskClient } from '../sdk';
import { formatTable } from '../lib/format-table';
import {
  CliError,
  EXIT,
  home,
  jsonText,
  keyPaths,
  partyClient,
  print,
  withHomeOption,
  withPartyOptions,
  writeFileAtomic,
  type PartyOptions,
} from './common';

/** `tusk <role> keygen <id>`: the party's request-signing key; the public key is what the operator registers. */
export function addKeygenCommand(group: Command, role: string): void {
  withHomeOption(
    group
      .command('keygen <partyId>')
      .description(`make the ${role}'s request-signing Ed25519 key in $TUSK_HOME/keys`),
  ).action(async (partyId: string, options: { home?: string }) => {
    const path = keyPaths(home(options.home), partyId).signing;
    if (existsSync(path)) throw new CliError(`${path} exists; not overwriting a key`);
    const keys = generateEd25519KeyPair();
    await writeFileAtomic(path, keys.privateKeyPem, 0o600);
    console.log(
      `signing key: ${path}\npublic key (register it): ${keys.publicKey}\n` +
        `  tusk operator party add ${partyId} --role ${role} --public-key ${keys.publicKey}`,
    );
  });
}

interface DealListing {
  deals: { id: string; kind: string; stage: string; startedAt: number; closedAt?: number }[];
}

const when = (ms?: number) => (ms === undefined ? '' : new Date(ms).toISOString());

/** `tusk <role> deals`: the deals this party may see (GET /deals). */
export function addDealsCommand(group: Command): void {
  withPartyOptions(group.command('deals').description('list your deals, newest first'))
    .option('--kind <kind>', 'only deals of this kind (deal, multi_seller, subscription, grant, ...)')
    .option('--since <time>', 'started at or after (ISO date or time)')
    .option('--until <time>', 'started before (ISO date or time)')
    .option('--limit <n>', 'at most this many')
    .option('--json', 'print JSON')
    .action(
      async (
        options: PartyOptions & {
          kind?: string;
          since?: string;
          until?: string;
          limit?: string;
          json?: boolean;
        },
      ) => {
        const client = await partyClient(options);
        const query = new URLSearchParams();
        for (const key of ['kind', 'since', 'until', 'limit'] as const) {
          const value = options[key];
          if (value !== undefined) query.set(key, value);
        }
        const listing = await client.get<DealListing>(
          `/deals${query.size > 0 ? `?${query.toString()}` : ''}`,
        );
        print(options.json, listing, () =>
          formatTable(
            ['id', 'kind', 'stage', 'started', 'closed'],
            listing.deals.map((d) => [d.id, d.kind, d.stage, when(d.startedAt), when(d.closedAt)]),
          ),
        );
      },
    );
}

/** A stage change on stderr, so stdout stays the answer. */
export const progressOnStderr =
  (id: string) =>
  (status: { stage: string }): void => {
    process.stderr.write(`${id}: ${status.stage}\n`);
  };

/** Prints a lifecycle's status (JSON), and exits 1 when it ended refused or failed. */
export function printStatus(status: { stage: string }, refused: ReadonlySet<string>, json = true): void {
  if (json) console.log(jsonText(status));
  if (refused.has(status.stage)) process.exitCode = EXIT.refused;
}

export const encode = encodeURIComponent;
export type { TuskClient };
