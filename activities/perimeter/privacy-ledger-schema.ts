import type { SqliteDatabase } from '../../lib/sqlite';

/** The schema version this perimeter writes; older files are migrated in place when opened. */
export const SCHEMA_VERSION = 4;

/**
 * Version 3. An entry is keyed by the deal id and the nonce of the signed terms it was made for
 * (`nonce`, empty for terms without one and for entries older than version 3), and bound to those
 * terms (`terms_hash`) and to the verified signer's key (`buyer_id`): the id signed again by the same
 * key under a new nonce is another entry; other terms under the same nonce, or another key under the
 * id, are refused. `at` is when the charge counts: the reservation's time while it is reserved
 * (a reserved charge counts whatever the window), the commit's time once committed. `touched_at` is
 * set when the perimeter starts reading data for it: from then on it can only be charged.
 */
const TABLES = `
CREATE TABLE reservations (
  deal_id TEXT NOT NULL,
  nonce TEXT NOT NULL,
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
  touched_at INTEGER,
  PRIMARY KEY (deal_id, nonce)
) STRICT;
CREATE INDEX reservations_by_dataset ON reservations (dataset, at);
CREATE INDEX reservations_by_query ON reservations (query_key, state);
CREATE TABLE answers (
  deal_id TEXT NOT NULL,
  nonce TEXT NOT NULL,
  query_key TEXT NOT NULL,
  at INTEGER NOT NULL,
  answer TEXT NOT NULL,
  PRIMARY KEY (deal_id, nonce),
  FOREIGN KEY (deal_id, nonce) REFERENCES reservations (deal_id, nonce)
) STRICT;
CREATE INDEX answers_by_query ON answers (query_key, at);
`;

/**
 * Version 4. What the perimeter decided for a deal under its signed terms, once and for good: it
 * `released` an answer, or `refused` the deal (and signed that refusal, lib/refusal-statement.ts).
 * The first outcome recorded wins; the other is refused from then on, so a refusal statement proves
 * the buyer got no answer under these terms, and an answer proves no refusal was signed for them.
 */
const OUTCOMES = `
CREATE TABLE outcomes (
  deal_id TEXT NOT NULL,
  terms_hash TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('released', 'refused')),
  at INTEGER NOT NULL,
  PRIMARY KEY (deal_id, terms_hash)
) STRICT;
`;

/**
 * Version 3 → 4: every committed reservation counts as released (a failed query's charge too: it is
 * refused no statement, and its deal is refunded once the terms expire), so no answer from before the
 * outcomes were kept can be refused afterwards.
 */
const MIGRATE_3_TO_4 = `${OUTCOMES}
INSERT OR IGNORE INTO outcomes (deal_id, terms_hash, outcome, at)
  SELECT deal_id, terms_hash, 'released', coalesce(settled_at, at) FROM reservations WHERE state = 'committed';
`;

const HOLDER = `
CREATE TABLE holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since INTEGER NOT NULL) STRICT;
`;
const SCHEMA = `${TABLES}${OUTCOMES}${HOLDER}`;

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

/**
 * Version 2 → 3, in place and inside the opening transaction: the tables are rebuilt under the new
 * key and every row is copied. Rows from before nonces were recorded get an empty nonce; such a row
 * still holds its id against any other terms (the nonce it was made under is unknown), and is found
 * again by its terms hash when the same terms come back.
 */
const MIGRATE_2_TO_3 = `
DROP INDEX reservations_by_dataset;
DROP INDEX reservations_by_query;
DROP INDEX answers_by_query;
ALTER TABLE answers RENAME TO answers_v2;
ALTER TABLE reservations RENAME TO reservations_v2;
${TABLES}
INSERT INTO reservations (deal_id, nonce, terms_hash, buyer_id, dataset, query_key, micro_epsilon, nano_rho,
                          femto_delta, at, state, settled_at, reserved_at, touched_at)
  SELECT deal_id, '', terms_hash, buyer_id, dataset, query_key, micro_epsilon, nano_rho, femto_delta, at,
         state, settled_at, reserved_at, touched_at FROM reservations_v2;
INSERT INTO answers (deal_id, nonce, query_key, at, answer)
  SELECT deal_id, '', query_key, at, answer FROM answers_v2;
DROP TABLE answers_v2;
DROP TABLE reservations_v2;
`;

export class LedgerSchemaError extends Error {
  override name = 'LedgerSchemaError';
}

/** Creates a new ledger's tables, or migrates an older one; refuses a newer or foreign file. */
export function prepareSchema(db: SqliteDatabase): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === 0) {
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
      n: number;
    };
    if (tables.n > 0) throw new LedgerSchemaError('it holds tables Tusk did not create');
    db.exec(SCHEMA);
  } else if (version >= 1 && version <= 3) {
    if (version === 1) db.exec(MIGRATE_1_TO_2);
    if (version <= 2) db.exec(MIGRATE_2_TO_3);
    db.exec(MIGRATE_3_TO_4);
  } else if (version !== SCHEMA_VERSION) {
    throw new LedgerSchemaError(
      `its schema version is ${version}, this perimeter knows ${SCHEMA_VERSION}: run a newer perimeter`,
    );
  }
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}
