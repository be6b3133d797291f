import { ApplicationFailure } from '@temporalio/activity';
import type { PerimeterKey } from '../../lib/perimeter-key';
import { refusalStatementBody, signRefusalStatement } from '../../lib/refusal-statement';
import { signedTermsSchema, termsHashOf } from '../../lib/signed-terms';
import type { PrivacyLedger } from './privacy-ledger';

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
  const terms = signedTermsSchema.safeParse(call.terms);
  if (!terms.success) return undefined;
  const body = refusalStatementBody.safeParse({
    type: 'tusk.refusal/v1',
    sellerId: signer.sellerId,
    dealId: call.dealId,
    termsHash: termsHashOf(terms.data),
    code: error.type,
  });
  if (!body.success) return undefined;
  let outcome;
  try {
    outcome = signer.ledger.claimOutcome(body.data.dealId, body.data.termsHash, 'refused', Date.now());
  } catch {
    // A ledger that cannot record the refusal cannot promise it: no statement.
    return undefined;
  }
  if (outcome !== 'refused') return undefined;
  return ApplicationFailure.create({
    message: error.message,
    type: error.type,
    nonRetryable: true,
    details: [...(error.details ?? []), signRefusalStatement(body.data, signer.releaseKey)],
  });
}
