import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SqliteDatabase } from '../lib/sqlite';
import { z } from 'zod';
import { RESERVATION_STATES, type PrivacyLedgerFileRow } from '../lib/privacy-ledger-row';
import { budgetScopeOf, datasetPolicy, datasetPolicySignature } from '../query-policies/dataset-policy';
import { readDatasetPolicyFile } from '../query-policies/dataset-policy-file';

const DAY_MS = 86_400_000;

/**
 * One row of the perimeter's privacy ledger (activities/perimeter/privacy-ledger.ts, `reservations`):
 * `at` is when the charge counts (its commit, for a committed one). The terms hash and touch time the
 * ledger also keeps are the perimeter's own and are not carried.
 */
export const privacyEntry = z.strictObject({
  dealId: z.string(),
  /** The signed terms' nonce the entry is kept under beside its id (ledger version 3; '' if unknown). */
  nonce: z.string().optional(),
  buyerId: z.string(),
  dataset: z.string(),
  queryKey: z.string(),
  microEpsilon: z.number().int().min(0),
  nanoRho: z.number().int().min(0),
  femtoDelta: z.number().int().min(0),
  at: z.number().int(),
  state: z.enum(RESERVATION_STATES),
});
export type PrivacyEntry = z.infer<typeof privacyEntry>;

/**
 * The seller's privacy-ledger entries for one audit subject, beside the operator-signed bundle and
 * outside its signature. Trust boundary: the ledger lives only in the seller's perimeter and never
 * passes through the operator, so these entries are read by the seller's own CLI from the seller's
 * own ledger file (`tusk audit bundle|verify --privacy-ledger`), never served by the operator's API:
 * an operator could fabricate entries that agree with its histories. With them come the seller's
 * signed dataset policy (the budgets), checked against the seller key the bundle names, and every
 * unreleased entry of the same datasets in the windows of the subject's charges, to recompute spend.
 */
export const privacyEntries = z.strictObject({
  type: z.literal('tusk.privacy-entries/v1'),
  source: z.literal('read by the seller from its own perimeter ledger'),
  ledgerFile: z.string(),
  readAt: z.iso.datetime(),
  sellerId: z.string(),
  datasetPolicy: z.strictObject({ policy: datasetPolicy, signature: datasetPolicySignature }),
  entries: z.array(privacyEntry),
});
export type PrivacyEntries = z.infer<typeof privacyEntries>;

type Row = PrivacyLedgerFileRow;

const entryOf = (row: Row): PrivacyEntry => ({
  dealId: row.deal_id,
  ...(row.nonce === undefined ? {} : { nonce: row.nonce }),
  buyerId: row.buyer_id,
  dataset: row.dataset,
  queryKey: row.query_key,
  microEpsilon: row.micro_epsilon,
  nanoRho: row.nano_rho,
  femtoDelta: row.femto_delta,
  at: row.at,
  state: row.state,
});

/**
 * Reads the entries of `releaseIds` from a privacy ledger file, and every other charge of their
 * datasets inside their windows. A running perimeter holds its ledger exclusively, so this reads a
 * copy of the file and its write-ahead log (SQLite recovers the committed transactions from it).
 */
export async function readPrivacyEntries(
  ledgerFile: string,
  policiesDir: string,
  releaseIds: string[],
  now = Date.now(),
): Promise<PrivacyEntries> {
  const signedPolicy = await readDatasetPolicyFile(policiesDir);
  const dir = await mkdtemp(join(tmpdir(), 'tusk-privacy-ledger-'));
  try {
    const copy = join(dir, basename(ledgerFile));
    await copyFile(ledgerFile, copy);
    await copyFile(`${ledgerFile}-wal`, `${copy}-wal`).catch(() => undefined);
    const db = SqliteDatabase.open(copy, { mustExist: true });
    try {
      const select = db.prepare('SELECT * FROM reservations WHERE deal_id = ?');
      const rowKey = (row: Row) => `${row.deal_id}\u0000${row.nonce ?? ''}`;
      const ownRows = releaseIds.flatMap((id) => select.all(id) as Row[]);
      const own = ownRows.map(entryOf);
      const others = new Map<string, PrivacyEntry>();
      for (const entry of own) {
        // Every dataset sharing the entry's budget; all earlier charges for a lifetime budget.
        const scope = budgetScopeOf(signedPolicy.policy, entry.dataset);
        const days = scope?.budget.windowDays;
        const from = days === undefined ? Number.MIN_SAFE_INTEGER : entry.at - days * DAY_MS;
        const rows = db
          .prepare(
            "SELECT * FROM reservations WHERE dataset IN (SELECT value FROM json_each(?)) AND at > ? AND at <= ? AND state != 'released'",
          )
          .all(JSON.stringify(scope?.datasets ?? [entry.dataset]), from, entry.at) as Row[];
        for (const row of rows) others.set(rowKey(row), entryOf(row));
      }
      for (const row of ownRows) others.set(rowKey(row), entryOf(row));
      return {
        type: 'tusk.privacy-entries/v1',
        source: 'read by the seller from its own perimeter ledger',
        ledgerFile,
        readAt: new Date(now).toISOString(),
        sellerId: signedPolicy.policy.seller,
        datasetPolicy: signedPolicy,
        entries: [...others.values()].sort((a, b) => a.at - b.at),
      };
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
