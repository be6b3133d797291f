import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { DatasetBudget } from '../../query-policies/dataset-policy';
import {
  addCosts,
  describeCost,
  spentEpsilon,
  withinBudget,
  type PrivacyBudget,
  type PrivacyCost,
} from '../../query-policies/privacy-cost';

export const LEDGER_FILE = 'privacy-ledger.sqlite';
const SCHEMA_VERSION = 1;
const DAY_MS = 86_400_000;
const FEMTO = 1e15;

export type ReservationState = 'reserved' | 'committed' | 'released';

export interface Reservation {
  dealId: string;
  buyerId: string;
  dataset: string;
  queryKey: string;
  cost: PrivacyCost;
  at: number;
  state: ReservationState;
}

export interface ReserveRequest {
  dealId: string;
  /** An opaque key: whatever identity the perimeter verified for the buyer. */
  buyerId: string;
  dataset: string;
  queryKey: string;
  cost: PrivacyCost;
  budget: DatasetBudget;
  now: number;
}

/** A stored answer: what an identical query inside the window gets back instead of fresh noise. */
export interface StoredAnswer<T> {
  dealId: string;
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
  windowDays: number;
  windowStart: number;
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

/** Another process holds the ledger: one perimeter worker per state directory. */
export class LedgerLockedError extends Error {
  override name = 'LedgerLockedError';
}

interface Row {
  deal_id: string;
  buyer_id: string;
  dataset: string;
  query_key: string;
  micro_epsilon: number;
  nano_rho: number;
  femto_delta: number;
  at: number;
  state: ReservationState;
}

const SCHEMA = `
CREATE TABLE reservations (
  deal_id TEXT PRIMARY KEY,
  buyer_id TEXT NOT NULL,
  dataset TEXT NOT NULL,
  query_key TEXT NOT NULL,
  micro_epsilon INTEGER NOT NULL CHECK (micro_epsilon >= 0),
  nano_rho INTEGER NOT NULL CHECK (nano_rho >= 0),
  femto_delta INTEGER NOT NULL CHECK (femto_delta >= 0),
  at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
  settled_at INTEGER
) STRICT;
CREATE INDEX reservations_by_dataset ON reservations (dataset, at);
CREATE TABLE answers (
  deal_id TEXT PRIMARY KEY REFERENCES reservations (deal_id),
  query_key TEXT NOT NULL,
  at INTEGER NOT NULL,
  answer TEXT NOT NULL
) STRICT;
CREATE INDEX answers_by_query ON answers (query_key, at);
CREATE TABLE holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since INTEGER NOT NULL) STRICT;
`;

const costOf = (row: Row): PrivacyCost => ({
  microEpsilon: row.micro_epsilon,
  nanoRho: row.nano_rho,
  femtoDelta: row.femto_delta,
});

const reservationOf = (row: Row): Reservation => ({
  dealId: row.deal_id,
  buyerId: row.buyer_id,
  dataset: row.dataset,
  queryKey: row.query_key,
  cost: costOf(row),
  at: row.at,
  state: row.state,
});

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

/**
 * The perimeter's privacy accounting and released answers, in one SQLite file inside the perimeter.
 *
 * Every operation is one transaction, so no crash leaves half an entry. A reservation is made before
 * the escrow is locked, committed when the answer is stored (in the same transaction), or released
 * when the deal fails. Spent = everything reserved or committed inside the window, per buyer and for
 * the dataset across all buyers (a privacy filter): a charge is refused when it would take either
 * over its (ε, δ) budget.
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
    private readonly connection: Database.Database | undefined,
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

  private get db(): Database.Database {
    if (this.broken || !this.connection)
      throw this.broken ?? new LedgerUnavailableError(`the privacy ledger ${this.path} is closed`);
    return this.connection;
  }

  /** Opens (or creates) the ledger and takes the single-writer lock; refuses a corrupt or foreign file. */
  static open(path: string, options: { lockTimeoutMs?: number } = {}): PrivacyLedger {
    mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { timeout: options.lockTimeoutMs ?? 5000 });
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      const opened = db;
      opened
        .transaction(() => {
          const version = opened.pragma('user_version', { simple: true }) as number;
          if (version === 0) {
            const tables = opened
              .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'")
              .get() as {
              n: number;
            };
            if (tables.n > 0) throw new LedgerUnavailableError('it holds tables Tusk did not create');
            opened.exec(SCHEMA);
            opened.pragma(`user_version = ${SCHEMA_VERSION}`);
          } else if (version !== SCHEMA_VERSION) {
            throw new LedgerUnavailableError(
              `its schema version is ${version}, this perimeter knows ${SCHEMA_VERSION}`,
            );
          }
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

  private row(dealId: string): Row | undefined {
    return this.db.prepare('SELECT * FROM reservations WHERE deal_id = ?').get(dealId) as Row | undefined;
  }

  reservation(dealId: string): Reservation | undefined {
    return this.run(() => {
      const row = this.row(dealId);
      return row && reservationOf(row);
    });
  }

  private spent(
    dataset: string,
    buyerId: string | undefined,
    windowStart: number,
    except?: string,
  ): PrivacyCost {
    const sums = this.db
      .prepare(
        `SELECT coalesce(sum(micro_epsilon), 0) AS micro_epsilon, coalesce(sum(nano_rho), 0) AS nano_rho,
                coalesce(sum(femto_delta), 0) AS femto_delta
           FROM reservations
          WHERE dataset = ? AND at > ? AND state != 'released'
            AND (? IS NULL OR buyer_id = ?) AND (? IS NULL OR deal_id != ?)`,
      )
      .get(dataset, windowStart, buyerId ?? null, buyerId ?? null, except ?? null, except ?? null) as Row;
    return costOf(sums);
  }

  private figuresNow(dataset: string, buyerId: string, budget: DatasetBudget, now: number, except?: string) {
    const windowStart = now - budget.windowDays * DAY_MS;
    return {
      windowStart,
      buyer: this.spent(dataset, buyerId, windowStart, except),
      total: this.spent(dataset, undefined, windowStart, except),
    };
  }

  /** Refuses a charge that would take the buyer's or the dataset's spend over its budget. */
  private checkFits(
    dataset: string,
    buyerId: string,
    cost: PrivacyCost,
    budget: DatasetBudget,
    now: number,
    except?: string,
  ) {
    const spent = this.figuresNow(dataset, buyerId, budget, now, except);
    const days = `in the last ${budget.windowDays} days`;
    if (!withinBudget(addCosts(spent.buyer, cost), budget.perBuyer))
      throw new BudgetExhaustedError(
        'buyer',
        `privacy budget exhausted for buyer ${buyerId} on ${dataset}: ${describeSpend(figures(spent.buyer, budget.perBuyer))} ${days}; this answer costs ${describeCharge(cost)}`,
      );
    if (!withinBudget(addCosts(spent.total, cost), budget.total))
      throw new BudgetExhaustedError(
        'dataset',
        `privacy budget exhausted for dataset ${dataset} (all buyers together): ${describeSpend(figures(spent.total, budget.total))} ${days}; this answer costs ${describeCharge(cost)}`,
      );
  }

  /** Idempotent per deal: a retried reservation returns the first one and charges nothing more. */
  reserve(request: ReserveRequest): Reservation {
    return this.run(() => {
      const existing = this.row(request.dealId);
      if (existing) return reservationOf(existing);
      this.checkFits(request.dataset, request.buyerId, request.cost, request.budget, request.now);
      this.db
        .prepare(
          `INSERT INTO reservations (deal_id, buyer_id, dataset, query_key, micro_epsilon, nano_rho, femto_delta, at, state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'reserved')`,
        )
        .run(
          request.dealId,
          request.buyerId,
          request.dataset,
          request.queryKey,
          request.cost.microEpsilon,
          request.cost.nanoRho,
          request.cost.femtoDelta,
          request.now,
        );
      return reservationOf(this.row(request.dealId)!);
    });
  }

  /** Inside a transaction: marks a reservation spent at `cost`, re-checking the budgets when it grows. */
  private commitRow(dealId: string, cost: PrivacyCost, now: number, budget?: DatasetBudget): Reservation {
    const row = this.row(dealId);
    if (!row) throw new ReservationStateError(`no privacy reservation for deal ${dealId}`);
    if (row.state === 'released')
      throw new ReservationStateError(`the reservation of deal ${dealId} was released`);
    const reserved = costOf(row);
    const grows =
      cost.microEpsilon > reserved.microEpsilon ||
      cost.nanoRho > reserved.nanoRho ||
      cost.femtoDelta > reserved.femtoDelta;
    if (grows) {
      if (!budget)
        throw new Error(`deal ${dealId} reserved less than it would commit, and no budget was given`);
      this.checkFits(row.dataset, row.buyer_id, cost, budget, now, dealId);
    }
    this.db
      .prepare(
        `UPDATE reservations SET state = 'committed', micro_epsilon = ?, nano_rho = ?, femto_delta = ?, settled_at = ?
          WHERE deal_id = ?`,
      )
      .run(cost.microEpsilon, cost.nanoRho, cost.femtoDelta, now, dealId);
    return reservationOf(this.row(dealId)!);
  }

  /**
   * Marks the reservation spent at `cost` (ZERO_COST when the deal is served an answer already paid
   * for). A cost above what was reserved is checked against `budget` again and may be refused.
   * Idempotent: a committed reservation is returned as it is.
   */
  commit(dealId: string, cost: PrivacyCost, now: number, budget?: DatasetBudget): Reservation {
    return this.run(() => {
      const row = this.row(dealId);
      if (row?.state === 'committed') return reservationOf(row);
      return this.commitRow(dealId, cost, now, budget);
    });
  }

  /**
   * Commits a fresh answer's cost and stores the answer in one transaction: an answer is never
   * stored (nor, after this, sealed) without its cost charged, and a charge never lacks its answer.
   */
  commitAnswer<T>(
    dealId: string,
    cost: PrivacyCost,
    now: number,
    budget: DatasetBudget,
    answer: { queryKey: string; answer: T },
  ): Reservation {
    return this.run(() => {
      const row = this.row(dealId);
      if (row?.state === 'committed')
        throw new ReservationStateError(
          `deal ${dealId} was already charged for an answer that is no longer stored`,
        );
      const committed = this.commitRow(dealId, cost, now, budget);
      this.db
        .prepare('INSERT INTO answers (deal_id, query_key, at, answer) VALUES (?, ?, ?, ?)')
        .run(dealId, answer.queryKey, now, JSON.stringify(answer.answer));
      return committed;
    });
  }

  /** Gives a failed deal's reservation back. A committed one stays spent: its answer went out. */
  release(dealId: string, now: number): Reservation | undefined {
    return this.run(() => {
      const row = this.row(dealId);
      if (!row || row.state !== 'reserved') return row && reservationOf(row);
      this.db
        .prepare("UPDATE reservations SET state = 'released', settled_at = ? WHERE deal_id = ?")
        .run(now, dealId);
      return reservationOf(this.row(dealId)!);
    });
  }

  /** The deal's own stored answer, or else the latest answer to the same query stored after `notBefore`. */
  findAnswer<T>(dealId: string, queryKey: string, notBefore: number): StoredAnswer<T> | undefined {
    return this.run(() => {
      const own = this.db.prepare('SELECT deal_id, at, answer FROM answers WHERE deal_id = ?').get(dealId);
      const row = (own ??
        this.db
          .prepare(
            'SELECT deal_id, at, answer FROM answers WHERE query_key = ? AND at > ? ORDER BY at DESC LIMIT 1',
          )
          .get(queryKey, notBefore)) as { deal_id: string; at: number; answer: string } | undefined;
      return row && { dealId: row.deal_id, at: row.at, answer: JSON.parse(row.answer) as T };
    });
  }

  /** What the buyer and all buyers together have spent on a dataset inside the window, and what is left. */
  remaining(dataset: string, buyerId: string, budget: DatasetBudget, now: number): RemainingBudget {
    return this.run(() => {
      const spent = this.figuresNow(dataset, buyerId, budget, now);
      return {
        dataset,
        windowDays: budget.windowDays,
        windowStart: spent.windowStart,
        buyer: figures(spent.buyer, budget.perBuyer),
        total: figures(spent.total, budget.total),
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
