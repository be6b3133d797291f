import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDatabase } from '../../lib/sqlite';

/** Another process taking the file's exclusive lock, as a second perimeter worker would. */
const lockFromAnotherProcess = (path: string) =>
  execFileSync(
    process.execPath,
    [
      '-e',
      `const D = require('libsql'); const db = new D(${JSON.stringify(path)}, { timeout: 100 });
       try { db.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN IMMEDIATE; COMMIT;'); console.log('locked'); }
       catch (e) { console.log(e.code); }`,
    ],
    { encoding: 'utf8' },
  ).trim();

describe('SQLite through libsql, with better-sqlite3 semantics', () => {
  let dir: string;
  let path: string;
  let db: SqliteDatabase;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-sqlite-'));
    path = join(dir, 'db.sqlite');
    db = SqliteDatabase.open(path);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, hash BLOB, note TEXT)');
  });
  afterEach(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('binds a lone Buffer or null as a value and gives rows without metadata, BLOBs as Buffers', () => {
    const hash = Buffer.from('c0ffee', 'hex');
    db.prepare('INSERT INTO t (hash, note) VALUES (?, ?)').run(hash, null);
    expect(db.prepare('SELECT id, note FROM t WHERE hash = ?').get(hash)).toEqual({ id: 1, note: null });
    expect(db.prepare('SELECT id FROM t WHERE ? IS NULL').get(null)).toEqual({ id: 1 });
    expect(db.prepare('SELECT hash FROM t').get()).toEqual({ hash });
    expect(db.prepare('SELECT hash FROM t').all()).toEqual([{ hash }]);
    expect(db.prepare('SELECT id FROM t WHERE id = ?').get(2)).toBeUndefined();
  });

  it('reads a pragma as its value', () => {
    expect(db.pragma('journal_mode = WAL', { simple: true })).toBe('wal');
    db.pragma('synchronous = FULL');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(db.pragma('quick_check', { simple: true })).toBe('ok');
  });

  it('rolls a failed transaction back with its own error, and nests through savepoints', () => {
    const insert = db.prepare('INSERT INTO t (note) VALUES (?)');
    expect(() =>
      db
        .transaction(() => {
          insert.run('lost');
          throw new Error('refused');
        })
        .immediate(),
    ).toThrow('refused');
    // A transaction SQLite already ended keeps the error that ended it.
    expect(() =>
      db.transaction(() => {
        db.exec('ROLLBACK');
        throw new Error('the real cause');
      })(),
    ).toThrow('the real cause');
    db.transaction(() => {
      insert.run('outer');
      expect(() =>
        db.transaction(() => {
          insert.run('inner');
          throw new Error('inner refused');
        })(),
      ).toThrow('inner refused');
    })();
    expect(db.prepare('SELECT note FROM t').all()).toEqual([{ note: 'outer' }]);
    expect(db.inTransaction).toBe(false);
  });

  it('holds an exclusive lock against other processes until it is closed, then releases it', () => {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.transaction(() => db.prepare('INSERT INTO t (note) VALUES (?)').run('held')).immediate();
    db.prepare('SELECT count(*) AS n FROM t').get();
    expect(lockFromAnotherProcess(path)).toBe('SQLITE_BUSY');
    db.close();
    expect(lockFromAnotherProcess(path)).toBe('locked');
    db = SqliteDatabase.open(path, { timeoutMs: 100 });
    expect(db.prepare('SELECT note FROM t').all()).toEqual([{ note: 'held' }]);
  });

  it('copies a consistent database, write-ahead log included, into one new file', () => {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.prepare('INSERT INTO t (note) VALUES (?)').run('in the log');
    const out = join(dir, "it's a copy.sqlite");
    db.copyTo(out);
    expect(existsSync(`${out}-wal`)).toBe(false);
    const copy = SqliteDatabase.open(out, { mustExist: true });
    try {
      expect(copy.prepare('SELECT note FROM t').all()).toEqual([{ note: 'in the log' }]);
    } finally {
      copy.close();
    }
  });

  it('refuses to create a file it must find', () => {
    const missing = join(dir, 'missing.sqlite');
    expect(() => SqliteDatabase.open(missing, { mustExist: true })).toThrow(/does not exist/);
    expect(existsSync(missing)).toBe(false);
  });
});
