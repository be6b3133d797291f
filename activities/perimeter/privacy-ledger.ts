import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** Epsilon in millionths: whole numbers, so sums of many small charges never drift. */
const MICRO = 1_000_000;
export const toMicro = (epsilon: number) => Math.round(epsilon * MICRO);
const fromMicro = (micro: number) => micro / MICRO;

const entry = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('reserve'),
    dealId: z.string(),
    buyerId: z.string(),
    dataset: z.string(),
    queryKey: z.string(),
    microEpsilon: z.int().min(0),
    at: z.number(),
  }),
  z.object({ kind: z.literal('commit'), dealId: z.string(), microEpsilon: z.int().min(0), at: z.number() }),
  z.object({ kind: z.literal('release'), dealId: z.string(), at: z.number() }),
]);
type Entry = z.infer<typeof entry>;

export interface Reservation {
  dealId: string;
  buyerId: string;
  dataset: string;
  queryKey: string;
  microEpsilon: number;
  at: number;
  state: 'reserved' | 'committed' | 'released';
}

export interface ReserveRequest {
  dealId: string;
  buyerId: string;
  dataset: string;
  queryKey: string;
  epsilon: number;
  budgetEpsilon: number;
  windowMs: number;
  now: number;
}

export class BudgetExhaustedError extends Error {
  override name = 'BudgetExhaustedError';
}

/**
 * Each buyer's privacy budget per dataset, kept inside the perimeter in an append-only ledger that
 * survives restarts: a reservation is made before the escrow is locked, committed when the answer
 * is released, or released when the deal fails. Spent = everything reserved or committed inside the
 * window. One perimeter process writes it (see `holdPerimeterLock`); its calls are serialised.
 */
export class PrivacyLedger {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly directory: string) {}

  private get path(): string {
    return join(this.directory, 'privacy-ledger.jsonl');
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async reservations(): Promise<Map<string, Reservation>> {
    const text = await readFile(this.path, 'utf8').catch(() => '');
    const reservations = new Map<string, Reservation>();
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const e: Entry = entry.parse(JSON.parse(line));
      const existing = reservations.get(e.dealId);
      if (e.kind === 'reserve') reservations.set(e.dealId, { ...e, state: 'reserved' });
      else if (existing && e.kind === 'commit')
        Object.assign(existing, { state: 'committed', microEpsilon: e.microEpsilon });
      else if (existing && e.kind === 'release') existing.state = 'released';
    }
    return reservations;
  }

  private async append(e: Entry): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await appendFile(this.path, `${JSON.stringify(e)}\n`, { flush: true });
  }

  /** Epsilon spent or held by a buyer on a dataset inside the window ending now. */
  async spent(buyerId: string, dataset: string, windowMs: number, now: number): Promise<number> {
    return fromMicro(spentMicro(await this.reservations(), buyerId, dataset, now - windowMs));
  }

  /** Idempotent per deal: a retried reservation returns the first one and charges nothing more. */
  reserve(request: ReserveRequest): Promise<Reservation> {
    return this.exclusive(async () => {
      const reservations = await this.reservations();
      const existing = reservations.get(request.dealId);
      if (existing) return existing;
      const windowStart = request.now - request.windowMs;
      const spent = spentMicro(reservations, request.buyerId, request.dataset, windowStart);
      const cost = toMicro(request.epsilon);
      if (spent + cost > toMicro(request.budgetEpsilon)) {
        throw new BudgetExhaustedError(
          `privacy budget exhausted: ${request.buyerId} has spent ε=${fromMicro(spent)} of ε=${request.budgetEpsilon} on ${request.dataset} in the last ${Math.round(request.windowMs / 86_400_000)} days; this answer costs ε=${request.epsilon}`,
        );
      }
      const reservation = {
        kind: 'reserve' as const,
        dealId: request.dealId,
        buyerId: request.buyerId,
        dataset: request.dataset,
        queryKey: request.queryKey,
        microEpsilon: cost,
        at: request.now,
      };
      await this.append(reservation);
      return { ...reservation, state: 'reserved' };
    });
  }

  /** Marks the reservation spent; `epsilon` may be lower (0 for a repeated answer). Idempotent. */
  commit(dealId: string, epsilon: number, now: number): Promise<Reservation> {
    return this.exclusive(async () => {
      const reservation = (await this.reservations()).get(dealId);
      if (!reservation) throw new Error(`no privacy reservation for deal ${dealId}`);
      if (reservation.state === 'committed') return reservation;
      if (reservation.state === 'released') throw new Error(`the reservation of deal ${dealId} was released`);
      const microEpsilon = Math.min(reservation.microEpsilon, toMicro(epsilon));
      await this.append({ kind: 'commit', dealId, microEpsilon, at: now });
      return { ...reservation, microEpsilon, state: 'committed' };
    });
  }

  /** Gives a failed deal's reservation back. A committed one stays spent: its answer went out. */
  release(dealId: string, now: number): Promise<Reservation | undefined> {
    return this.exclusive(async () => {
      const reservation = (await this.reservations()).get(dealId);
      if (!reservation || reservation.state !== 'reserved') return reservation;
      await this.append({ kind: 'release', dealId, at: now });
      return { ...reservation, state: 'released' };
    });
  }
}

function spentMicro(
  reservations: Map<string, Reservation>,
  buyerId: string,
  dataset: string,
  windowStart: number,
): number {
  let total = 0;
  for (const r of reservations.values()) {
    if (r.buyerId === buyerId && r.dataset === dataset && r.at > windowStart && r.state !== 'released')
      total += r.microEpsilon;
  }
  return total;
}
