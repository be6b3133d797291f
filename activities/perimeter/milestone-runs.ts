import Database from 'better-sqlite3';
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

/** Which run: the grant and milestone, bound to the sponsor's signed terms and verified key. */
export interface MilestoneRunKey {
  grantId: string;
  milestoneId: string;
  termsHash: string;
  /** The sponsor's budget key (its verified signing key). */
  payer: string;
}

/** What a check gets from `claim`: a verdict already decided, or the run to answer it with. */
export type MilestoneClaim = { kind: 'answered'; met: boolean } | { kind: 'claimed'; run: MilestoneRun };

/** The grant id and milestone are held by a run of other signed terms or another sponsor key. */
export class MilestoneTermsConflictError extends Error {
  override name = 'MilestoneTermsConflictError';
}

/** The run has answered (or is answering) as many checks as the template allows. */
export class MilestoneChecksExhaustedError extends Error {
  override name = 'MilestoneChecksExhaustedError';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL,
  threshold_noise TEXT NOT NULL, checks INTEGER NOT NULL, met INTEGER NOT NULL,
  terms_hash TEXT NOT NULL DEFAULT '', payer TEXT NOT NULL DEFAULT '', claims INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (grant_id, milestone_id));
CREATE TABLE IF NOT EXISTS checks (
  grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL, check_id TEXT NOT NULL, met INTEGER NOT NULL,
  PRIMARY KEY (grant_id, milestone_id, check_id));
CREATE TABLE IF NOT EXISTS pending (
  grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL, check_id TEXT NOT NULL,
  PRIMARY KEY (grant_id, milestone_id, check_id));`;

/**
 * Version 1 files (runs keyed by grant and milestone alone) gain the terms binding in place. Their
 * runs keep an empty terms hash and payer, which no signed terms match: a grant id re-run under any
 * terms is refused instead of reusing the old run's threshold and charge.
 */
const MIGRATE_1_TO_2 = `
ALTER TABLE runs ADD COLUMN terms_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN payer TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET claims = checks;`;

const VERSION = 2;

interface RunRow {
  threshold_noise: string;
  checks: number;
  claims: number;
  met: number;
  terms_hash: string;
  payer: string;
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
  private readonly db: Database.Database;

  constructor(directory: string) {
    mkdirSync(directory, { recursive: true });
    this.db = new Database(join(directory, 'milestone-runs.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.transaction(() => {
      const version = this.db.pragma('user_version', { simple: true }) as number;
      const old = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").get();
      if (version === 0 && old) this.db.exec(MIGRATE_1_TO_2);
      else if (version > VERSION)
        throw new Error(`milestone runs schema version ${version} is newer than this perimeter's ${VERSION}`);
      this.db.exec(SCHEMA);
      this.db.pragma(`user_version = ${VERSION}`);
    })();
  }

  private row(key: MilestoneRunKey): RunRow | undefined {
    const row = this.db
      .prepare(
        'SELECT threshold_noise, checks, claims, met, terms_hash, payer FROM runs WHERE grant_id = ? AND milestone_id = ?',
      )
      .get(key.grantId, key.milestoneId) as RunRow | undefined;
    if (row && (row.terms_hash !== key.termsHash || row.payer !== key.payer))
      throw new MilestoneTermsConflictError(
        `milestone ${key.milestoneId} of grant ${key.grantId} belongs to a run of other signed terms or another sponsor`,
      );
    return row;
  }

  run(key: MilestoneRunKey): MilestoneRun | undefined {
    const row = this.row(key);
    return row && runOf(row);
  }

  private verdict(key: MilestoneRunKey, checkId: string): boolean | undefined {
    const row = this.db
      .prepare('SELECT met FROM checks WHERE grant_id = ? AND milestone_id = ? AND check_id = ?')
      .get(key.grantId, key.milestoneId, checkId) as { met: number } | undefined;
    return row && row.met === 1;
  }

  private insertVerdict(key: MilestoneRunKey, checkId: string, met: boolean): void {
    this.db
      .prepare('INSERT INTO checks VALUES (?, ?, ?, ?)')
      .run(key.grantId, key.milestoneId, checkId, met ? 1 : 0);
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
      const existing = this.row(key);
      const answered = this.verdict(key, checkId);
      if (answered !== undefined) return { kind: 'answered', met: answered };
      if (existing?.met === 1) {
        // The run halted at its first "met"; later checks only repeat that bit.
        this.insertVerdict(key, checkId, true);
        return { kind: 'answered', met: true };
      }
      const retried = this.db
        .prepare('SELECT 1 FROM pending WHERE grant_id = ? AND milestone_id = ? AND check_id = ?')
        .get(key.grantId, key.milestoneId, checkId);
      if (!retried && existing && existing.claims >= limits.maxChecks)
        throw new MilestoneChecksExhaustedError(
          `milestone ${key.milestoneId} has used its ${limits.maxChecks} checks`,
        );
      limits.charge();
      if (!existing)
        this.db
          .prepare('INSERT INTO runs VALUES (?, ?, ?, 0, 0, ?, ?, 0)')
          .run(
            key.grantId,
            key.milestoneId,
            limits.drawThresholdNoise().toString(),
            key.termsHash,
            key.payer,
          );
      if (!retried) {
        this.db.prepare('INSERT INTO pending VALUES (?, ?, ?)').run(key.grantId, key.milestoneId, checkId);
        this.db
          .prepare('UPDATE runs SET claims = claims + 1 WHERE grant_id = ? AND milestone_id = ?')
          .run(key.grantId, key.milestoneId);
      }
      return { kind: 'claimed', run: runOf(this.row(key)!) };
    })();
  }

  /**
   * Records a claimed check's verdict. A run that halted meanwhile (another check said "met" first)
   * answers "met": nothing computed after the first "met" is released. Returns the verdict to give.
   */
  record(key: MilestoneRunKey, checkId: string, met: boolean): boolean {
    return this.db.transaction(() => {
      const halted = this.row(key)?.met === 1;
      const answered = this.verdict(key, checkId);
      if (answered !== undefined) return answered;
      const verdict = halted || met;
      this.db
        .prepare('DELETE FROM pending WHERE grant_id = ? AND milestone_id = ? AND check_id = ?')
        .run(key.grantId, key.milestoneId, checkId);
      this.insertVerdict(key, checkId, verdict);
      this.db
        .prepare(
          'UPDATE runs SET checks = checks + 1, met = max(met, ?) WHERE grant_id = ? AND milestone_id = ?',
        )
        .run(verdict ? 1 : 0, key.grantId, key.milestoneId);
      return verdict;
    })();
  }

  close(): void {
    this.db.close();
  }
}
