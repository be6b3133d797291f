import { ApplicationFailure } from '@temporalio/activity';
import type { PerimeterKey } from '../../lib/perimeter-key';
import {
  refusalStatementBody,
  signRefusalStatement,
  type RefusalStatement,
} from '../../lib/refusal-statement';
import { signedTermsSchema, termsHashOf } from '../../lib/signed-terms';
import { freshAnswerDeadlineOf, termsHashOf as stateKeyOf } from './deal-terms';
import type { PrivacyLedger } from './privacy-ledger';
import { refuse } from './refusal';

export interface RefusalSigner {
  sellerId: string;
  ledger: PrivacyLedger;
  releaseKey: PerimeterKey;
}

/**
 * A deal's typed refusal leaves the perimeter with its signed statement in the failure's details
 * (lib/refusal-statement.ts), which the workflow hands to settlement with the refund. The refusal is
 * recorded first as the deal's outcome under its terms, for good: a deal whose answer was released is
 * never signed a refusal, and a refused one is never answered afterwards (`DealRefused`). A failure
 * that may still be retried into an answer (not a typed refusal) carries no statement.
 */
export function withSignedRefusal<A extends { dealId: string; terms: unknown }, R>(
  signer: RefusalSigner,
  work: (call: A) => Promise<R>,
): (call: A) => Promise<R> {
  return async (call) => {
    try {
      return await work(call);
    } catch (error) {
      throw signedRefusalOf(signer, call, error) ?? error;
    }
  };
}

function signedRefusalOf(
  signer: RefusalSigner,
  call: { dealId: string; terms: unknown },
  error: unknown,
): ApplicationFailure | undefined {
  if (!(error instanceof ApplicationFailure) || !error.nonRetryable || !error.type) return undefined;
  const statement = signRefusal(signer, call, error.type);
  if (!statement) return undefined;
  return ApplicationFailure.create({
    message: error.message,
    type: error.type,
    nonRetryable: true,
    details: [...(error.details ?? []), statement],
  });
}

/**
 * Records the refusal of the deal under these terms as its outcome and signs it; undefined when the
 * perimeter released an answer for them already (or cannot record it, or the call names no terms).
 */
export function signRefusal(
  signer: RefusalSigner,
  call: { dealId: string; terms: unknown },
  code: string,
): RefusalStatement | undefined {
  const terms = signedTermsSchema.safeParse(call.terms);
  if (!terms.success) return undefined;
  const body = refusalStatementBody.safeParse({
    type: 'tusk.refusal/v1',
    sellerId: signer.sellerId,
    dealId: call.dealId,
    termsHash: termsHashOf(terms.data),
    code,
  });
  if (!body.success) return undefined;
  let outcome;
  try {
    // Keyed as the perimeter's state is (claimRelease), not by the statement's hash, which also
    // covers the signature: else a released deal's refusal would land in a row of its own.
    outcome = signer.ledger.claimOutcome(body.data.dealId, stateKeyOf(terms.data), 'refused', Date.now());
  } catch {
    // A ledger that cannot record the refusal cannot promise it: no statement.
    return undefined;
  }
  return outcome === 'refused' ? signRefusalStatement(body.data, signer.releaseKey) : undefined;
}

/**
 * A deal the workflow gives up on before the perimeter answered it (another share's payment failed,
 * the query's activity timed out): the perimeter withdraws it, never answering it afterwards, and
 * signs that refusal (`Withdrawn`) so settlement refunds it; nothing when it released an answer
 * already. The operator can withdraw any deal this way: that is withholding service, which it can
 * do anyway.
 */
export const withdrawDeal =
  (signer: RefusalSigner) =>
  async (call: { dealId: string; terms: unknown }): Promise<{ refusal?: RefusalStatement }> => {
    const refusal = signRefusal(signer, call, 'Withdrawn');
    return refusal ? { refusal } : {};
  };

/** The perimeter's answer to a workflow asking whether a deal expired unanswered. */
export type ExpiryAnswer = { refusal: RefusalStatement } | { released: true };

/**
 * A deal whose buyer's signed `notAfter` has passed on the perimeter's own clock: the perimeter
 * records that it will never answer it and signs that refusal (`Expired`), unless it released an
 * answer for these terms already (then `released`, and nothing is signed). Past `notAfter` it computes
 * nothing fresh, so the statement stays true. Asked too early (its clock lags the workflow's), it
 * fails to be asked again: only a deal whose time is up is called expired.
 */
export const confirmExpiry =
  (signer: RefusalSigner) =>
  async (call: { dealId: string; terms: unknown }): Promise<ExpiryAnswer> => {
    const terms = signedTermsSchema.safeParse(call.terms);
    const deadline = terms.success ? freshAnswerDeadlineOf(terms.data) : undefined;
    if (deadline === undefined)
      refuse('TermsSignatureInvalid', 'these terms sign no notAfter: they never expire by themselves');
    if (Date.now() <= deadline)
      throw ApplicationFailure.retryable(
        `the buyer's terms run until ${new Date(deadline).toISOString()} on this perimeter's clock`,
        'NotExpiredYet',
      );
    const refusal = signRefusal(signer, call, 'Expired');
    if (refusal) return { refusal };
    // No statement: either an answer went out, or the ledger could not record the refusal (ask again).
    if (signer.ledger.outcomeOf(call.dealId, stateKeyOf(terms.data!)) === 'released')
      return { released: true };
    throw ApplicationFailure.retryable('the privacy ledger could not record the expiry', 'LedgerUnavailable');
  };
