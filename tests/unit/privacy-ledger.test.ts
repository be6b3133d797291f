import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BudgetExhaustedError,
  LedgerLockedError,
  LedgerUnavailableError,
  PrivacyLedger,
  type ReservationKey,
} from '../../activities/perimeter/privacy-ledger';
import type { BudgetScope, DatasetBudget } from '../../query-policies/dataset-policy';
import { privacyCost, ZERO_COST } from '../../query-policies/privacy-cost';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 21);
const BUDGET: DatasetBudget = {
  windowDays: 30,
  total: { epsilon: 5, delta: 1e-5 },
  perBuyer: { epsilon: 3, delta: 1e-6 },
};
const eps = (epsilon: number) => privacyCost({ epsilon });
const scopeOf = (budget: DatasetBudget = BUDGET, datasets = ['patients']): BudgetScope => ({
  datasets,
  name: datasets[0]!,
  budget,
});
/** Each deal's reservation is bound to its own terms hash and its buyer's key. */
const key = (dealId: string, buyerId = 'b1'): ReservationKey => ({
  dealId,
  nonce: `n-${dealId}`,
  buyerId,
  termsHash: `h-${dealId}`,
});

describe('privacy ledger (SQLite)', () => {
  let path: string;
  let ledger: PrivacyLedger;
  const reserve = (dealId: string, epsilon = 1, now = NOW, buyerId = 'b1', budget = BUDGET) =>
    ledger.reserve({
      ...key(dealId, buyerId),
      dataset: 'patients',
      queryKey: `q-${dealId}`,
      cost: eps(epsilon),
      scope: scopeOf(budget),
      now,
    });
  /** Reserves, starts and stores an answer: a fresh answer as the perimeter makes one. */
  const answer = (
    dealId: string,
    epsilon: number,
    now: number,
    committedAt = now,
    queryKey = `q-${dealId}`,
  ) => {
    ledger.reserve({
      ...key(dealId),
      dataset: 'patients',
      queryKey,
      cost: eps(epsilon),
      scope: scopeOf(),
      now,
    });
    ledger.startRun(key(dealId), eps(epsilon), scopeOf(), now);
    return ledger.commitAnswer(key(dealId), committedAt, { queryKey, answer: { dealId } });
  };
  const spent = (buyerId = 'b1', now = NOW) => ledger.remaining('patients', scopeOf(), buyerId, now);

  beforeEach(async () => {
    path = join(await mkdtemp(join(tmpdir(), 'tusk-privacy-')), 'privacy-ledger.sqlite');
    ledger = PrivacyLedger.open(path);
  });
  afterEach(() => {
    try {
      ledger.close();
    } catch {
      // closed by the test
    }
  });

  it('refuses a buyer over its own budget, with what is spent and left, and never goes over', () => {
    for (const deal of ['d1', 'd2', 'd3']) reserve(deal);
    expect(() => reserve('d4')).toThrow(BudgetExhaustedError);
    expect(() => reserve('d4')).toThrow(
      'privacy budget exhausted for buyer b1 on patients: spent ε=3 of ε=3 (δ=0.000001), ε=0 left in the last 30 days; this answer costs ε=1',
    );
    expect(spent().buyer).toEqual({
      budget: BUDGET.perBuyer,
      spent: { epsilon: 3, delta: 0, rho: 0 },
      left: { epsilon: 0, delta: 1e-6 },
    });
    // Another buyer's budget is its own, until the dataset's total runs out.
    expect(reserve('other', 1, NOW, 'b2').state).toBe('reserved');
  });

  it('refuses every buyer once all buyers together reach the dataset total (a privacy filter)', () => {
    const buyers = Array.from({ length: 10 }, (_, i) => `fresh-${i}`);
    const outcomes = buyers.map((buyerId, i) => {
      try {
        reserve(`d${i}`, 1, NOW, buyerId);
        return 'reserved';
      } catch (error) {
        expect(error).toBeInstanceOf(BudgetExhaustedError);
        expect((error as BudgetExhaustedError).scope).toBe('dataset');
        expect((error as Error).message).toMatch(
          /^privacy budget exhausted for dataset patients \(all buyers together\): spent ε=5 of ε=5/,
        );
        return 'refused';
      }
    });
    expect(outcomes.filter((o) => o === 'reserved')).toHaveLength(5);
    expect(spent('fresh-9').total.spent.epsilon).toBe(5);
    expect(spent('fresh-9').buyer.spent.epsilon).toBe(0);
  });

  it('gives back released reservations, keeps committed ones, and forgets what left the window', () => {
    answer('d1', 1, NOW);
    reserve('d2');
    ledger.release('d2', NOW);
    ledger.release('d1', NOW); // committed: its answer went out, so it stays spent
    expect(ledger.reservation(key('d1'))?.state).toBe('committed');
    expect(ledger.reservation(key('d2'))?.state).toBe('released');
    expect(spent().buyer.spent.epsilon).toBe(1);
    expect(spent('b1', NOW + 31 * DAY).buyer.spent.epsilon).toBe(0);
    expect(spent('b1', NOW + 31 * DAY).windowStart).toBe(NOW + DAY);
    expect(reserve('d3', 3, NOW + 31 * DAY).state).toBe('reserved');
  });

  it('is idempotent per deal: a retried reservation or commit charges once', () => {
    reserve('d1');
    reserve('d1');
    ledger.startRun(key('d1'), eps(1), scopeOf(), NOW);
    ledger.chargeFailure(key('d1'), NOW);
    ledger.chargeFailure(key('d1'), NOW);
    ledger.release('d1', NOW);
    expect(spent().buyer.spent.epsilon).toBe(1);
    expect(spent().total.spent.epsilon).toBe(1);
  });

  it('under concurrent deals never overspends, and a reopened ledger sees the same state', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i % 3));
        try {
          reserve(`c${i}`, 0.5);
          return 'reserved';
        } catch {
          return 'refused';
        }
      }),
    );
    expect(outcomes.filter((o) => o === 'reserved')).toHaveLength(6);
    ledger.close();
    ledger = PrivacyLedger.open(path);
    expect(spent().buyer.spent.epsilon).toBe(3);
    expect(() => reserve('late', 0.1)).toThrow(BudgetExhaustedError);
  });

  it('has one writer: a second opener, in this process or another, is refused while it is held', () => {
    expect(() => PrivacyLedger.open(path, { lockTimeoutMs: 100 })).toThrow(LedgerLockedError);
    const other = `const D = require('libsql'); const db = new D(${JSON.stringify(path)}, { timeout: 100 });
      try { db.prepare('SELECT count(*) FROM reservations').get(); console.log('read'); } catch (e) { console.log(e.code); }`;
    expect(execFileSync(process.execPath, ['-e', other], { encoding: 'utf8' }).trim()).toBe('SQLITE_BUSY');
    ledger.close();
    ledger = PrivacyLedger.open(path, { lockTimeoutMs: 100 });
    expect(reserve('after').state).toBe('reserved');
  });

  it('sums many small charges exactly (no floating-point drift)', () => {
    const budget = { ...BUDGET, perBuyer: { epsilon: 1, delta: 0 } };
    for (let i = 0; i < 10; i++) reserve(`t${i}`, 0.1, NOW, 'b1', budget);
    expect(spent().buyer.spent.epsilon).toBe(1);
    expect(() => reserve('t10', 0.1, NOW, 'b1', budget)).toThrow(BudgetExhaustedError);
  });

  it('composes Laplace ε, Gaussian ρ and outright δ against an (ε, δ) budget exactly as by hand', () => {
    const budget: DatasetBudget = {
      windowDays: 30,
      total: { epsilon: 10, delta: 1e-5 },
      perBuyer: { epsilon: 2, delta: 1e-5 },
    };
    const charges = [
      privacyCost({ epsilon: 0.5 }),
      privacyCost({ epsilon: 0.25 }),
      privacyCost({ rho: 0.01 }),
      privacyCost({ rho: 0.02, delta: 1e-6 }),
    ];
    charges.forEach((cost, i) =>
      ledger.reserve({
        dealId: `m${i}`,
        nonce: '',
        buyerId: 'b1',
        termsHash: 'h',
        dataset: 'patients',
        queryKey: `m${i}`,
        cost,
        scope: scopeOf(budget),
        now: NOW,
      }),
    );
    // ε_total = Σε + ρ + 2√(ρ ln(1/δ')), δ' = δ − Σδ = 1e-5 − 1e-6
    const byHand = 0.75 + 0.03 + 2 * Math.sqrt(0.03 * Math.log(1 / 9e-6));
    expect(byHand).toBeCloseTo(1.96076006, 8);
    const figures = ledger.remaining('patients', scopeOf(budget), 'b1', NOW);
    expect(figures.buyer.spent).toEqual({ epsilon: Number(byHand.toFixed(6)), delta: 1e-6, rho: 0.03 });
    expect(figures.buyer.left).toEqual({ epsilon: Number((2 - byHand).toFixed(6)), delta: 9e-6 });
    // One more Laplace answer of ε=0.039 fits (1.96076 + 0.039 ≤ 2); a further ρ=0.001 does not.
    ledger.reserve({
      dealId: 'l',
      nonce: '',
      buyerId: 'b1',
      termsHash: 'h',
      dataset: 'patients',
      queryKey: 'l',
      cost: privacyCost({ epsilon: 0.039 }),
      scope: scopeOf(budget),
      now: NOW,
    });
    expect(() =>
      ledger.reserve({
        dealId: 'g',
        nonce: '',
        buyerId: 'b1',
        termsHash: 'h',
        dataset: 'patients',
        queryKey: 'g',
        cost: privacyCost({ rho: 0.001 }),
        scope: scopeOf(budget),
        now: NOW,
      }),
    ).toThrow(
      /privacy budget exhausted for buyer b1 on patients: spent ε=1\.99976 of ε=2 \(δ=0\.00001\) including ρ=0\.03, ε=0\.00024 left in the last 30 days; this answer costs ε=0, ρ=0\.001/,
    );
    // δ spent outright beyond the budget's δ is refused however small the ε.
    expect(() =>
      ledger.reserve({
        dealId: 'd',
        nonce: '',
        buyerId: 'b1',
        termsHash: 'h',
        dataset: 'patients',
        queryKey: 'd',
        cost: privacyCost({ delta: 1e-5 }),
        scope: scopeOf(budget),
        now: NOW,
      }),
    ).toThrow(BudgetExhaustedError);
  });

  it('raises a reservation to full cost before reading data, and stores an answer only with its charge', () => {
    reserve('d1', 2);
    reserve('d2', 1);
    // d2 would run at more than it reserved, and more than is left: refused before any data is read.
    expect(() => ledger.startRun(key('d2'), eps(1.5), scopeOf(), NOW)).toThrow(BudgetExhaustedError);
    expect(ledger.reservation(key('d2'))).toMatchObject({ state: 'reserved', cost: eps(1), touched: false });
    expect(() => ledger.commitAnswer(key('d2'), NOW, { queryKey: 'q', answer: {} })).toThrow(/never started/);
    expect(ledger.findAnswer(key('d2'), 'q', 0)).toBeUndefined();

    ledger.startRun(key('d1'), eps(2), scopeOf(), NOW);
    ledger.commitAnswer(key('d1'), NOW, { queryKey: 'q', answer: { rows: [[1]] } });
    expect(ledger.reservation(key('d1'))).toMatchObject({ state: 'committed', cost: eps(2) });
    // The deal's own answer, and the same query's answer for another deal inside the window only.
    expect(ledger.findAnswer(key('d1'), 'q', NOW + DAY)).toEqual({
      dealId: 'd1',
      own: true,
      at: NOW,
      answer: { rows: [[1]] },
    });
    expect(ledger.findAnswer(key('d3'), 'q', NOW - DAY)).toMatchObject({ dealId: 'd1', own: false });
    expect(ledger.findAnswer(key('d3'), 'q', NOW)).toBeUndefined();
    // A repeat served that answer commits nothing; a charged deal is never answered twice.
    ledger.commitRepeat(key('d2'), NOW);
    expect(spent().buyer.spent.epsilon).toBe(2);
    expect(() => ledger.commitAnswer(key('d1'), NOW, { queryKey: 'q', answer: {} })).toThrow(
      /already charged/,
    );
  });

  it('a zero-cost repeat whose answer is gone is charged in full before it runs, or refused', () => {
    ledger.reserve({
      ...key('r1'),
      dataset: 'patients',
      queryKey: 'q',
      cost: ZERO_COST,
      scope: scopeOf(),
      now: NOW,
    });
    reserve('d1', 2.5);
    expect(() => ledger.startRun(key('r1'), eps(1), scopeOf(), NOW)).toThrow(BudgetExhaustedError);
    ledger.startRun(key('r1'), eps(0.5), scopeOf(), NOW);
    expect(spent().buyer.spent.epsilon).toBe(3);
  });

  it('refuses a corrupt ledger clearly, on opening and on every later call, never half-working', async () => {
    reserve('d1');
    ledger.close();
    await writeFile(path, 'this is not a SQLite database '.repeat(200));
    let refusal: unknown;
    try {
      PrivacyLedger.open(path);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(LedgerUnavailableError);
    expect((refusal as Error).message).toMatch(
      /^the privacy ledger .*privacy-ledger\.sqlite cannot be used \(file is not a database\); every reservation is refused/,
    );
    // What the perimeter worker opens: a ledger that refuses every call with that same reason.
    const refusing = PrivacyLedger.openOrRefuse(path);
    expect(refusing.unusable).toBe((refusal as Error).message);
    expect(() =>
      refusing.reserve({
        dealId: 'd2',
        nonce: '',
        buyerId: 'b1',
        termsHash: 'h',
        dataset: 'patients',
        queryKey: 'q',
        cost: eps(1),
        scope: scopeOf(),
        now: NOW,
      }),
    ).toThrow(LedgerUnavailableError);
    expect(() => refusing.remaining('patients', scopeOf(), 'b1', NOW)).toThrow((refusal as Error).message);
    expect(() => refusing.release('d1', NOW)).toThrow(LedgerUnavailableError);
    refusing.close();
    // A file someone else's program made is not taken for a ledger either.
    const foreign = join(tmpdir(), `tusk-foreign-${process.pid}.sqlite`);
    execFileSync(process.execPath, [
      '-e',
      `const D = require('libsql'); new D(${JSON.stringify(foreign)}).exec('CREATE TABLE other (x)');`,
    ]);
    expect(() => PrivacyLedger.open(foreign)).toThrow(/holds tables Tusk did not create/);
  });
});
