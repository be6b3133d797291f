import { join } from 'node:path';
import { LocalLedger } from './local-ledger';
import type { LedgerAccounts } from './port';

/** The ledger file of a Tusk home, unless TUSK_LEDGER_FILE names another (as the settlement worker reads it). */
export const ledgerFileOf = (home: string): string =>
  process.env.TUSK_LEDGER_FILE ?? join(home, 'ledger.jsonl');

/**
 * The accounts of the local development ledger kept in `path`, for the operator's tools: credit and
 * read, never a deal's escrow (that is the settlement worker's, through SettlementPort).
 */
export function localLedgerAccounts(path: string): LedgerAccounts {
  return new LocalLedger(path);
}
