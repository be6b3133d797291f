import type { ActivityOptions } from '@temporalio/workflow';

/** Perimeter queries: heartbeats every second, so a killed perimeter worker is noticed in seconds. */
export const perimeterQuery = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
  },
} as const satisfies ActivityOptions;

/**
 * Perimeter checks and budget bookkeeping: quick, retried on transient faults only. They heartbeat
 * (activities/perimeter/heartbeating.ts), so a reservation on a killed perimeter is retried in
 * seconds, not after the minute.
 */
export const perimeterCheck = {
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
} as const satisfies ActivityOptions;

/**
 * Asking a perimeter to confirm a deal expired unanswered (workflows/expiry-wait.ts): each ask is
 * bounded, including its wait in the queue, so an unreachable perimeter shows in the deal's status
 * and is asked again on the workflow's own backoff instead of sitting unseen in a queue.
 */
export const perimeterExpiry = {
  scheduleToCloseTimeout: '1 minute',
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
} as const satisfies ActivityOptions;

/** A read the API waits on (budget figures): a perimeter that does not answer soon is reported, not awaited. */
export const perimeterLookup = {
  scheduleToCloseTimeout: '20 seconds',
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
} as const satisfies ActivityOptions;

/*
 * Settlement activities send Aztec transactions of 5–10 s each (proving, then inclusion), slower on a
 * busy machine. They heartbeat every 2 s while they work, so a killed settlement worker is noticed
 * within the heartbeat timeout and the retry, on another worker, follows the journaled transaction.
 */
const settlementHeartbeat = '30 seconds';

/** One settlement transaction (opening an escrow): a few tries for transient faults. */
export const settlementTx = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: settlementHeartbeat,
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
  },
} as const satisfies ActivityOptions;

/**
 * Waiting for the buyer's payment into the escrow: as long as the payment window (at most 15 minutes,
 * the settlement worker's TUSK_PAYMENT_WINDOW_MS) plus one returning transaction. May be refused.
 */
export const settlementLock = {
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: settlementHeartbeat,
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10 },
} as const satisfies ActivityOptions;

/**
 * Moving escrowed money out: each try idempotent, a few tries for transient faults (about 1 minute of
 * backoff), then the step is escalated: the lifecycle shows `needs_attention` with the reason and the
 * operator's retry (`tusk operator retry`) runs it again. Never retried forever in silence.
 */
export const settlementPayout = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: settlementHeartbeat,
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 6,
  },
} as const satisfies ActivityOptions;

/** The receipt is evidence, not money: a bounded number of tries, and a deal never waits on it for long. */
export const settlementReceipt = {
  ...settlementTx,
  retry: { ...settlementTx.retry, maximumAttempts: 5 },
} as const satisfies ActivityOptions;

/** The coordinator's HE sum: seconds of CPU at most; a refusal (too few sellers) is not retried. */
export const coordinatorSum = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
} as const satisfies ActivityOptions;

/** Notifications are best effort: a deal never waits on a webhook. */
export const coordinatorNotify = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
} as const satisfies ActivityOptions;

/** Verifying a signed decision: quick; a refusal is not retried, and the caller is waiting. */
export const coordinatorCheck = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '5 seconds', maximumAttempts: 5 },
} as const satisfies ActivityOptions;

/** Audit records and access tokens must land: retried until they do, each try harmless to repeat. */
export const coordinatorRecord = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
} as const satisfies ActivityOptions;
