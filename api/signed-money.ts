import { ApiError } from './errors';

/**
 * The money a payer signs, checked before a lifecycle starts: the fee is the platform's and the terms
 * have not expired. A convenience: settlement checks the same terms again before it moves anything.
 */
export function checkSignedMoney(
  body: { feeBps: number; notAfter?: string },
  platformFeeBps: number,
  now = Date.now(),
): void {
  if (body.feeBps !== platformFeeBps)
    throw new ApiError(
      'fee_mismatch',
      `the platform fee is ${platformFeeBps} bps (GET /templates); the terms sign ${body.feeBps}`,
    );
  if (body.notAfter !== undefined && Date.parse(body.notAfter) <= now)
    throw new ApiError('terms_expired', `the terms expired at ${body.notAfter}: sign them again`);
}
