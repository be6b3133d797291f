import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteDatabase } from '../../lib/sqlite';
import type { BudgetScope, DatasetBudget } from '../../query-policies/dataset-policy';
import {
  addCosts,
  describeCost,
  isFree,
  spentEpsilon,
  withinBudget,
  ZERO_COST,
  type PrivacyBudget,
  type PrivacyCost,
} from '../../query-policies/privacy-cost';
import { LedgerSchemaError, prepareSchema } from './privacy-ledger-schema';
import type { PrivacyLedgerRow, ReservationState } from '../../lib/privacy-ledger-row';

export { PRIVACY_LEDGER_FILE as LEDGER_FILE } from '../../lib/seller-workspace';
const DAY_MS = 86_400_000;
const FEMTO = 1e15;

export type { ReservationState } from '../../lib/privacy-ledger-row';

/**
 * What a reservation is bound to: the deal (or run) id and the nonce of the signed terms it was made
 * for (its key), the hash of those terms, and the verified signer's budget key. The same id signed
 * again by the same key under a new nonce is another entry (a deal id reused after Temporal forgot
 * it); other terms under the same nonce, or another key under the id, are refused.
 */
export interface ReservationKey {
  dealId: string;
  /** The signed terms' nonce; empty for terms that carry none (the id alone then holds the entry). */
  nonce: string;
  termsHash: string;
  /** An opaque key: whatever identity the perimeter verified for the buyer (its signing key). */
  buyerId: string;
}

export interface Reservation extends ReservationKey {
  dataset: string;
  queryKey: string;
  cost: PrivacyCost;
  /** When the charge counts: reservation time while reserved, commit time once committed. */
  at: number;
  reservedAt: number;
  /** The perimeter started reading data for it: it can no longer be given back. */
  touched: boolean;
  state: ReservationState;
}

export interface ReserveRequest extends ReservationKey {
  dataset: string;
  queryKey: string;
  /** What a fresh answer costs; nothing is reserved when an identical query is answered or in flight. */
  cost: PrivacyCost;
  scope: BudgetScope;
  now: number;
}

/** A deal's outcome under its signed terms: an answer released, or a refusal signed. */
export type DealOutcome = 'released' | 'refused';

/** A stored answer: what an identical query inside the window gets back instead of fresh noise. */
export interface StoredAnswer<T> {
  dealId: string;
  /** The entry's own answer; false for another entry's (a repeat), even one under the same deal id. */
  own: boolean;
  at: number;
  answer: T;
}

/** One budget's figures inside the window: ε stated at the budget's δ. */
export interface BudgetFigures {
  budget: PrivacyBudget;
  spent: { epsilon: number; delta: number; rho: number };
  left: PrivacyBudget;
}

export interface RemainingBudget {
  dataset: string;
  /** Absent for a lifetime budget: every charge ever committed counts. */
  windowDays?: number;
  windowStart?: number;
  /** The datasets sharing this budget (the seller marked them as holding the same people). */
  sharedWith?: string[];
  buyer: BudgetFigures;
  /** All buyers together. */
  total: BudgetFigures;
}

export class BudgetExhaustedError extends Error {
  override name = 'BudgetExhaustedError';
  constructor(
    readonly scope: 'buyer' | 'dataset',
    message: string,
  ) {
    super(message);
  }
}

/** The ledger cannot be read or written (corrupt, unknown schema, unreadable): nothing is charged. */
export class LedgerUnavailableError extends Error {
  override name = 'LedgerUnavailableError';
}

/** The deal's reservation is missing, released, or already charged for an answer no longer stored. */
export class ReservationStateError extends Error {
  override name = 'ReservationStateError';
}

/**
 * The id is held by another signer's entry, or its nonce by an entry for other signed terms (or by
 * an entry whose nonce is unknown): refused.
 */
export class TermsConflictError extends Error {
  override name = 'TermsConflictError';
}

/** Another process holds the ledger: one perimeter worker per state directory. */
export class LedgerLockedError extends Error {
  override name = 'LedgerLockedError';
}

type Row = PrivacyLedgerRow;

const costOf = (row: Pick<Row, 'micro_epsilon' | 'nano_rho' | 'femto_delta'>): PrivacyCost => ({
  microEpsilon: row.micro_epsilon,
  nanoRho: row.nano_rho,
  femtoDelta: row.femto_delta,
});

const reservationOf = (row: Row): Reservation => ({
  dealId: row.deal_id,
  nonce: row.nonce,
  termsHash: row.terms_hash,
  buyerId: row.buyer_id,
  dataset: row.dataset,
  queryKey: row.query_key,
  cost: costOf(row),
  at: row.at,
  reservedAt: row.reserved_at,
  touched: row.touched_at !== null,
  state: row.state,
});

/** The earliest commit time that still counts; undefined for a lifetime budget (everything counts). */
export const windowStartOf = (budget: DatasetBudget, now: number) =>
  budget.windowDays === undefined ? undefined : now - budget.windowDays * DAY_MS;

const round = (x: number) => Number(x.toFixed(6));

function figures(spent: PrivacyCost, budget: PrivacyBudget): BudgetFigures {
  const cost = describeCost(spent);
  const epsilon = spentEpsilon(spent, budget.delta);
  return {
    budget,
    spent: { epsilon: round(epsilon), delta: cost.delta, rho: cost.rho },
    left: {
      epsilon: round(Math.max(0, budget.epsilon - epsilon)),
      delta: Math.max(0, (Math.round(budget.delta * FEMTO) - spent.femtoDelta) / FEMTO),
    },
  };
}

const describeSpend = (f: BudgetFigures) =>
  `spent ε=${f.spent.epsilon} of ε=${f.budget.epsilon} (δ=${f.budget.delta})` +
  (f.spent.rho > 0 ? ` including ρ=${f.spent.rho}` : '') +
  `, ε=${f.left.epsilon} left`;

const describeCharge = (cost: PrivacyCost) => {
  const { epsilon, rho, delta } = describeCost(cost);
  return [`ε=${epsilon}`, rho > 0 ? `ρ=${rho}` : '', delta > 0 ? `δ=${delta}` : '']
    .filter(Boolean)
    .join(', ');
};

const describePeriod = (budget: DatasetBudget) =>
  budget.windowDays === undefined ? 'over its lifetime' : `in the last ${budget.windowDays} days`;

const describeScope = (scope: BudgetScope) =>
  scope.datasets.length > 1
    ? `budget group ${scope.name} (datasets ${scope.datasets.join(', ')})`
    : `dataset ${scope.datasets[0]}`;

const grows = (cost: PrivacyCost, than: PrivacyCost) =>
  cost.microEpsilon > than.microEpsilon || cost.nanoRho > than.nanoRho || cost.femtoDelta > than.femtoDelta;

/**
 * The perimeter's privacy accounting and released answers, in one SQLite file inside the perimeter.
 *
 * Every operation is one transaction, so no crash leaves half an entry. A reservation is made before
 * the escrow is locked and bound to the signed terms and the signer's key. It is committed when the
 * answer is stored (in the same transaction), when the query fails after the perimeter started
 * reading data (an error is an answer too), or released when the deal fails before any data was read.
 * Spent = everything reserved, plus everything committed inside the window (all of it for a lifetime
 * budget), per buyer and across all buyers of every dataset sharing the budget: a privacy filter
 * (Rogers et al. 2016). A charge is refused when it would take either over its (ε, δ) budget.
 *
 * Single writer: the connection runs in `locking_mode = EXCLUSIVE` and writes once on opening, so it
 * holds SQLite's exclusive lock on the file until it closes. The operating system drops that lock when
 * the process dies, so a crashed worker never leaves a stale lock (unlike a pid file), and a second
 * worker on the same file is refused at once. Nothing else can read the file while a worker runs: the
 * figures go out only through the perimeter (`remaining`).
 */
export class PrivacyLedger {
  private constructor(
    readonly path: string,
    private readonly connection: SqliteDatabase | undefined,
    private broken?: LedgerUnavailableError,
  ) {}

  /**
   * As `open`, except that a ledger that cannot be used (corrupt, unknown schema) gives a ledger that
   * refuses every call with that reason, so deals are refused clearly instead of waiting for a worker.
   * Another worker holding the file still throws.
   */
  static openOrRefuse(path: string, options: { lockTimeoutMs?: number } = {}): PrivacyLedger {
    try {
      return PrivacyLedger.open(path, options);
    } catch (error) {
      if (error instanceof LedgerUnavailableError) return new PrivacyLedger(path, undefined, error);
      throw error;
    }
  }

  /** Why every call is refused, when the ledger cannot be used. */
  get unusable(): string | undefined {
    return this.broken?.message;
  }

  private get db(): SqliteDatabase {
    if (this.broken || !this.connection)
      throw this.broken ?? new LedgerUnavailableError(`the privacy ledger ${this.path} is closed`);
    return this.connection;
  }

  /**
   * Opens (or creates) the ledger and takes the single-writer lock; migrates an older file in place
   * (keeping every charge); refuses a corrupt, foreign or newer file.
   */
  static open(path: string, options: { lockTimeoutMs?: number } = {}): PrivacyLedger {
    mkdirSync(dirname(path), { recursive: true });
    let db: SqliteDatabase | undefined;
    try {
      db = SqliteDatabase.open(path, { timeoutMs: options.lockTimeoutMs ?? 5000 });
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      const opened = db;
      opened
        .transaction(() => {
          prepareSchema(opened);
          const check = opened.pragma('quick_check', { simple: true });
          if (check !== 'ok') throw new LedgerUnavailableError(`its integrity check says: ${String(check)}`);
          opened
            .prepare(
              'INSERT INTO holder (id, pid, since) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, since = excluded.since',
            )
            .run(process.pid, Date.now());
        })
        .immediate();
      return new PrivacyLedger(path, opened);
    } catch (error) {
      db?.close();
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
        throw new LedgerLockedError(`another perimeter worker holds the privacy ledger ${path}`);
      throw unavailable(path, error);
    }
  }

  close(): void {
    this.connection?.close();
  }

  /** Runs one operation in one immediate transaction; a storage fault refuses this and every later call. */
  private run<T>(work: () => T): T {
    const db = this.db;
    try {
      return db.transaction(work).immediate();
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (/^SQLITE_(CORRUPT|NOTADB|IOERR|CANTOPEN|FULL|READONLY)/.test(code)) {
        this.broken = unavailable(this.path, error);
        throw this.broken;
      }
      throw error;
    }
  }

  /**
   * The entry of the key's id and nonce, or undefined when the key may open a new one. Refused when
   * another signer holds the id, when the nonce is held for other terms, or when an entry whose nonce
   * is unknown (made before nonces were recorded, or for terms without one) holds the id for others.
   */
  private row(key: ReservationKey): Row | undefined {
    const rows = this.db.prepare('SELECT * FROM reservations WHERE deal_id = ?').all(key.dealId) as Row[];
    const conflict = (why: string) =>
      new TermsConflictError(`${key.dealId} is held ${why}: nothing is served or charged under it`);
    if (rows.some((row) => row.buyer_id !== key.buyerId))
      throw conflict('by a reservation of another signer');
    const own =
      rows.find((row) => row.nonce === key.nonce) ??
      rows.find((row) => row.nonce === '' && row.terms_hash === key.termsHash);
    if (own && own.terms_hash !== key.termsHash)
      throw conflict('under this nonce by a reservation for other signed terms');
    if (!own && rows.some((row) => row.nonce === '' || key.nonce === ''))
      throw conflict('by a reservation for other signed terms, and one of them names no nonce');
    return own;
  }

  private live(key: ReservationKey): Row {
    const row = this.row(key);
    if (!row) throw new ReservationStateError(`no privacy reservation for deal ${key.dealId}`);
    if (row.state === 'released')
      throw new ReservationStateError(`the reservation of deal ${key.dealId} was released`);
    return row;
  }

  private reread(dealId: string, nonce: string): Reservation {
    return reservationOf(
      this.db.prepare('SELECT * FROM reservations WHERE deal_id = ? AND nonce = ?').get(dealId, nonce) as Row,
    );
  }

  reservation(key: ReservationKey): Reservation | undefined {
    return this.run(() => {
      const row = this.row(key);
      return row && reservationOf(row);
    });
  }

  /**
   * Reserved charges count whatever their age (they are not dated until committed); committed ones
   * count from their commit, inside the window.
   */
  private spent(scope: BudgetScope, buyerId: string | undefined, now: number, except?: Row): PrivacyCost {
    const windowStart = windowStartOf(scope.budget, now) ?? null;
    const datasets = JSON.stringify(scope.datasets);
    const sums = this.db
      .prepare(
        `SELECT coalesce(sum(micro_epsilon), 0) AS micro_epsilon, coalesce(sum(nano_rho), 0) AS nano_rho,
                coalesce(sum(femto_delta), 0) AS femto_delta
           FROM reservations
          WHERE dataset IN (SELECT value FROM json_each(?)) AND state != 'released'
            AND (state = 'reserved' OR ? IS NULL OR at > ?)
            AND (? IS NULL OR buyer_id = ?) AND (? IS NULL OR NOT (deal_id = ? AND nonce = ?))`,
      )
      .get(
        datasets,
        windowStart,
        windowStart,
        buyerId ?? null,
        buyerId ?? null,
        except?.deal_id ?? null,
        except?.deal_id ?? null,
        except?.nonce ?? null,
      ) as Row;
    return costOf(sums);
  }

  /** Refuses a charge that would take the buyer's or the shared budget's spend over its budget. */
  private checkFits(scope: BudgetScope, buyerId: string, cost: PrivacyCost, now: number, except?: Row) {
    const { budget } = scope;
    const buyer = this.spent(scope, buyerId, now, except);
    const total = this.spent(scope, undefined, now, except);
    const period = describePeriod(budget);
    if (!withinBudget(addCosts(buyer, cost), budget.perBuyer))
      throw new BudgetExhaustedError(
        'buyer',
        `privacy budget exhausted for buyer ${buyerId} on ${scope.datasets.length > 1 ? describeScope(scope) : scope.datasets[0]}: ${describeSpend(figures(buyer, budget.perBuyer))} ${period}; this answer costs ${describeCharge(cost)}`,
      );
    if (!withinBudget(addCosts(total, cost), budget.total))
      throw new BudgetExhaustedError(
        'dataset',
        `privacy budget exhausted for ${describeScope(scope)} (all buyers together): ${describeSpend(figures(total, budget.total))} ${period}; this answer costs ${describeCharge(cost)}`,
      );
  }

  /** An answer to the same query is stored (committed after `notBefore`), or one is being computed. */
  private answeredOrInFlight(queryKey: string, notBefore: number | undefined): boolean {
    const stored = this.db
      .prepare('SELECT 1 FROM answers WHERE query_key = ? AND (? IS NULL OR at > ?) LIMIT 1')
      .get(queryKey, notBefore ?? null, notBefore ?? null);
    const inFlight = this.db
      .prepare(
        "SELECT 1 FROM reservations WHERE query_key = ? AND state = 'reserved' AND NOT (micro_epsilon = 0 AND nano_rho = 0 AND femto_delta = 0) LIMIT 1",
      )
      .get(queryKey);
    return stored !== undefined || inFlight !== undefined;
  }

  /**
   * Reserves a fresh answer's cost, or nothing when an identical query is answered inside the window
   * or already reserved in full by another deal (this one then waits for that answer; if it never
   * comes, `startRun` charges this deal in full before it reads anything). Idempotent per key: a
   * retried reservation returns the first one and charges nothing more.
   */
  reserve(request: ReserveRequest): Reservation {
    return this.run(() => {
      const existing = this.row(request);
      if (existing) return reservationOf(existing);
      const notBefore = windowStartOf(request.scope.budget, request.now);
      // Called before this entry exists, so an entry in flight is always another deal's.
      const cost = this.answeredOrInFlight(request.queryKey, notBefore) ? ZERO_COST : request.cost;
      if (!isFree(cost)) this.checkFits(request.scope, request.buyerId, cost, request.now);
      this.db
        .prepare(
          `INSERT INTO reservations (deal_id, nonce, terms_hash, buyer_id, dataset, query_key, micro_epsilon,
                                     nano_rho, femto_delta, at, reserved_at, state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'reserved')`,
        )
        .run(
          request.dealId,
          request.nonce,
          request.termsHash,
          request.buyerId,
          request.dataset,
          request.queryKey,
          cost.microEpsilon,
          cost.nanoRho,
          cost.femtoDelta,
          request.now,
          request.now,
        );
      return this.reread(request.dealId, request.nonce);
    });
  }

  /**
   * Reserves and commits at once (a milestone run's ε, paid before its first check reads data).
   * Idempotent per key: the same run is charged once, and a run already charged is not checked again.
   */
  charge(request: Omit<ReserveRequest, 'queryKey'>): Reservation {
    return this.run(() => {
      const existing = this.row(request);
      if (existing?.state === 'committed') return reservationOf(existing);
      if (existing?.state === 'released')
        throw new ReservationStateError(`the charge ${request.dealId} was released`);
      if (!existing) this.checkFits(request.scope, request.buyerId, request.cost, request.now);
      const nonce = existing?.nonce ?? request.nonce;
      this.db
        .prepare(
          `INSERT INTO reservations (deal_id, nonce, terms_hash, buyer_id, dataset, query_key, micro_epsilon,
                                     nano_rho, femto_delta, at, reserved_at, touched_at, state, settled_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'committed', ?)
           ON CONFLICT (deal_id, nonce) DO UPDATE SET state = 'committed', at = excluded.at, settled_at = excluded.at`,
        )
        .run(
          request.dealId,
          nonce,
          request.termsHash,
          request.buyerId,
          request.dataset,
          request.dealId,
          request.cost.microEpsilon,
          request.cost.nanoRho,
          request.cost.femtoDelta,
          request.now,
          request.now,
          request.now,
          request.now,
        );
      return this.reread(request.dealId, nonce);
    });
  }

  /** Inside a transaction: marks a reservation spent at `cost`, dated now (when its answer goes out). */
  private commitRow(row: Row, cost: PrivacyCost, now: number): Reservation {
    this.db
      .prepare(
        `UPDATE reservations SET state = 'committed', micro_epsilon = ?, nano_rho = ?, femto_delta = ?, at = ?,
                settled_at = ?
          WHERE deal_id = ? AND nonce = ?`,
      )
      .run(cost.microEpsilon, cost.nanoRho, cost.femtoDelta, now, now, row.deal_id, row.nonce);
    return this.reread(row.deal_id, row.nonce);
  }

  /**
   * Before the perimeter reads any data for a reservation: raises it to the fresh answer's full cost
   * when it reserved less (a repeat whose stored answer is gone, or a deal that waited for an
   * identical one that failed), refused when the budgets no longer allow it, and marks it touched.
   * From here on the reservation is charged whatever happens: an error or a timeout is an answer too.
   */
  startRun(key: ReservationKey, cost: PrivacyCost, scope: BudgetScope, now: number): Reservation {
    return this.run(() => {
      const row = this.live(key);
      if (row.state === 'committed')
        throw new ReservationStateError(`deal ${key.dealId} was already charged for an answer`);
      const reserved = costOf(row);
      const full = grows(cost, reserved) ? cost : reserved;
      if (grows(cost, reserved) && !this.takeOver(row, cost))
        this.checkFits(scope, row.buyer_id, cost, now, row);
      this.db
        .prepare(
          `UPDATE reservations SET micro_epsilon = ?, nano_rho = ?, femto_delta = ?, touched_at = coalesce(touched_at, ?)
            WHERE deal_id = ? AND nonce = ?`,
        )
        .run(full.microEpsilon, full.nanoRho, full.femtoDelta, now, row.deal_id, row.nonce);
      return this.reread(row.deal_id, row.nonce);
    });
  }

  /**
   * A deal that reserved nothing because an identical query was in flight, but runs first: it takes
   * that query's untouched full reservation over (which then waits for this answer at no cost), so
   * the waiter is neither refused nor charged twice. False when there is none to take over.
   */
  private takeOver(row: Row, cost: PrivacyCost): boolean {
    const donor = this.db
      .prepare(
        `SELECT deal_id, nonce FROM reservations
          WHERE query_key = ? AND NOT (deal_id = ? AND nonce = ?) AND state = 'reserved' AND touched_at IS NULL
            AND micro_epsilon = ? AND nano_rho = ? AND femto_delta = ? LIMIT 1`,
      )
      .get(row.query_key, row.deal_id, row.nonce, cost.microEpsilon, cost.nanoRho, cost.femtoDelta) as
      { deal_id: string; nonce: string } | undefined;
    if (!donor) return false;
    this.db
      .prepare(
        'UPDATE reservations SET micro_epsilon = 0, nano_rho = 0, femto_delta = 0 WHERE deal_id = ? AND nonce = ?',
      )
      .run(donor.deal_id, donor.nonce);
    return true;
  }

  /**
   * Commits a fresh answer at what `startRun` reserved and stores the answer in one transaction: an
   * answer is never stored (nor, after this, sealed) without its cost charged.
   */
  commitAnswer<T>(key: ReservationKey, now: number, answer: { queryKey: string; answer: T }): Reservation {
    return this.run(() => {
      const row = this.live(key);
      if (row.state === 'committed')
        throw new ReservationStateError(
          `deal ${key.dealId} was already charged for an answer that is no longer stored`,
        );
      if (row.touched_at === null)
        throw new ReservationStateError(`deal ${key.dealId} stores an answer it never started`);
      const committed = this.commitRow(row, costOf(row), now);
      this.db
        .prepare('INSERT INTO answers (deal_id, nonce, query_key, at, answer) VALUES (?, ?, ?, ?, ?)')
        .run(row.deal_id, row.nonce, answer.queryKey, now, JSON.stringify(answer.answer));
      return committed;
    });
  }

  /**
   * A deal served the stored answer of an identical query: nothing more to charge, unless this deal
   * had already started reading data (a retry after a crash), which is charged as reserved.
   * Idempotent: a committed reservation is returned as it is.
   */
  commitRepeat(key: ReservationKey, now: number): Reservation {
    return this.run(() => {
      const row = this.live(key);
      if (row.state === 'committed') return reservationOf(row);
      return this.commitRow(row, row.touched_at === null ? ZERO_COST : costOf(row), now);
    });
  }

  /** The query failed or timed out after it started reading data: charged in full, no answer stored. */
  chargeFailure(key: ReservationKey, now: number): Reservation {
    return this.run(() => {
      const row = this.live(key);
      if (row.state === 'committed') return reservationOf(row);
      return this.commitRow(row, costOf(row), now);
    });
  }

  /**
   * Gives a failed deal's reservations back, only where no data was read for them. A touched one is
   * committed instead (the failure may depend on the data), and a committed one stays spent. By id
   * alone, every entry of the id still reserved: whoever calls it can at most give back what was
   * never used.
   */
  release(dealId: string, now: number): Reservation[] {
    return this.run(() => {
      const rows = this.db.prepare('SELECT * FROM reservations WHERE deal_id = ?').all(dealId) as Row[];
      return rows.map((row) => {
        if (row.state !== 'reserved') return reservationOf(row);
        if (row.touched_at !== null) return this.commitRow(row, costOf(row), now);
        this.db
          .prepare(
            "UPDATE reservations SET state = 'released', settled_at = ? WHERE deal_id = ? AND nonce = ?",
          )
          .run(now, row.deal_id, row.nonce);
        return this.reread(row.deal_id, row.nonce);
      });
    });
  }

  /**
   * The deal's own stored answer (under its bound key), or else the latest answer to the same query
   * stored after `notBefore` (any time, when undefined).
   */
  findAnswer<T>(
    key: ReservationKey,
    queryKey: string,
    notBefore: number | undefined,
  ): StoredAnswer<T> | undefined {
    return this.run(() => {
      const entry = this.row(key);
      const own =
        entry &&
        this.db
          .prepare('SELECT deal_id, at, answer FROM answers WHERE deal_id = ? AND nonce = ?')
          .get(entry.deal_id, entry.nonce);
      const row = (own ??
        this.db
          .prepare(
            'SELECT deal_id, at, answer FROM answers WHERE query_key = ? AND (? IS NULL OR at > ?) ORDER BY at DESC LIMIT 1',
          )
          .get(queryKey, notBefore ?? null, notBefore ?? null)) as
        { deal_id: string; at: number; answer: string } | undefined;
      return (
        row && {
          dealId: row.deal_id,
          own: own !== undefined,
          at: row.at,
          answer: JSON.parse(row.answer) as T,
        }
      );
    });
  }

  /** What the perimeter decided for the deal under these terms, if it decided (privacy-ledger-schema.ts). */
  outcomeOf(dealId: string, termsHash: string): DealOutcome | undefined {
    return this.run(() => this.outcomeRow(dealId, termsHash));
  }

  /**
   * Records the deal's outcome under its terms unless one is recorded, and returns the one that
   * stands: the first wins for good, so the perimeter never both answers and refuses the same terms.
   */
  claimOutcome(dealId: string, termsHash: string, outcome: DealOutcome, now: number): DealOutcome {
    return this.run(() => {
      this.db
        .prepare('INSERT OR IGNORE INTO outcomes (deal_id, terms_hash, outcome, at) VALUES (?, ?, ?, ?)')
        .run(dealId, termsHash, outcome, now);
      return this.outcomeRow(dealId, termsHash)!;
    });
  }

  private outcomeRow(dealId: string, termsHash: string): DealOutcome | undefined {
    const row = this.db
      .prepare('SELECT outcome FROM outcomes WHERE deal_id = ? AND terms_hash = ?')
      .get(dealId, termsHash) as { outcome: DealOutcome } | undefined;
    return row?.outcome;
  }

  /** What the buyer and all buyers together have spent on a budget (inside its window), and what is left. */
  remaining(dataset: string, scope: BudgetScope, buyerId: string, now: number): RemainingBudget {
    return this.run(() => {
      const { budget } = scope;
      const windowStart = windowStartOf(budget, now);
      return {
        dataset,
        ...(budget.windowDays === undefined ? {} : { windowDays: budget.windowDays, windowStart }),
        ...(scope.datasets.length > 1 ? { sharedWith: scope.datasets } : {}),
        buyer: figures(this.spent(scope, buyerId, now), budget.perBuyer),
        total: figures(this.spent(scope, undefined, now), budget.total),
      };
    });
  }
}

function unavailable(path: string, error: unknown): LedgerUnavailableError {
  const reason = error instanceof Error ? error.message : String(error);
  return new LedgerUnavailableError(
    `the privacy ledger ${path} cannot be used (${reason}); every reservation is refused until the seller restores it from a backup (deleting it would reset every budget)`,
  );
}

export { LedgerSchemaError };
