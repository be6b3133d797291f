import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SqliteDatabase } from '../../lib/sqlite';
import { PRIVACY_LEDGER_FILE, readPerimeterConfig, sellerWorkspace } from '../../lib/seller-workspace';
import { CliError, home } from '../common';

export interface LedgerExportOptions {
  home?: string;
  seller?: string;
  ledger?: string;
  out: string;
}

/**
 * A consistent copy of the perimeter's privacy ledger, for the seller's records or an auditor, taken
 * with `VACUUM INTO` (one read transaction: the state after the last committed charge, its
 * write-ahead log included) under the ledger's own single-writer lock: a running perimeter holds that
 * lock (and keeps recent charges in its write-ahead log, which no other process can read), so the
 * export asks for the perimeter to be stopped rather than copy a file that misses them. A plain file
 * copy without its -wal file is how "no such table" happens.
 */
export async function exportLedger(options: LedgerExportOptions): Promise<void> {
  const source = ledgerFile(options);
  if (!existsSync(source))
    throw new CliError(`no privacy ledger at ${source}: has this perimeter answered a query yet?`);
  const out = resolve(options.out);
  if (existsSync(out)) throw new CliError(`${out} exists; not overwriting it`);
  const db = holdLedger(source);
  try {
    db.copyTo(out);
  } catch (error) {
    throw new CliError(`cannot write the copy ${out}: ${(error as Error).message}`, 1);
  } finally {
    db.close();
  }
  // The copy keeps the ledger's WAL mode; one self-contained file is what an auditor should get.
  const copy = SqliteDatabase.open(out);
  try {
    copy.pragma('journal_mode = DELETE');
    const count = (table: string) =>
      (copy.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    console.log(
      `exported ${source}\n  to ${out}: ${count('reservations').toLocaleString('en')} charges, ` +
        `${count('answers').toLocaleString('en')} stored answers`,
    );
  } finally {
    copy.close();
  }
}

/** Opens the ledger under the lock a perimeter takes, so none runs (or starts) while it is copied. */
function holdLedger(source: string): SqliteDatabase {
  let db: SqliteDatabase | undefined;
  try {
    db = SqliteDatabase.open(source, { mustExist: true, timeoutMs: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN IMMEDIATE; COMMIT;');
    return db;
  } catch (error) {
    db?.close();
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      throw new CliError(
        `a perimeter worker is running and holds ${source}; stop it (\`tusk down\`, or Ctrl-C) and export again`,
        1,
      );
    throw new CliError(`cannot open the privacy ledger ${source}: ${(error as Error).message}`, 1);
  }
}

/** --ledger, else the state directory of the seller's perimeter.json, else $TUSK_HOME/perimeter/<seller>. */
function ledgerFile(options: LedgerExportOptions): string {
  if (options.ledger) return resolve(options.ledger);
  const sellerId = options.seller ?? process.env.TUSK_SELLER_ID;
  if (!sellerId) throw new CliError('missing --seller <sellerId> (or TUSK_SELLER_ID), or --ledger <file>');
  const homeDir = home(options.home);
  const workspace = sellerWorkspace(homeDir, sellerId);
  if (existsSync(workspace.perimeterFile)) {
    const stateDir = readPerimeterConfig(workspace.perimeterFile).stateDir;
    if (stateDir) return join(stateDir, PRIVACY_LEDGER_FILE);
  }
  return join(homeDir, 'perimeter', sellerId, PRIVACY_LEDGER_FILE);
}
