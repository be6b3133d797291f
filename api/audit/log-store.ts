import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteDatabase } from '../../lib/sqlite';
import { canonicalJson } from '../../lib/canonical-json';
import { consistencyProof, inclusionProof, rootOf, type Hash } from '../../lib/transparency/merkle';
import type { OperatorSigner } from '../../lib/transparency/operator-key';
import { signDocument } from '../../lib/transparency/signed-document';
import { entryLeafHash, type LogEntry, type SignedTreeHead } from '../../lib/transparency/tree-head';
import {
  keyRegistration,
  keySubject,
  registrationEntry,
  type KeyPurpose,
  type KeyRegistration,
  type KeyRegistrations,
} from '../../lib/transparency/key-registration';
import type { PartyRole } from '../../lib/parties';
import type { ReleaseLogWriter } from '../../lib/key-log';
import {
  lookedUpEntry,
  type LookedUpKind,
  type ReleaseAppendRequest,
  type ReleaseLookup,
} from '../../lib/transparency/release-entry';
import { canonicalHash } from '../../lib/canonical-json';

export class LogRangeError extends Error {
  override name = 'LogRangeError';
}

/**
 * The operator's transparency log: an append-only Merkle log (RFC 9162) in its own SQLite file, with
 * the signed documents it vouches for (receipts, bundle digests) kept beside their leaves. Every append
 * stores the leaf, the document and a newly signed tree head in one transaction, so a crash leaves
 * either all of them or none. Nothing is ever updated or deleted; SQL triggers refuse it.
 */
export class TransparencyLog {
  private leafCache: Hash[] | undefined;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly signer: OperatorSigner,
  ) {}

  static open(path: string, signer: OperatorSigner): TransparencyLog {
    mkdirSync(dirname(path), { recursive: true });
    const db = SqliteDatabase.open(path, { timeoutMs: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`
      CREATE TABLE IF NOT EXISTS leaves (
        leaf_index INTEGER PRIMARY KEY,
        leaf_hash BLOB NOT NULL,
        entry TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        deal_id TEXT NOT NULL,
        document TEXT NOT NULL,
        appended_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS leaves_by_deal ON leaves (deal_id, kind);
      CREATE TABLE IF NOT EXISTS tree_heads (tree_size INTEGER PRIMARY KEY, head TEXT NOT NULL);
      CREATE TRIGGER IF NOT EXISTS leaves_append_only_u BEFORE UPDATE ON leaves
        BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS leaves_append_only_d BEFORE DELETE ON leaves
        BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END;
    `);
    const log = new TransparencyLog(db, signer);
    if (log.size() === 0 && !log.headAt(0)) log.storeHead(0);
    return log;
  }

  close(): void {
    this.db.close();
  }

  size(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM leaves').get() as { n: number }).n;
  }

  private leaves(): Hash[] {
    // Another process may have appended: the cache is only trusted if its size still matches.
    const size = this.size();
    if (!this.leafCache || this.leafCache.length !== size)
      this.leafCache = (
        this.db.prepare('SELECT leaf_hash FROM leaves ORDER BY leaf_index').all() as { leaf_hash: Buffer }[]
      ).map((row) => row.leaf_hash);
    return this.leafCache;
  }

  private storeHead(size: number): SignedTreeHead {
    const root = rootOf(this.leaves().slice(0, size));
    const head = signDocument(this.signer, {
      type: 'tusk.tree-head/v1' as const,
      treeSize: size,
      rootHash: root.toString('hex'),
      timestamp: Date.now(),
    });
    this.db.prepare('INSERT OR IGNORE INTO tree_heads VALUES (?, ?)').run(size, JSON.stringify(head));
    return head;
  }

  /**
   * Appends an entry with the document it names, once: appending the same entry again returns where
   * it already is. `document` is what the entry's digest covers (kept so the operator can serve it).
   */
  append(
    entry: LogEntry,
    document: unknown,
    options: { onePerDeal?: boolean } = {},
  ): { leafIndex: number; appended: boolean } {
    const text = canonicalJson(entry);
    return this.db
      .transaction(() => {
        // One receipt per deal: two issuers racing (the sweep, a request) keep the first, atomically.
        const existing = (
          options.onePerDeal
            ? this.db
                .prepare(
                  'SELECT leaf_index FROM leaves WHERE deal_id = ? AND kind = ? ORDER BY leaf_index LIMIT 1',
                )
                .get(entry.dealId, entry.kind)
            : this.db.prepare('SELECT leaf_index FROM leaves WHERE entry = ?').get(text)
        ) as { leaf_index: number } | undefined;
        if (existing) return { leafIndex: existing.leaf_index, appended: false };
        const leafIndex = this.size();
        this.db
          .prepare('INSERT INTO leaves VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(
            leafIndex,
            entryLeafHash(entry),
            text,
            entry.kind,
            entry.dealId,
            JSON.stringify(document),
            Date.now(),
          );
        this.leafCache = undefined;
        this.storeHead(leafIndex + 1);
        return { leafIndex, appended: true };
      })
      .immediate();
  }

  /** The document logged for a deal under a kind (the first, if several). */
  documentFor(dealId: string, kind: LogEntry['kind']): { leafIndex: number; document: unknown } | undefined {
    const row = this.db
      .prepare(
        'SELECT leaf_index, document FROM leaves WHERE deal_id = ? AND kind = ? ORDER BY leaf_index LIMIT 1',
      )
      .get(dealId, kind) as { leaf_index: number; document: string } | undefined;
    return row && { leafIndex: row.leaf_index, document: JSON.parse(row.document) };
  }

  /** Every registration of a subject's key, oldest first, with its leaf. */
  private registrationsOf(subject: string): { leafIndex: number; registration: KeyRegistration }[] {
    const rows = this.db
      .prepare(
        "SELECT leaf_index, document FROM leaves WHERE deal_id = ? AND kind = 'key-registration' ORDER BY leaf_index",
      )
      .all(subject) as { leaf_index: number; document: string }[];
    return rows.map((row) => ({
      leafIndex: row.leaf_index,
      registration: keyRegistration.parse(JSON.parse(row.document)),
    }));
  }

  /**
   * Logs that `publicKey` speaks for the party, unless it already is the party's newest registration:
   * one transaction, so two API processes syncing the same registry append it once.
   */
  registerKey(party: { id: string; role: PartyRole; publicKey: string }, purpose: KeyPurpose): boolean {
    return this.db
      .transaction(() => {
        const earlier = this.registrationsOf(keySubject(party.id, purpose));
        const newest = earlier.at(-1)?.registration;
        if (newest && newest.publicKey === party.publicKey && newest.role === party.role) return false;
        const registration: KeyRegistration = {
          type: 'tusk.key-registration/v1',
          partyId: party.id,
          role: party.role,
          purpose,
          publicKey: party.publicKey,
          sequence: earlier.length,
          registeredAt: Date.now(),
        };
        return this.append(registrationEntry(registration), registration).appended;
      })
      .immediate();
  }

  /**
   * A party's current keys, of either purpose (its newest registration of each): what may sign its
   * reads of the log. A key a later registration superseded is retired and signs for nobody.
   */
  currentKeys(partyId: string): KeyRegistration[] {
    return (['party', 'perimeter', 'perimeter-sealing'] as const).flatMap((purpose) => {
      const newest = this.registrationsOf(keySubject(partyId, purpose)).at(-1);
      return newest ? [newest.registration] : [];
    });
  }

  /** A party's current key of one purpose as this log holds it: the API's own view, no proofs needed. */
  async currentKey(partyId: string, purpose: KeyPurpose = 'party'): Promise<KeyRegistration | undefined> {
    return this.registrationsOf(keySubject(partyId, purpose)).at(-1)?.registration;
  }

  /** A subject's registrations with their proofs at the current head, and consistency from `since`. */
  keyRegistrations(partyId: string, purpose: KeyPurpose, since = 0): KeyRegistrations {
    const subject = keySubject(partyId, purpose);
    return this.db
      .transaction(() => {
        const treeHead = this.head();
        const size = treeHead.body.treeSize;
        const leaves = this.leaves().slice(0, size);
        return {
          subject,
          treeHead,
          registrations: this.registrationsOf(subject).map(({ leafIndex, registration }) => ({
            registration,
            leafIndex,
            path: inclusionProof(leaves, leafIndex).map((h) => h.toString('hex')),
          })),
          consistency: this.consistency(Math.min(since, size), size),
        };
      })
      .deferred();
  }

  /** Logs a perimeter's release once (a retry finds it), answering with its proof at the new head. */
  logRelease(request: ReleaseAppendRequest, since = 0): ReleaseLookup {
    this.append(lookedUpEntry('release', request.lookupKey, request.digest), request);
    return this.releaseLookup(request.lookupKey, since);
  }

  /** Logs a sponsor's signed deadline extension once, kept beside its leaf to be served with it. */
  logExtension(lookupKey: string, extension: unknown, since = 0): ReleaseLookup {
    this.append(lookedUpEntry('extension', lookupKey, canonicalHash(extension)), extension);
    return this.releaseLookup(lookupKey, since, 'extension');
  }

  /**
   * Every release logged under a lookup key, with proofs at the current head, consistency from
   * `since`, and the operator's signed statement of which leaves those are: an answer that leaves one
   * out is a signed lie, provable by the perimeter's own inclusion proof.
   */
  releaseLookup(lookupKey: string, since = 0, kind: LookedUpKind = 'release'): ReleaseLookup {
    const subject = lookedUpEntry(kind, lookupKey, '').dealId;
    return this.db
      .transaction(() => {
        const treeHead = this.head();
        const size = treeHead.body.treeSize;
        const leaves = this.leaves().slice(0, size);
        const rows = this.db
          .prepare(
            'SELECT leaf_index, entry, document FROM leaves WHERE deal_id = ? AND kind = ? AND leaf_index < ? ORDER BY leaf_index',
          )
          .all(subject, kind, size) as { leaf_index: number; entry: string; document: string }[];
        const releases = rows.map((row) => ({
          digest: (JSON.parse(row.entry) as LogEntry).digest,
          leafIndex: row.leaf_index,
          path: inclusionProof(leaves, row.leaf_index).map((h) => h.toString('hex')),
          // A release's digest is all the log holds of it; an extension is served whole.
          ...(kind === 'extension' ? { document: JSON.parse(row.document) as unknown } : {}),
        }));
        const statement = signDocument(this.signer, {
          type: 'tusk.release-lookup/v1' as const,
          kind,
          lookupKey,
          treeSize: size,
          leafIndexes: releases.map((release) => release.leafIndex),
        });
        return {
          lookupKey,
          treeHead,
          releases,
          consistency: this.consistency(Math.min(since, size), size),
          statement,
        };
      })
      .deferred();
  }

  indexOf(entry: LogEntry): number | undefined {
    const row = this.db.prepare('SELECT leaf_index FROM leaves WHERE entry = ?').get(canonicalJson(entry)) as
      { leaf_index: number } | undefined;
    return row?.leaf_index;
  }

  headAt(size: number): SignedTreeHead | undefined {
    const row = this.db.prepare('SELECT head FROM tree_heads WHERE tree_size = ?').get(size) as
      { head: string } | undefined;
    return row && (JSON.parse(row.head) as SignedTreeHead);
  }

  head(): SignedTreeHead {
    const size = this.size();
    return this.headAt(size) ?? this.storeHead(size);
  }

  private requireSize(size: number, what: string): void {
    const current = this.size();
    if (!Number.isInteger(size) || size < 0 || size > current)
      throw new LogRangeError(`${what} ${size} is not a size of this log (it holds ${current} entries)`);
  }

  inclusion(leafIndex: number, treeSize: number) {
    this.requireSize(treeSize, 'tree size');
    if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= treeSize)
      throw new LogRangeError(`leaf ${leafIndex} is not in a tree of size ${treeSize}`);
    const leaves = this.leaves().slice(0, treeSize);
    const treeHead = this.headAt(treeSize);
    if (!treeHead) throw new LogRangeError(`no head was signed at size ${treeSize}`);
    return {
      leafIndex,
      treeSize,
      leafHash: leaves[leafIndex]!.toString('hex'),
      path: inclusionProof(leaves, leafIndex).map((h) => h.toString('hex')),
      treeHead,
    };
  }

  consistency(first: number, second: number) {
    this.requireSize(second, 'second');
    this.requireSize(first, 'first');
    if (first > second) throw new LogRangeError(`first (${first}) must not exceed second (${second})`);
    return {
      first,
      second,
      path: consistencyProof(this.leaves().slice(0, second), first).map((h) => h.toString('hex')),
    };
  }
}

/** The log as a writer in the same process (benchmarks, tests of the perimeter alone): no HTTP hop. */
export const releaseLogIn = (log: TransparencyLog): ReleaseLogWriter => ({
  logRelease: async (request) => {
    const answer = log.logRelease(request);
    const proof = answer.releases.find((release) => release.digest === request.digest)!;
    return { head: answer.treeHead, proof };
  },
});
