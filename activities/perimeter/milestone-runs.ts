import { SqliteDatabase } from '../../lib/sqlite';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** A milestone's sparse-vector run as the perimeter keeps it: never leaves the perimeter. */
export interface MilestoneRun {
  thresholdNoise: bigint;
  /** Checks answered. */
  checks: number;
  /** Checks answered or being answered: never more than the template allows. */
  claims: number;
  met: boolean;
}

/**
 * Which run: the grant and milestone under one signing of the grant's terms (its nonce), bound to
 * those terms and the sponsor's verified key. The grant id signed again under a new nonce is a new run.
 */
export interface MilestoneRunKey {
  grantId: string;
  /** The signed terms' nonce; empty for terms that carry none. */
  nonce: string;
  milestoneId: string;
  termsHash: string;
  /** The sponsor's budget key (its verified signing key). */
  payer: string;
}

/** What a check gets from `claim`: a verdict already decided, or the run to answer it with. */
export type MilestoneClaim = { kind: 'answered'; met: boolean } | { kind: 'claimed'; run: MilestoneRun };

/**
 * The grant id and milestone are held by another sponsor key, or its nonce by a run of other signed
 * terms (or by a run whose nonce is unknown, kept before nonces were recorded).
 */
export class MilestoneTermsConflictError extends Error {
  override name = 'MilestoneTermsConflictError';
}

/** The run has answered (or is answering) as many checks as the template allows. */
export class MilestoneChecksExhaustedError extends Error {
  override name = 'MilestoneChecksExhaustedError';
}

const TABLES = `
CREATE TABLE runs (
  grant_id TEXT NOT NULL, nonce TEXT NOT NULL, milestone_id TEXT NOT NULL,
  threshold_noise TEXT NOT NULL, checks INTEGER NOT NULL, met INTEGER NOT NULL,
  terms_hash TEXT NOT NULL, payer TEXT NOT NULL, claims INTEGER NOT NULL,
  PRIMARY KEY (grant_id, nonce, milestone_id));
CREATE TABLE checks (
  grant_id TEXT NOT NULL, nonce TEXT NOT NULL, milestone_id TEXT NOT NULL, check_id TEXT NOT NULL,
  met INTEGER NOT NULL, PRIMARY KEY (grant_id, nonce, milestone_id, check_id));
CREATE TABLE pending (
  grant_id TEXT NOT NULL, nonce TEXT NOT NULL, milestone_id TEXT NOT NULL, check_id TEXT NOT NULL,
  PRIMARY KEY (grant_id, nonce, milestone_id, check_id));`;

/**
 * Version 1 files (runs keyed by grant and milestone alone) gain the terms binding in place. Their
 * runs keep an empty terms hash and payer, which no signed terms match: a grant id re-run under any
 * terms is refused instead of reusing the old run's threshold and charge.
 */
const MIGRATE_1_TO_2 = `
ALTER TABLE runs ADD COLUMN terms_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN payer TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET claims = checks;
CREATE TABLE IF NOT EXISTS pending (
  grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL, check_id TEXT NOT NULL,
  PRIMARY KEY (grant_id, milestone_id, check_id));`;

/**
 * Version 2 → 3: the tables are rebuilt under the nonce and every row is copied with an empty one. As
 * in the privacy ledger (its version 3), such a run is found again by its terms hash when the same
 * terms come back, and holds its grant id and milestone against any other terms, a new nonce included:
 * its nonce is unknown, so a re-signing cannot be told from other terms for the same signing.
 */
const MIGRATE_2_TO_3 = `
ALTER TABLE runs RENAME TO runs_v2;
ALTER TABLE checks RENAME TO checks_v2;
ALTER TABLE pending RENAME TO pending_v2;
${TABLES}
INSERT INTO runs SELECT grant_id, '', milestone_id, threshold_noise, checks, met, terms_hash, payer, claims FROM runs_v2;
INSERT INTO checks SELECT grant_id, '', milestone_id, check_id, met FROM checks_v2;
INSERT INTO pending SELECT grant_id, '', milestone_id, check_id FROM pending_v2;
DROP TABLE runs_v2;
DROP TABLE checks_v2;
DROP TABLE pending_v2;`;

const VERSION = 3;

interface RunRow {
  nonce: string;
  threshold_noise: string;
  checks: number;
  claims: number;
  met: number;
  terms_hash: string;
  payer: string;
}

/** The run a key reaches: its row if it has one, and the nonce it is kept under. */
interface Resolved {
  grantId: string;
  nonce: string;
  milestoneId: string;
  row: RunRow | undefined;
}

const runOf = (row: RunRow): MilestoneRun => ({
  thresholdNoise: BigInt(row.threshold_noise),
  checks: row.checks,
  claims: row.claims,
  met: row.met === 1,
});

/**
 * The perimeter's record of each milestone's AboveThreshold run: the perturbed threshold drawn at the
 * first check, how many checks were claimed and answered, and each check's verdict by its id, so a
 * retried check gets its first verdict back instead of a fresh draw. A check is claimed in one
 * transaction (verdict, halt, limit, charge and claim together: no check-then-act across an await).
 */
export class MilestoneRuns {
  private readonly db: SqliteDatabase;

  constructor(directory: string) {
    mkdirSync(directory, { recursive: true });
    this.db = SqliteDatabase.open(join(directory, 'milestone-runs.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.transaction(() => {
      const version = this.db.pragma('user_version', { simple: true }) as number;
      const old = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").get();
      if (version > VERSION)
        throw new Error(`milestone runs schema version ${version} is newer than this perimeter's ${VERSION}`);
      if (!old) this.db.exec(TABLES);
      else if (version < VERSION) {
        if (version === 0) this.db.exec(MIGRATE_1_TO_2);
        this.db.exec(MIGRATE_2_TO_3);
      }
      this.db.pragma(`user_version = ${VERSION}`);
    })();
  }

  /**
   * The run `key` reaches: its own nonce's, else one kept before nonces were recorded under the same
   * terms. Refused when another sponsor key holds the grant's milestone, when its nonce is held for
   * other terms, or when a run of unknown nonce (or a key without one) leaves the signings ambiguous.
   */
  private resolve(key: MilestoneRunKey): Resolved {
    const rows = this.db
      .prepare(
        'SELECT nonce, threshold_noise, checks, claims, met, terms_hash, payer FROM runs WHERE grant_id = ? AND milestone_id = ?',
      )
      .all(key.grantId, key.milestoneId) as RunRow[];
    const conflict = (why: string) =>
      new MilestoneTermsConflictError(`milestone ${key.milestoneId} of grant ${key.grantId} is held ${why}`);
    if (rows.some((r) => r.payer !== key.payer)) throw conflict('by a run of another sponsor');
    const own =
      rows.find((r) => r.nonce === key.nonce) ??
      rows.find((r) => r.nonce === '' && r.terms_hash === key.termsHash);
    if (own && own.terms_hash !== key.termsHash)
      throw conflict('under this nonce by a run of other signed terms');
    if (!own && rows.some((r) => r.nonce === '' || key.nonce === ''))
      throw conflict('by a run of other signed terms, and one of them names no nonce');
    return { grantId: key.grantId, nonce: own?.nonce ?? key.nonce, milestoneId: key.milestoneId, row: own };
  }

  run(key: MilestoneRunKey): MilestoneRun | undefined {
    const { row } = this.resolve(key);
    return row && runOf(row);
  }

  private ids(run: Resolved): [string, string, string] {
    return [run.grantId, run.nonce, run.milestoneId];
  }

  private verdict(run: Resolved, checkId: string): boolean | undefined {
    const row = this.db
      .prepare(
        'SELECT met FROM checks WHERE grant_id = ? AND nonce = ? AND milestone_id = ? AND check_id = ?',
      )
      .get(...this.ids(run), checkId) as { met: number } | undefined;
    return row && row.met === 1;
  }

  private insertVerdict(run: Resolved, checkId: string, met: boolean): void {
    this.db.prepare('INSERT INTO checks VALUES (?, ?, ?, ?, ?)').run(...this.ids(run), checkId, met ? 1 : 0);
  }

  /**
   * One transaction: the check's earlier verdict if it has one; "met" when the run already halted;
   * otherwise a claim on one of the run's `maxChecks` checks (a retried claim keeps its place),
   * `charge` run first (synchronously, idempotent per run: the run's ε covers all its checks) and the
   * threshold noise drawn once for a new run. A charge refused rolls the claim back.
   */
  claim(
    key: MilestoneRunKey,
    checkId: string,
    limits: { maxChecks: number; drawThresholdNoise: () => bigint; charge: () => void },
  ): MilestoneClaim {
    return this.db.transaction((): MilestoneClaim => {
      const run = this.resolve(key);
      const existing = run.row;
      const answered = this.verdict(run, checkId);
      if (answered !== undefined) return { kind: 'answered', met: answered };
      if (existing?.met === 1) {
        // The run halted at its first "met"; later checks only repeat that bit.
        this.insertVerdict(run, checkId, true);
        return { kind: 'answered', met: true };
      }
      const retried = this.db
        .prepare(
          'SELECT 1 FROM pending WHERE grant_id = ? AND nonce = ? AND milestone_id = ? AND check_id = ?',
        )
        .get(...this.ids(run), checkId);
      if (!retried && existing && existing.claims >= limits.maxChecks)
        throw new MilestoneChecksExhaustedError(
          `milestone ${key.milestoneId} has used its ${limits.maxChecks} checks`,
        );
      limits.charge();
      if (!existing)
        this.db
          .prepare('INSERT INTO runs VALUES (?, ?, ?, ?, 0, 0, ?, ?, 0)')
          .run(...this.ids(run), limits.drawThresholdNoise().toString(), key.termsHash, key.payer);
      if (!retried) {
        this.db.prepare('INSERT INTO pending VALUES (?, ?, ?, ?)').run(...this.ids(run), checkId);
        this.db
          .prepare(
            'UPDATE runs SET claims = claims + 1 WHERE grant_id = ? AND nonce = ? AND milestone_id = ?',
          )
          .run(...this.ids(run));
      }
      return { kind: 'claimed', run: runOf(this.resolve(key).row!) };
    })();
  }

  /**
   * Records a claimed check's verdict. A run that halted meanwhile (another check said "met" first)
   * answers "met": nothing computed after the first "met" is released. Returns the verdict to give.
   */
  record(key: MilestoneRunKey, checkId: string, met: boolean): boolean {
    return this.db.transaction(() => {
      const run = this.resolve(key);
      const halted = run.row?.met === 1;
      const answered = this.verdict(run, checkId);
      if (answered !== undefined) return answered;
      const verdict = halted || met;
      this.db
        .prepare('DELETE FROM pending WHERE grant_id = ? AND nonce = ? AND milestone_id = ? AND check_id = ?')
        .run(...this.ids(run), checkId);
      this.insertVerdict(run, checkId, verdict);
      this.db
        .prepare(
          'UPDATE runs SET checks = checks + 1, met = max(met, ?) WHERE grant_id = ? AND nonce = ? AND milestone_id = ?',
        )
        .run(verdict ? 1 : 0, ...this.ids(run));
      return verdict;
    })();
  }

  close(): void {
    this.db.close();
  }
}
