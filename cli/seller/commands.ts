import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createSyntheticPatients } from '../../lib/synthetic-patients';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { CliError, home, keyPaths, withHomeOption, writeFileAtomic } from '../common';

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
    seller.command('keygen <sellerId>').description("make the seller's Ed25519 signing key"),
  ).action(keygen);
  withHomeOption(
    seller
      .command('dataset')
      .description('create the synthetic patients dataset (DuckDB) of the demo')
      .option('--rows <n>', 'how many rows', '1000000')
      .option('--out <file>', 'the DuckDB file (default: $TUSK_HOME/data/patients.duckdb)'),
  ).action(dataset);
}
