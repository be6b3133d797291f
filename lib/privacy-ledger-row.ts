/**
 * One row of the seller's privacy ledger (the `reservations` table of the perimeter's SQLite file,
 * lib/seller-workspace.ts names it), as stored: the perimeter writes it
 * (activities/perimeter/privacy-ledger.ts) and the seller's audit reads it (audit/privacy-entries.ts).
 */
export const RESERVATION_STATES = ['reserved', 'committed', 'released'] as const;
export type ReservationState = (typeof RESERVATION_STATES)[number];

export interface PrivacyLedgerRow {
  deal_id: string;
  /** The signed terms' nonce: version 3 ledgers key an entry by id and nonce ('' if the terms had none). */
  nonce: string;
  terms_hash: string;
  buyer_id: string;
  dataset: string;
  query_key: string;
  micro_epsilon: number;
  nano_rho: number;
  femto_delta: number;
  /** When the charge counts: reservation time while reserved, commit time once committed. */
  at: number;
  reserved_at: number;
  touched_at: number | null;
  state: ReservationState;
}

/** A row as a ledger file of any version holds it: files from before version 3 have no nonce. */
export type PrivacyLedgerFileRow = Omit<PrivacyLedgerRow, 'nonce'> & { nonce?: string };
