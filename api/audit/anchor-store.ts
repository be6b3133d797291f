import { SqliteDatabase } from '../../lib/sqlite';
import { logAnchor, type LogAnchor } from '../../lib/transparency/anchor';

/**
 * The anchors of the transparency log's heads, in the log's own SQLite file (a table of its own). The
 * record only says where to look: an auditor trusts the chain, never this table.
 */
export class AnchorStore {
  private constructor(private readonly db: SqliteDatabase) {}

  static open(path: string): AnchorStore {
    const db = SqliteDatabase.open(path, { timeoutMs: 5000 });
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE IF NOT EXISTS anchors (
      tree_size INTEGER NOT NULL,
      root_hash TEXT NOT NULL,
      anchor TEXT NOT NULL,
      PRIMARY KEY (tree_size, root_hash)
    )`);
    return new AnchorStore(db);
  }

  close(): void {
    this.db.close();
  }

  record(anchor: LogAnchor): void {
    this.db
      .prepare('INSERT OR IGNORE INTO anchors VALUES (?, ?, ?)')
      .run(anchor.treeSize, anchor.rootHash, JSON.stringify(logAnchor.parse(anchor)));
  }

  /** Oldest first. */
  all(): LogAnchor[] {
    return (
      this.db.prepare('SELECT anchor FROM anchors ORDER BY tree_size, rowid').all() as { anchor: string }[]
    ).map((row) => logAnchor.parse(JSON.parse(row.anchor)));
  }

  latest(): LogAnchor | undefined {
    return this.all().at(-1);
  }
}
