import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** A milestone's sparse-vector run as the perimeter keeps it: never leaves the perimeter. */
export interface MilestoneRun {
  thresholdNoise: bigint;
  checks: number;
  met: boolean;
}

/**
 * The perimeter's record of each milestone's AboveThreshold run: the perturbed threshold drawn at the
 * first check, how many checks were answered, and each check's verdict by its id, so a retried check
 * gets its first verdict back instead of a fresh draw. One SQLite transaction per change.
 */
export class MilestoneRuns {
  private readonly db: Database.Database;

  constructor(directory: string) {
    mkdirSync(directory, { recursive: true });
    this.db = new Database(join(directory, 'milestone-runs.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS runs (
        grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL,
        threshold_noise TEXT NOT NULL, checks INTEGER NOT NULL, met INTEGER NOT NULL,
        PRIMARY KEY (grant_id, milestone_id));
      CREATE TABLE IF NOT EXISTS checks (
        grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL, check_id TEXT NOT NULL, met INTEGER NOT NULL,
        PRIMARY KEY (grant_id, milestone_id, check_id));`);
  }

  run(grantId: string, milestoneId: string): MilestoneRun | undefined {
    const row = this.db
      .prepare('SELECT threshold_noise, checks, met FROM runs WHERE grant_id = ? AND milestone_id = ?')
      .get(grantId, milestoneId) as { threshold_noise: string; checks: number; met: number } | undefined;
    return row && { thresholdNoise: BigInt(row.threshold_noise), checks: row.checks, met: row.met === 1 };
  }

  verdict(grantId: string, milestoneId: string, checkId: string): boolean | undefined {
    const row = this.db
      .prepare('SELECT met FROM checks WHERE grant_id = ? AND milestone_id = ? AND check_id = ?')
      .get(grantId, milestoneId, checkId) as { met: number } | undefined;
    return row && row.met === 1;
  }

  start(grantId: string, milestoneId: string, thresholdNoise: bigint): void {
    this.db
      .prepare('INSERT OR IGNORE INTO runs VALUES (?, ?, ?, 0, 0)')
      .run(grantId, milestoneId, thresholdNoise.toString());
  }

  /** Records one answered check and its verdict together. */
  record(grantId: string, milestoneId: string, checkId: string, met: boolean): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO checks VALUES (?, ?, ?, ?)')
        .run(grantId, milestoneId, checkId, met ? 1 : 0);
      this.db
        .prepare(
          'UPDATE runs SET checks = checks + 1, met = max(met, ?) WHERE grant_id = ? AND milestone_id = ?',
        )
        .run(met ? 1 : 0, grantId, milestoneId);
    })();
  }

  close(): void {
    this.db.close();
  }
}
