import { parseArgs } from 'node:util';
import { createSyntheticPatients } from '../lib/synthetic-patients';
import { generateEd25519KeyPair } from '../lib/ed25519';
import { CliError, home, keyPaths, writeFileAtomic } from './common';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const sellerUsage = `tusk seller keygen <sellerId> [--home DIR]      make the seller's Ed25519 signing key
tusk seller dataset [--rows N] [--out FILE]     create the synthetic patients dataset (DuckDB)`;

function progressBar(written: number, total: number): void {
  const width = 30;
  const filled = Math.round((written / total) * width);
  process.stderr.write(
    `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${written.toLocaleString('en')} / ${total.toLocaleString('en')} rows`,
  );
  if (written === total) process.stderr.write('\n');
}

export async function seller(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      home: { type: 'string' },
      rows: { type: 'string', default: '1000000' },
      out: { type: 'string' },
    },
  });
  switch (command) {
    case 'keygen': {
      const sellerId = positionals[0];
      if (!sellerId) throw new CliError('usage: tusk seller keygen <sellerId>');
      const path = keyPaths(home(values.home), sellerId).signing;
      if (existsSync(path)) throw new CliError(`${path} exists; not overwriting a key`);
      const keys = generateEd25519KeyPair();
      await writeFileAtomic(path, keys.privateKeyPem, 0o600);
      console.log(`signing key: ${path}\npublic key:  ${keys.publicKey}`);
      return;
    }
    case 'dataset': {
      const rows = Number(values.rows);
      if (!Number.isInteger(rows) || rows < 1) throw new CliError('--rows takes a positive whole number');
      const out = resolve(values.out ?? `${home(values.home)}/data/patients.duckdb`);
      const started = performance.now();
      await createSyntheticPatients({ path: out, rows, onProgress: progressBar });
      console.log(
        `patients: ${rows.toLocaleString('en')} rows in ${out} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
      return;
    }
    default:
      throw new CliError(sellerUsage);
  }
}
