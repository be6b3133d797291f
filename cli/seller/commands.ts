import { addReviewCommands } from './reviews';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createSyntheticPatients } from '../../lib/synthetic-patients';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { CliError, home, keyPaths, withHomeOption, writeFileAtomic } from '../common';
import { addDisputeConcedeCommand, addDisputePartyCommands } from '../dispute-commands';
import { addDealsCommand } from '../party-commands';
import { addKeyCheckCommand } from '../key-check';
import { importTable } from './import';
import { exportLedger } from './ledger-export';
import { addLogCheckCommand } from './log-check';
import { addSellerSubscriptionCommands } from './subscriptions';
import { initSeller, signPolicy } from './onboarding';

function progressBar(written: number, total: number): void {
  const width = 30;
  const filled = Math.round((written / total) * width);
  process.stderr.write(
    `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${written.toLocaleString('en')} / ${total.toLocaleString('en')} rows`,
  );
  if (written === total) process.stderr.write('\n');
}

async function keygen(sellerId: string, options: { home?: string }): Promise<void> {
  const path = keyPaths(home(options.home), sellerId).signing;
  if (existsSync(path)) throw new CliError(`${path} exists; not overwriting a key`);
  const keys = generateEd25519KeyPair();
  await writeFileAtomic(path, keys.privateKeyPem, 0o600);
  console.log(`signing key: ${path}\npublic key:  ${keys.publicKey}`);
}

async function dataset(options: { home?: string; rows: string; out?: string }): Promise<void> {
  const rows = Number(options.rows);
  if (!Number.isInteger(rows) || rows < 1) throw new CliError('--rows takes a positive whole number');
  const out = resolve(options.out ?? `${home(options.home)}/data/patients.duckdb`);
  const started = performance.now();
  await createSyntheticPatients({ path: out, rows, onProgress: progressBar });
  console.log(
    `patients: ${rows.toLocaleString('en')} rows in ${out} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
}

export function registerSellerCommands(program: Command): void {
  const seller = program
    .command('seller')
    .description('sell answers from your own data, inside your perimeter');
  withHomeOption(
    seller
      .command('init <sellerId>')
      .description(
        "make the seller's key, seller.json and the perimeter's configuration in $TUSK_HOME/sellers/<id>",
      ),
  ).action(initSeller);
  withHomeOption(
    seller
      .command('import <file>')
      .description("load a CSV or Parquet file into the perimeter's DuckDB file as a table")
      .requiredOption('--table <name>', 'the table (and dataset) name')
      .option('--seller <sellerId>', 'the seller (default: $TUSK_SELLER_ID)')
      .option('--replace', 'replace a table of that name'),
  ).action(importTable);
  withHomeOption(
    seller
      .command('policy')
      .description("set a dataset's privacy budgets in the seller's signed dataset policy")
      .requiredOption('--dataset <name>', 'the dataset (table)')
      .option('--seller <sellerId>', 'the seller (default: $TUSK_SELLER_ID)')
      .option(
        '--window-days <n>',
        'refresh the budgets every n days (a rate bound); without it they are lifetime budgets',
      )
      .option('--budget-group <name>', 'datasets holding the same people share one budget: name the group')
      .option('--epsilon <ε>', 'what all buyers together may spend', '100')
      .option('--delta <δ>', 'δ all buyers together may spend', '1e-5')
      .option('--buyer-epsilon <ε>', 'what one buyer may spend', '10')
      .option('--buyer-delta <δ>', 'δ one buyer may spend', '1e-6')
      .option(
        '--columns <file>',
        "the dataset's declared column domains (JSON), written by hand: template proposals are previewed on a synthetic twin made from them",
      ),
  ).action(signPolicy);
  withHomeOption(
    seller.command('keygen <sellerId>').description("make the seller's Ed25519 signing key"),
  ).action(keygen);
  withHomeOption(
    seller
      .command('dataset')
      .description('create the synthetic patients dataset (DuckDB) of the demo')
      .option('--rows <n>', 'how many rows', '1000000')
      .option('--out <file>', 'the DuckDB file (default: $TUSK_HOME/data/patients.duckdb)'),
  ).action(dataset);
  const ledger = seller.command('ledger').description("the perimeter's privacy ledger");
  withHomeOption(
    ledger
      .command('export')
      .description(
        "a consistent copy of the privacy ledger (SQLite VACUUM INTO, under the perimeter worker's lock: stop it first)",
      )
      .requiredOption('--out <file>', 'where the copy goes (a new SQLite file)')
      .option('--seller <sellerId>', 'the seller (default: $TUSK_SELLER_ID)')
      .option('--ledger <file>', "the ledger file itself (default: from the seller's perimeter.json)"),
  ).action(exportLedger);
  addDealsCommand(seller);
  addReviewCommands(seller);
  addKeyCheckCommand(seller);
  addLogCheckCommand(seller);
  addDisputePartyCommands(seller);
  addDisputeConcedeCommand(seller);
  addSellerSubscriptionCommands(seller);
}
