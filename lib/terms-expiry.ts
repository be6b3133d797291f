/**
 * How far settlement's clock may run ahead of a perimeter's: an undelivered deal is refunded on its
 * expiry only this long after the buyer's signed `notAfter`, so a perimeter whose clock lags a little
 * has stopped answering by then (it releases no fresh answer past `notAfter` on its own clock).
 * Pure (no I/O, no crypto): the deal workflows set their expiry timer by it too.
 */
export const EXPIRY_CLOCK_MARGIN_MS = 10_000;

/**
 * When a deal's workflow stops waiting for its answer and asks the seller's perimeter to confirm the
 * buyer's terms expired: the signed `notAfter` plus the clock margin, in ms since the epoch. Undefined
 * when the terms sign no readable `notAfter` (older terms): then nothing expires by itself.
 */
export function expiryCheckAtMs(terms: { body: Record<string, unknown> }): number | undefined {
  const notAfter = terms.body.notAfter;
  if (typeof notAfter !== 'string') return undefined;
  const at = Date.parse(notAfter);
  return Number.isFinite(at) ? at + EXPIRY_CLOCK_MARGIN_MS : undefined;
}
