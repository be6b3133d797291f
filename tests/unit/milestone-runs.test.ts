import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase } from '../../lib/sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MilestoneChecksExhaustedError,
  MilestoneRuns,
  MilestoneTermsConflictError,
  type MilestoneRunKey,
} from '../../activities/perimeter/milestone-runs';

const KEY: MilestoneRunKey = {
  grantId: 'g1',
  nonce: 'n1',
  milestoneId: 'm1',
  termsHash: 'h1',
  payer: 'sponsor',
};

describe('milestone runs', () => {
  let dir: string;
  let runs: MilestoneRuns;
  let charges: number;
  let draws: number;
  const limits = (maxChecks = 3, charge = () => void charges++) => ({
    maxChecks,
    drawThresholdNoise: () => BigInt(++draws * 7),
    charge,
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-milestones-'));
    runs = new MilestoneRuns(dir);
    charges = 0;
    draws = 0;
  });
  afterEach(() => runs.close());

  it('answers at most the allowed checks, draws the threshold once, and repeats a check’s verdict', () => {
    for (const check of ['c1', 'c2', 'c3']) {
      const claim = runs.claim(KEY, check, limits());
      expect(claim).toMatchObject({ kind: 'claimed', run: { thresholdNoise: 7n } });
      expect(runs.record(KEY, check, false)).toBe(false);
    }
    expect(() => runs.claim(KEY, 'c4', limits())).toThrow(MilestoneChecksExhaustedError);
    expect(runs.claim(KEY, 'c2', limits())).toEqual({ kind: 'answered', met: false });
    expect(draws).toBe(1);
    expect(runs.run(KEY)).toMatchObject({ checks: 3, claims: 3, met: false });
  });

  it('counts checks claimed but not yet answered, so concurrent checks cannot exceed the limit', () => {
    runs.claim(KEY, 'c1', limits(2));
    runs.claim(KEY, 'c2', limits(2));
    expect(() => runs.claim(KEY, 'c3', limits(2))).toThrow(MilestoneChecksExhaustedError);
    // A retried claim (the same check after a crash) keeps its place.
    expect(runs.claim(KEY, 'c1', limits(2)).kind).toBe('claimed');
  });

  it('stops at the first "met": a check computed meanwhile is answered "met", later ones too', () => {
    runs.claim(KEY, 'c1', limits());
    runs.claim(KEY, 'c2', limits());
    expect(runs.record(KEY, 'c1', true)).toBe(true);
    expect(runs.record(KEY, 'c2', false)).toBe(true);
    expect(runs.claim(KEY, 'c3', limits())).toEqual({ kind: 'answered', met: true });
  });

  it('refuses the same grant and milestone under other terms or another sponsor key', () => {
    runs.claim(KEY, 'c1', limits());
    runs.record(KEY, 'c1', true);
    for (const other of [
      { ...KEY, termsHash: 'h2' },
      { ...KEY, payer: 'someone-else' },
    ]) {
      expect(() => runs.claim(other, 'c1', limits())).toThrow(MilestoneTermsConflictError);
      expect(() => runs.claim(other, 'c9', limits())).toThrow(MilestoneTermsConflictError);
    }
    expect(charges).toBe(1);
  });

  it('runs the grant id re-signed by its sponsor under a new nonce afresh; other terms under a nonce are refused', () => {
    runs.claim(KEY, 'c1', limits());
    runs.record(KEY, 'c1', true);
    const resigned = { ...KEY, nonce: 'n2', termsHash: 'h2' };
    // Its checks count from the start again: check c1 of the new signing is a new check, on a new threshold.
    expect(runs.claim(resigned, 'c1', limits())).toMatchObject({
      kind: 'claimed',
      run: { thresholdNoise: 14n },
    });
    expect(runs.record(resigned, 'c1', false)).toBe(false);
    expect(charges).toBe(2);
    expect(runs.run(KEY)).toMatchObject({ checks: 1, met: true });
    expect(runs.run(resigned)).toMatchObject({ checks: 1, met: false });
    for (const other of [
      { ...resigned, termsHash: 'h3' },
      { ...KEY, nonce: 'n3', payer: 'someone-else' },
      { ...KEY, nonce: '', termsHash: 'h4' },
    ])
      expect(() => runs.claim(other, 'c2', limits())).toThrow(MilestoneTermsConflictError);
    expect(charges).toBe(2);
  });

  it('rolls the claim back when the charge is refused: nothing is read and nothing counted', () => {
    const refused = () => {
      throw new Error('budget exhausted');
    };
    expect(() => runs.claim(KEY, 'c1', limits(3, refused))).toThrow('budget exhausted');
    expect(runs.run(KEY)).toBeUndefined();
  });

  it('migrates a version 1 file: its runs are kept, and bound to no terms', async () => {
    runs.close();
    const old = await mkdtemp(join(tmpdir(), 'tusk-milestones-v1-'));
    const db = SqliteDatabase.open(join(old, 'milestone-runs.sqlite'));
    db.exec(`
      CREATE TABLE runs (grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL, threshold_noise TEXT NOT NULL,
        checks INTEGER NOT NULL, met INTEGER NOT NULL, PRIMARY KEY (grant_id, milestone_id));
      CREATE TABLE checks (grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL, check_id TEXT NOT NULL,
        met INTEGER NOT NULL, PRIMARY KEY (grant_id, milestone_id, check_id));
      INSERT INTO runs VALUES ('g1', 'm1', '5', 2, 0);`);
    db.close();
    runs = new MilestoneRuns(old);
    expect(runs.run({ ...KEY, termsHash: '', payer: '' })).toMatchObject({ checks: 2, claims: 2 });
    // A grant id re-run under signed terms does not reuse the old run's threshold or charge.
    expect(() => runs.claim(KEY, 'c3', limits())).toThrow(MilestoneTermsConflictError);
  });

  it('migrates a version 2 file: a run keeps its terms, and its grant id is refused under a new nonce', async () => {
    runs.close();
    const old = await mkdtemp(join(tmpdir(), 'tusk-milestones-v2-'));
    const db = SqliteDatabase.open(join(old, 'milestone-runs.sqlite'));
    db.exec(`
      CREATE TABLE runs (grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL, threshold_noise TEXT NOT NULL,
        checks INTEGER NOT NULL, met INTEGER NOT NULL, terms_hash TEXT NOT NULL DEFAULT '',
        payer TEXT NOT NULL DEFAULT '', claims INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (grant_id, milestone_id));
      CREATE TABLE checks (grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL, check_id TEXT NOT NULL,
        met INTEGER NOT NULL, PRIMARY KEY (grant_id, milestone_id, check_id));
      CREATE TABLE pending (grant_id TEXT NOT NULL, milestone_id TEXT NOT NULL, check_id TEXT NOT NULL,
        PRIMARY KEY (grant_id, milestone_id, check_id));
      INSERT INTO runs VALUES ('g1', 'm1', '5', 1, 0, 'h1', 'sponsor', 2);
      INSERT INTO checks VALUES ('g1', 'm1', 'c1', 0);
      INSERT INTO pending VALUES ('g1', 'm1', 'c2');
      PRAGMA user_version = 2;`);
    db.close();
    runs = new MilestoneRuns(old);
    // The same terms find their run, its verdicts and its pending check, whatever nonce they carry.
    expect(runs.claim(KEY, 'c1', limits())).toEqual({ kind: 'answered', met: false });
    expect(runs.claim(KEY, 'c2', limits())).toMatchObject({
      kind: 'claimed',
      run: { thresholdNoise: 5n, claims: 2 },
    });
    expect(draws).toBe(0);
    // Re-signed under a new nonce: the old run's nonce is unknown, so it cannot be told from other terms.
    expect(() => runs.claim({ ...KEY, nonce: 'n2', termsHash: 'h2' }, 'c1', limits())).toThrow(
      MilestoneTermsConflictError,
    );
  });
});
