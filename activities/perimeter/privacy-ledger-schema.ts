import type Database from 'better-sqlite3';

/** The schema version this perimeter writes; older files are migrated in place when opened. */
export const SCHEMA_VERSION = 2;

/**
 * Version 2. A reservation is bound to the signed terms it was made for (`terms_hash`) and to the
 * verified signer's key (`buyer_id`): nothing is served or charged under the same deal id for other
 * terms or another key. `at` is when the charge counts: the reservation's time while it is reserved
 * (a reserved charge counts whatever the window), the commit's time once committed. `touched_at` is
 * set when the perimeter starts reading data for it: from then on it can only be charged.
 */
const SCHEMA = `
CREATE TABLE reservations (
  deal_id TEXT PRIMARY KEY,
  terms_hash TEXT NOT NULL,
  buyer_id TEXT NOT NULL,
  dataset TEXT NOT NULL,
  query_key TEXT NOT NULL,
  micro_epsilon INTEGER NOT NULL CHECK (micro_epsilon >= 0),
  nano_rho INTEGER NOT NULL CHECK (nano_rho >= 0),
  femto_delta INTEGER NOT NULL CHECK (femto_delta >= 0),
  at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
  settled_at INTEGER,
  reserved_at INTEGER NOT NULL,
  touched_at INTEGER
) STRICT;
CREATE INDEX reservations_by_dataset ON reservations (dataset, at);
CREATE INDEX reservations_by_query ON reservations (query_key, state);
CREATE TABLE answers (
  deal_id TEXT PRIMARY KEY REFERENCES reservations (deal_id),
  query_key TEXT NOT NULL,
  at INTEGER NOT NULL,
  answer TEXT NOT NULL
) STRICT;
CREATE INDEX answers_by_query ON answers (query_key, at);
CREATE TABLE holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since INTEGER NOT NULL) STRICT;
`;

/**
 * Version 1 → 2, in place and inside the opening transaction: every charge is kept. Rows made before
 * terms were bound get an empty terms hash, which no signed terms hash to, so a later call with the
 * same id is refused rather than served an answer paid for under terms nobody can show. A committed
 * charge is re-dated to its commit (`settled_at`), which is when its answer went out.
 */
const MIGRATE_1_TO_2 = `
ALTER TABLE reservations ADD COLUMN terms_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN reserved_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN touched_at INTEGER;
UPDATE reservations SET reserved_at = at;
UPDATE reservations SET at = settled_at WHERE state = 'committed' AND settled_at IS NOT NULL;
CREATE INDEX reservations_by_query ON reservations (query_key, state);
`;

export class LedgerSchemaError extends Error {
  override name = 'LedgerSchemaError';
}

/** Creates a new ledger's tables, or migrates an older one; refuses a newer or foreign file. */
export function prepareSchema(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === 0) {
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
      n: number;
    };
    if (tables.n > 0) throw new LedgerSchemaError('it holds tables Tusk did not create');
    db.exec(SCHEMA);
  } else if (version === 1) {
    db.exec(MIGRATE_1_TO_2);
  } else if (version !== SCHEMA_VERSION) {
    throw new LedgerSchemaError(
      `its schema version is ${version}, this perimeter knows ${SCHEMA_VERSION}: run a newer perimeter`,
    );
  }
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}
