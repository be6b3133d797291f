import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase } from '../../lib/sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BudgetExhaustedError,
  PrivacyLedger,
  TermsConflictError,
  type ReservationKey,
} from '../../activities/perimeter/privacy-ledger';
import { budgetScopeOf, datasetPolicy, type DatasetBudget } from '../../query-policies/dataset-policy';
import { privacyCost } from '../../query-policies/privacy-cost';
import { SCHEMA_VERSION } from '../../activities/perimeter/privacy-ledger-schema';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 21);
const WINDOWED: DatasetBudget = {
  windowDays: 30,
  total: { epsilon: 10, delta: 1e-5 },
  perBuyer: { epsilon: 3, delta: 1e-6 },
};
const LIFETIME: DatasetBudget = { total: WINDOWED.total, perBuyer: WINDOWED.perBuyer };
const eps = (epsilon: number) => privacyCost({ epsilon });
const scopeOf = (budget: DatasetBudget, datasets = ['patients']) => ({
  datasets,
  name: datasets[0]!,
  budget,
});

describe('privacy ledger: state bound to the terms, accounting as a filter', () => {
  let path: string;
  let ledger: PrivacyLedger;
  beforeEach(async () => {
    path = join(await mkdtemp(join(tmpdir(), 'tusk-privacy-filter-')), 'privacy-ledger.sqlite');
    ledger = PrivacyLedger.open(path);
  });
  afterEach(() => ledger.close());

  const key = (
    dealId: string,
    buyerId = 'victim',
    termsHash = `h-${dealId}`,
    nonce = `n-${dealId}`,
  ): ReservationKey => ({ dealId, nonce, buyerId, termsHash });
  const reserve = (k: ReservationKey, epsilon: number, now: number, budget = WINDOWED, queryKey = 'q') =>
    ledger.reserve({
      ...k,
      dataset: 'patients',
      queryKey: `${k.buyerId}:${queryKey}`,
      cost: eps(epsilon),
      scope: scopeOf(budget),
      now,
    });
  const answer = (k: ReservationKey, epsilon: number, now: number, committedAt = now, budget = WINDOWED) => {
    const reservation = reserve(k, epsilon, now, budget);
    ledger.startRun(k, eps(epsilon), scopeOf(budget), now);
    ledger.commitAnswer(k, committedAt, { queryKey: reservation.queryKey, answer: { from: k.dealId } });
  };
  const spentBy = (buyerId: string, now: number, budget = WINDOWED) =>
    ledger.remaining('patients', scopeOf(budget), buyerId, now).buyer.spent.epsilon;

  it("refuses another signer (any nonce) or other terms under the same nonce of a victim's deal id: nothing served or charged", () => {
    const victim = key('deal-1');
    answer(victim, 2, NOW);
    const otherKey = key('deal-1', 'attacker', victim.termsHash);
    const otherKeyNewNonce = key('deal-1', 'attacker', 'h-attacker', 'n-attacker');
    const otherTerms = key('deal-1', 'victim', 'h-forged');
    for (const forged of [otherKey, otherKeyNewNonce, otherTerms]) {
      expect(() => reserve(forged, 2, NOW)).toThrow(TermsConflictError);
      expect(() => ledger.reservation(forged)).toThrow(TermsConflictError);
      expect(() => ledger.findAnswer(forged, 'victim:q', undefined)).toThrow(TermsConflictError);
      expect(() => ledger.startRun(forged, eps(2), scopeOf(WINDOWED), NOW)).toThrow(TermsConflictError);
      expect(() => ledger.commitRepeat(forged, NOW)).toThrow(TermsConflictError);
      expect(() => ledger.chargeFailure(forged, NOW)).toThrow(TermsConflictError);
    }
    expect(spentBy('victim', NOW)).toBe(2);
    expect(spentBy('attacker', NOW)).toBe(0);
    expect(ledger.reservation(victim)).toMatchObject({ state: 'committed', cost: eps(2) });
  });

  it('the same id signed again by the same key under a new nonce is a separate entry: reserved and charged again', () => {
    const first = key('deal-2', 'victim', 'h-first', 'n-first');
    answer(first, 1, NOW);
    // The buyer signs the id afresh (another query): a new entry, charged on its own.
    const again = key('deal-2', 'victim', 'h-again', 'n-again');
    const reservation = reserve(again, 1, NOW + 1, WINDOWED, 'other');
    expect(reservation).toMatchObject({
      dealId: 'deal-2',
      nonce: 'n-again',
      state: 'reserved',
      cost: eps(1),
    });
    // Its own answer is not the first entry's: nothing is stored for it yet.
    expect(ledger.findAnswer(again, 'victim:other', undefined)).toBeUndefined();
    ledger.startRun(again, eps(1), scopeOf(WINDOWED), NOW + 1);
    ledger.commitAnswer(again, NOW + 2, { queryKey: 'victim:other', answer: { from: 'again' } });
    expect(ledger.findAnswer(again, 'victim:other', undefined)).toMatchObject({
      own: true,
      answer: { from: 'again' },
    });
    expect(ledger.findAnswer(first, 'victim:q', undefined)).toMatchObject({
      own: true,
      answer: { from: 'deal-2' },
    });
    // The same query signed again under a third nonce is served the stored answer as a repeat.
    const third = key('deal-2', 'victim', 'h-third', 'n-third');
    expect(reserve(third, 1, NOW + 3).cost).toEqual(eps(0));
    expect(ledger.findAnswer(third, 'victim:q', undefined)).toMatchObject({ own: false, dealId: 'deal-2' });
    expect(spentBy('victim', NOW + 2)).toBe(2);
    // Both entries stand; either's retry finds its own.
    expect(ledger.reservation(first)).toMatchObject({ nonce: 'n-first', state: 'committed' });
    expect(ledger.reservation(again)).toMatchObject({ nonce: 'n-again', state: 'committed' });
    // Terms without a nonce cannot open an entry beside these: the id alone would not tell them apart.
    expect(() => reserve(key('deal-2', 'victim', 'h-bare', ''), 1, NOW)).toThrow(TermsConflictError);
    // Releasing the id gives back only what was never used.
    expect(ledger.release('deal-2', NOW + 3).map((r) => r.state)).toEqual([
      'committed',
      'committed',
      'released',
    ]);
  });

  it('dates a charge at its commit: two full budgets cannot be spent across a window edge', () => {
    // Reserved a day before the window would forget it, answered just before that edge.
    const first = key('first');
    answer(first, 3, NOW, NOW + 29 * DAY);
    // Dated at reservation, the first charge would have left the window at NOW + 30 days.
    expect(() => reserve(key('second'), 3, NOW + 30 * DAY + 2, WINDOWED, 'other')).toThrow(
      BudgetExhaustedError,
    );
    expect(spentBy('victim', NOW + 30 * DAY + 2)).toBe(3);
    // A reservation not yet committed counts whatever its age.
    const pending = key('pending', 'b2');
    reserve(pending, 3, NOW);
    expect(spentBy('b2', NOW + 400 * DAY)).toBe(3);
    // Once a whole window has passed since the commit, the windowed budget is free again (a rate).
    expect(reserve(key('later'), 3, NOW + 59 * DAY + 1, WINDOWED, 'later').state).toBe('reserved');
  });

  it('a lifetime budget never forgets a charge', () => {
    answer(key('d1'), 3, NOW, NOW, LIFETIME);
    expect(() => reserve(key('d2'), 0.1, NOW + 3650 * DAY, LIFETIME, 'other')).toThrow(
      /spent ε=3 of ε=3 \(δ=0\.000001\), ε=0 left over its lifetime/,
    );
    const figures = ledger.remaining('patients', scopeOf(LIFETIME), 'victim', NOW + 3650 * DAY);
    expect(figures.windowDays).toBeUndefined();
    expect(figures.windowStart).toBeUndefined();
    expect(figures.buyer.spent.epsilon).toBe(3);
  });

  it('datasets marked as holding the same people share one budget, per buyer and in total', () => {
    const policy = datasetPolicy.parse({
      seller: 'clinic',
      version: 1,
      datasets: {
        visits: { ...LIFETIME, budgetGroup: 'clinic_people' },
        prescriptions: { ...LIFETIME, budgetGroup: 'clinic_people' },
        weather: LIFETIME,
      },
    });
    const visits = budgetScopeOf(policy, 'visits')!;
    const prescriptions = budgetScopeOf(policy, 'prescriptions')!;
    expect(visits.datasets).toEqual(['prescriptions', 'visits']);
    const on = (dataset: string, dealId: string, buyerId: string, epsilon: number) =>
      ledger.reserve({
        ...key(dealId, buyerId),
        dataset,
        queryKey: dealId,
        cost: eps(epsilon),
        scope: budgetScopeOf(policy, dataset)!,
        now: NOW,
      });
    on('visits', 'v1', 'b1', 3);
    expect(() => on('prescriptions', 'p1', 'b1', 1)).toThrow(
      /privacy budget exhausted for buyer b1 on budget group clinic_people \(datasets prescriptions, visits\)/,
    );
    // Another dataset keeps its own budget.
    expect(on('weather', 'w1', 'b1', 3).state).toBe('reserved');
    on('prescriptions', 'p2', 'b2', 3);
    on('visits', 'v3', 'b3', 3);
    expect(() => on('prescriptions', 'p4', 'b4', 2)).toThrow(
      /for budget group clinic_people \(datasets prescriptions, visits\) \(all buyers together\): spent ε=9 of ε=10/,
    );
    const figures = ledger.remaining('prescriptions', prescriptions, 'b1', NOW);
    expect(figures.sharedWith).toEqual(['prescriptions', 'visits']);
    expect(figures.buyer.spent.epsilon).toBe(3);
    expect(figures.total.spent.epsilon).toBe(9);
    // A group whose datasets state different limits is not a valid policy.
    expect(
      datasetPolicy.safeParse({
        seller: 'clinic',
        version: 1,
        datasets: {
          visits: { ...LIFETIME, budgetGroup: 'g' },
          prescriptions: { ...WINDOWED, budgetGroup: 'g' },
        },
      }).success,
    ).toBe(false);
  });

  it('an identical query in flight reserves nothing more; the waiter is charged only if that answer never comes', () => {
    reserve(key('first'), 3, NOW);
    const waiter = reserve(key('second'), 3, NOW);
    expect(waiter.cost).toEqual(eps(0));
    expect(spentBy('victim', NOW)).toBe(3);
    // The first fails before reading anything: it is given back, and the waiter runs at full cost.
    ledger.release('first', NOW);
    expect(ledger.startRun(key('second'), eps(3), scopeOf(WINDOWED), NOW).cost).toEqual(eps(3));
    expect(spentBy('victim', NOW)).toBe(3);
  });

  it('a waiter that runs before the query it waited for takes that reservation over: one charge, no refusal', () => {
    reserve(key('first'), 3, NOW);
    reserve(key('second'), 3, NOW);
    // The second deal reaches the data first: the buyer's whole budget is the first's reservation.
    expect(ledger.startRun(key('second'), eps(3), scopeOf(WINDOWED), NOW).cost).toEqual(eps(3));
    expect(ledger.reservation(key('first'))?.cost).toEqual(eps(0));
    expect(spentBy('victim', NOW)).toBe(3);
    ledger.commitAnswer(key('second'), NOW, { queryKey: 'victim:q', answer: {} });
    expect(ledger.findAnswer(key('first'), 'victim:q', undefined)?.dealId).toBe('second');
    expect(ledger.commitRepeat(key('first'), NOW).cost).toEqual(eps(0));
    expect(spentBy('victim', NOW)).toBe(3);
  });

  it('a query that fails after it started reading data is charged in full, never given back', () => {
    const failed = key('failed');
    reserve(failed, 2, NOW);
    ledger.startRun(failed, eps(2), scopeOf(WINDOWED), NOW);
    ledger.chargeFailure(failed, NOW + 5);
    expect(ledger.reservation(failed)).toMatchObject({ state: 'committed', cost: eps(2), at: NOW + 5 });
    expect(() => ledger.commitAnswer(failed, NOW, { queryKey: 'q', answer: {} })).toThrow(/already charged/);
    // The operator's compensation releases a started reservation: it is charged instead.
    const crashed = key('crashed', 'b2');
    reserve(crashed, 2, NOW);
    ledger.startRun(crashed, eps(2), scopeOf(WINDOWED), NOW);
    expect(ledger.release('crashed', NOW)).toMatchObject([{ state: 'committed', cost: eps(2) }]);
    // A refusal before any data was read gives the reservation back.
    const refused = key('refused', 'b3');
    reserve(refused, 2, NOW);
    expect(ledger.release('refused', NOW).map((r) => r.state)).toEqual(['released']);
    expect(spentBy('b2', NOW)).toBe(2);
    expect(spentBy('b3', NOW)).toBe(0);
  });
});

describe('privacy ledger: a version 1 file', () => {
  it('is migrated in place, keeping every charge, re-dated at commit, and bound to no terms', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'tusk-privacy-v1-')), 'privacy-ledger.sqlite');
    const old = SqliteDatabase.open(path);
    old.exec(`
      CREATE TABLE reservations (deal_id TEXT PRIMARY KEY, buyer_id TEXT NOT NULL, dataset TEXT NOT NULL,
        query_key TEXT NOT NULL, micro_epsilon INTEGER NOT NULL CHECK (micro_epsilon >= 0),
        nano_rho INTEGER NOT NULL CHECK (nano_rho >= 0), femto_delta INTEGER NOT NULL CHECK (femto_delta >= 0),
        at INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
        settled_at INTEGER) STRICT;
      CREATE INDEX reservations_by_dataset ON reservations (dataset, at);
      CREATE TABLE answers (deal_id TEXT PRIMARY KEY REFERENCES reservations (deal_id), query_key TEXT NOT NULL,
        at INTEGER NOT NULL, answer TEXT NOT NULL) STRICT;
      CREATE INDEX answers_by_query ON answers (query_key, at);
      CREATE TABLE holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since INTEGER NOT NULL) STRICT;
      PRAGMA user_version = 1;`);
    const insert = old.prepare('INSERT INTO reservations VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?, ?)');
    insert.run(
      'old-committed',
      'b1',
      'patients',
      'q1',
      2_000_000,
      NOW - 40 * DAY,
      'committed',
      NOW - 29 * DAY,
    );
    insert.run('old-reserved', 'b1', 'patients', 'q2', 500_000, NOW - 60 * DAY, 'reserved', null);
    insert.run('old-released', 'b1', 'patients', 'q3', 9_000_000, NOW, 'released', NOW);
    old.prepare('INSERT INTO answers VALUES (?, ?, ?, ?)').run('old-committed', 'q1', NOW - 29 * DAY, '{}');
    old.close();

    const ledger = PrivacyLedger.open(path);
    try {
      // Dated at reservation, the committed charge would be out of the 30-day window; at commit it is in.
      const figures = ledger.remaining('patients', scopeOf(WINDOWED), 'b1', NOW);
      expect(figures.buyer.spent.epsilon).toBe(2.5);
      const legacy = { dealId: 'old-committed', nonce: '', buyerId: 'b1', termsHash: '' };
      expect(ledger.reservation(legacy)).toMatchObject({ state: 'committed', at: NOW - 29 * DAY });
      // Any signed terms under an old id are refused, whatever their nonce: its answer is not served to them.
      for (const nonce of ['', 'n-any'])
        expect(() =>
          ledger.findAnswer({ ...legacy, nonce, termsHash: 'sha256:any' }, 'q1', undefined),
        ).toThrow(TermsConflictError);
    } finally {
      ledger.close();
    }
    const reopened = SqliteDatabase.open(path, { mustExist: true });
    expect(reopened.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    reopened.close();
  });
});

describe('privacy ledger: a version 2 file', () => {
  it('is migrated in place to entries keyed by id and nonce, keeping every charge and answer', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'tusk-privacy-v2-')), 'privacy-ledger.sqlite');
    const old = SqliteDatabase.open(path);
    old.exec(`
      CREATE TABLE reservations (deal_id TEXT PRIMARY KEY, terms_hash TEXT NOT NULL, buyer_id TEXT NOT NULL,
        dataset TEXT NOT NULL, query_key TEXT NOT NULL, micro_epsilon INTEGER NOT NULL CHECK (micro_epsilon >= 0),
        nano_rho INTEGER NOT NULL CHECK (nano_rho >= 0), femto_delta INTEGER NOT NULL CHECK (femto_delta >= 0),
        at INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
        settled_at INTEGER, reserved_at INTEGER NOT NULL, touched_at INTEGER) STRICT;
      CREATE INDEX reservations_by_dataset ON reservations (dataset, at);
      CREATE INDEX reservations_by_query ON reservations (query_key, state);
      CREATE TABLE answers (deal_id TEXT PRIMARY KEY REFERENCES reservations (deal_id), query_key TEXT NOT NULL,
        at INTEGER NOT NULL, answer TEXT NOT NULL) STRICT;
      CREATE INDEX answers_by_query ON answers (query_key, at);
      CREATE TABLE holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since INTEGER NOT NULL) STRICT;
      PRAGMA user_version = 2;`);
    const insert = old.prepare('INSERT INTO reservations VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?)');
    insert.run('done', 'h-done', 'b1', 'patients', 'q1', 2_000_000, NOW, 'committed', NOW, NOW - 5, NOW - 4);
    insert.run('in-flight', 'h-flight', 'b1', 'patients', 'q2', 500_000, NOW, 'reserved', null, NOW, null);
    old.prepare('INSERT INTO answers VALUES (?, ?, ?, ?)').run('done', 'q1', NOW, '{"rows":1}');
    old.close();

    const ledger = PrivacyLedger.open(path);
    try {
      expect(ledger.remaining('patients', scopeOf(WINDOWED), 'b1', NOW).buyer.spent.epsilon).toBe(2.5);
      // The same terms, in flight across the upgrade, find their entry by hash whatever nonce they carry.
      const inFlight = { dealId: 'in-flight', nonce: 'n-signed', buyerId: 'b1', termsHash: 'h-flight' };
      expect(ledger.reservation(inFlight)).toMatchObject({ state: 'reserved', nonce: '' });
      const done = { dealId: 'done', nonce: 'n-signed', buyerId: 'b1', termsHash: 'h-done' };
      expect(ledger.findAnswer(done, 'q1', undefined)?.answer).toEqual({ rows: 1 });
      // Other terms under a migrated id: its nonce is unknown, so they are refused as before.
      expect(() => ledger.reservation({ ...done, nonce: 'n-new', termsHash: 'h-new' })).toThrow(
        TermsConflictError,
      );
    } finally {
      ledger.close();
    }
    const reopened = SqliteDatabase.open(path, { mustExist: true });
    expect(reopened.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(reopened.prepare('SELECT deal_id, nonce FROM answers').all()).toEqual([
      { deal_id: 'done', nonce: '' },
    ]);
    reopened.close();
  });
});
