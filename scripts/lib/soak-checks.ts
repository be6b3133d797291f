import type { LedgerEntry } from '../../activities/settlement/ledger-entries';
import { parseEscrowId } from '../../lib/ids/escrow-ids';

/** What a soak saw, as far as its checks need it. */
export interface SoakObservations {
  deals: string[];
  /** Deals whose buyer saw them settled. */
  settled: string[];
  lost: string[];
  /** Every line of the settlement ledger, in order. */
  ledger: LedgerEntry[];
  /** ε the buyer's budget shows spent; NaN or undefined when the figure was missing. */
  spentEpsilon: number | undefined;
  /** ε per deal's answer. */
  epsilonPerDeal: number;
  balances: Record<'buyer' | 'seller' | 'operator', { actual: string; expected: string }>;
  /** Faults each kind of which must have happened at least once, by name. */
  faults: Record<string, number>;
  /** Deals (settled ones) whose buyer's webhook got no `result_ready`. */
  unnotified: string[];
}

type Counts = { lock: number; release: number; refund: number };

/** Locks, payouts and refunds per soak deal, under the ids the ledger really writes (escrow ids). */
function countsByDeal(ledger: LedgerEntry[], deals: Set<string>) {
  const byDeal = new Map<string, Counts>();
  const strangers: string[] = [];
  for (const entry of ledger) {
    if (entry.kind !== 'lock' && entry.kind !== 'release' && entry.kind !== 'refund') continue;
    const ref = parseEscrowId(entry.dealId);
    const dealId = ref?.kind === 'deal' ? ref.dealId : undefined;
    if (!dealId || !deals.has(dealId)) {
      strangers.push(`${entry.kind} under ${entry.dealId}`);
      continue;
    }
    const counts = byDeal.get(dealId) ?? { lock: 0, release: 0, refund: 0 };
    counts[entry.kind]++;
    byDeal.set(dealId, counts);
  }
  return { byDeal, strangers };
}

/**
 * Per deal, from the ledger's own lines: a settled deal was locked exactly once and paid out or
 * refunded exactly once; no deal was locked, paid or refunded twice, or paid out with nothing locked;
 * and the ledger moved nothing under an escrow that is no soak deal's.
 */
export function ledgerFindings(observed: Pick<SoakObservations, 'deals' | 'settled' | 'ledger'>): string[] {
  const { byDeal, strangers } = countsByDeal(observed.ledger, new Set(observed.deals));
  const settled = new Set(observed.settled);
  const findings = strangers.map((line) => `ledger ${line}, which is no soak deal's escrow`);
  for (const dealId of observed.deals) {
    const { lock, release, refund } = byDeal.get(dealId) ?? { lock: 0, release: 0, refund: 0 };
    const outcomes = release + refund;
    const tally = `locked ${lock}×, paid out ${release}×, refunded ${refund}×`;
    if (settled.has(dealId) ? lock !== 1 || outcomes !== 1 : lock > 1 || outcomes > lock)
      findings.push(`${dealId}: ${tally}`);
  }
  return findings;
}

/** What must hold after a soak; an empty list means it passed. */
export function soakFailures(observed: SoakObservations): string[] {
  const failures: string[] = [];
  if (observed.lost.length) failures.push(`${observed.lost.length} deals lost: ${observed.lost.join(', ')}`);
  failures.push(...ledgerFindings(observed));
  const expectedEpsilon = observed.epsilonPerDeal * observed.settled.length;
  if (observed.spentEpsilon === undefined || !Number.isFinite(observed.spentEpsilon))
    failures.push(`the buyer's budget figure is missing (${String(observed.spentEpsilon)})`);
  else if (Math.abs(observed.spentEpsilon - expectedEpsilon) > 1e-9)
    failures.push(`budget shows ε ${observed.spentEpsilon} spent, one charge per deal is ${expectedEpsilon}`);
  for (const [account, { actual, expected }] of Object.entries(observed.balances))
    if (actual !== expected) failures.push(`${account} balance ${actual}, expected ${expected}`);
  const missed = Object.entries(observed.faults)
    .filter(([, n]) => n === 0)
    .map(([name]) => name);
  if (missed.length) failures.push(`faults that never happened: ${missed.join(', ')}`);
  if (observed.unnotified.length)
    failures.push(`no result_ready notification for ${observed.unnotified.join(', ')}`);
  return failures;
}
