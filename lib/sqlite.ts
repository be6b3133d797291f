import { existsSync } from 'node:fs';
import Libsql from 'libsql';

/**
 * SQLite for the perimeter's ledgers and the transparency log, through `libsql` (prebuilt binaries:
 * no compile on `npm ci`) with better-sqlite3's semantics where libsql 0.5.29 departs from them:
 *
 * - a single object argument would be taken for named parameters (a lone Buffer aborts the process,
 *   a lone null throws): parameters are always passed positionally;
 * - `get()` rows carry an enumerable `_metadata` field: it is removed; `all()` gives BLOBs as
 *   ArrayBuffers (`get()` as Buffers): both give Buffers here;
 * - `pragma(..., { simple: true })` returns the whole row: the first column is returned;
 * - `transaction()` issues ROLLBACK even when SQLite already rolled back (which masks the real
 *   error) and refuses nesting: rollback only when a transaction is open, savepoints when nested;
 * - `fileMustExist` is ignored: checked here;
 * - `backup()` is not implemented: `copyTo` uses `VACUUM INTO`;
 * - `close()` leaves the connection open (and its locks held) until every statement it prepared is
 *   garbage collected (tursodatabase/libsql-js#228): `close` first gives up its locks (below).
 */
export type SqlValue = string | number | bigint | Buffer | null;

export interface OpenOptions {
  /** How long to wait for another connection's lock (SQLITE_BUSY after it); 5 s by default. */
  timeoutMs?: number;
  /** Refuse to create the file. */
  mustExist?: boolean;
}

type Row = Record<string, unknown>;

const isArrayBuffer = (value: unknown): value is ArrayBuffer =>
  Object.prototype.toString.call(value) === '[object ArrayBuffer]';

/** A row as better-sqlite3 gives it: its columns only, BLOBs as Buffers. */
function plainRow(row: Row): Row {
  delete row._metadata;
  for (const [column, value] of Object.entries(row))
    if (isArrayBuffer(value)) row[column] = Buffer.from(value);
  return row;
}

/** A transaction function as better-sqlite3 builds it: call it, or pick a BEGIN mode. */
export interface Transaction<A extends unknown[], T> {
  (...args: A): T;
  deferred(...args: A): T;
  immediate(...args: A): T;
  exclusive(...args: A): T;
}

export class SqliteStatement {
  constructor(private readonly statement: Libsql.Statement<unknown[]>) {}

  get(...params: SqlValue[]): unknown {
    const row = this.statement.get(params) as Row | undefined;
    return row && plainRow(row);
  }

  all(...params: SqlValue[]): unknown[] {
    return (this.statement.all(params) as Row[]).map(plainRow);
  }

  run(...params: SqlValue[]): { changes: number } {
    const { changes } = this.statement.run(params);
    return { changes };
  }
}

export class SqliteDatabase {
  private savepoints = 0;

  private constructor(private readonly db: Libsql.Database) {}

  static open(path: string, options: OpenOptions = {}): SqliteDatabase {
    if (options.mustExist && !existsSync(path))
      throw Object.assign(new Error(`unable to open database file ${path}: it does not exist`), {
        code: 'SQLITE_CANTOPEN',
      });
    return new SqliteDatabase(new Libsql(path, { timeout: options.timeoutMs ?? 5000 }));
  }

  get open(): boolean {
    return this.db.open;
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  prepare(sql: string): SqliteStatement {
    return new SqliteStatement(this.db.prepare(sql));
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  /** `PRAGMA source`: every row, or with `simple` the first row's first column. */
  pragma(source: string, options: { simple?: boolean } = {}): unknown {
    const rows = this.prepare(`PRAGMA ${source}`).all() as Row[];
    if (!options.simple) return rows;
    const first = rows[0];
    return first === undefined ? undefined : Object.values(first)[0];
  }

  transaction<A extends unknown[], T>(work: (...args: A) => T): Transaction<A, T> {
    const inMode =
      (mode: string) =>
      (...args: A): T =>
        this.db.inTransaction ? this.nested(work, args) : this.outermost(mode, work, args);
    return Object.assign(inMode(''), {
      deferred: inMode('DEFERRED'),
      immediate: inMode('IMMEDIATE'),
      exclusive: inMode('EXCLUSIVE'),
    });
  }

  private outermost<A extends unknown[], T>(mode: string, work: (...args: A) => T, args: A): T {
    this.db.exec(`BEGIN ${mode}`);
    try {
      const result = work(...args);
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      // SQLite rolls back by itself on some errors (SQLITE_FULL, IOERR, ...): keep their error.
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  private nested<A extends unknown[], T>(work: (...args: A) => T, args: A): T {
    const name = `nested_${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = work(...args);
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw error;
    } finally {
      this.savepoints--;
    }
  }

  /**
   * A consistent copy of the whole database into a new file (`VACUUM INTO`): one read transaction,
   * so the copy is the state after the last committed transaction, write-ahead log included.
   */
  copyTo(file: string): void {
    this.db.exec(`VACUUM INTO '${file.replaceAll("'", "''")}'`);
  }

  /**
   * Closes the connection after giving up its locks: libsql keeps the connection itself open until
   * its statements are garbage collected, and an exclusive-mode connection would keep the file
   * locked that long. A WAL file in exclusive mode is checkpointed back to a rollback journal (the
   * next opening returns it to WAL) and released; a normal-mode one holds no lock between transactions.
   */
  close(): void {
    if (!this.db.open) return;
    try {
      if (!this.db.inTransaction && this.pragma('locking_mode', { simple: true }) === 'exclusive')
        this.db.exec(
          'PRAGMA journal_mode = DELETE; PRAGMA locking_mode = NORMAL; SELECT count(*) FROM sqlite_master;',
        );
    } catch {
      // A file that cannot be read (corrupt, not a database) is closed all the same; the error that
      // matters was reported by whatever found it.
    } finally {
      this.db.close();
    }
  }
}
