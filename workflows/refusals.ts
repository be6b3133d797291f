import { ApplicationFailure } from '@temporalio/common';

/**
 * Why a workflow refuses an update or a state change: a closed set, so the API answers each with
 * one error code (api/refusal-codes.ts) instead of guessing from the text or asking the workflow's
 * status first. Pure (no I/O): workflow code, state classes and the API all import it.
 */
export const REFUSAL_TYPES = [
  /** The party is not the one the lifecycle names for this action. */
  'Forbidden',
  /** The lifecycle has no such part (a milestone, a reviewer). */
  'NotFound',
  /** The lifecycle's stage does not allow this now; the message says which stage. */
  'InvalidState',
  /** The request itself is malformed or out of bounds, whatever the stage. */
  'InvalidInput',
  /** The principal has cast this very decision already; another principal must. */
  'AlreadyDecided',
  /** A time-bound access (a reviewer's, a disclosure's view) has ended. */
  'AccessExpired',
  /** The signed decision is missing, or does not decide what this run expects, or its signature fails. */
  'DecisionInvalid',
  /** The signed decision was presented after its own expiry. */
  'DecisionExpired',
  /** The decision could not be checked now (the coordinator did not answer): try again. */
  'Unavailable',
] as const;
export type RefusalType = (typeof REFUSAL_TYPES)[number];

/** A non-retryable refusal of this type: thrown by validators, handlers and state methods alike. */
export function refusal(type: RefusalType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

export function isRefusalType(type: unknown): type is RefusalType {
  return typeof type === 'string' && (REFUSAL_TYPES as readonly string[]).includes(type);
}
