import { ApplicationFailure } from '@temporalio/common';
import { isRefusalType, type RefusalType } from '../workflows/refusals';
import { ApiError, type ErrorCode } from './errors';

/** The one place a workflow's typed refusal (workflows/refusals.ts) becomes an answer of the catalogue. */
export const refusalCodes: Record<RefusalType, ErrorCode> = {
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  InvalidState: 'invalid_state',
  InvalidInput: 'invalid_terms',
  AlreadyDecided: 'already_decided',
  AccessExpired: 'access_expired',
  DecisionInvalid: 'decision_signature_invalid',
  DecisionExpired: 'decision_expired',
  Unavailable: 'coordinator_unavailable',
};

/**
 * The API's answer to a refused update, with the workflow's reason. A refusal without a known type
 * (a workflow of an older build) stays what it always was: the lifecycle refused it now, 409.
 */
export function refusalAsApiError(cause: unknown, fallbackReason: string): ApiError {
  const reason = cause instanceof Error && cause.message ? cause.message : fallbackReason;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  return new ApiError(isRefusalType(type) ? refusalCodes[type] : 'invalid_state', reason);
}
