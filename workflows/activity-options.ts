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

/** Perimeter checks and budget bookkeeping: quick, retried on transient faults only. */
export const perimeterCheck = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
} as const satisfies ActivityOptions;

/** Locking may be refused (no funds); it is retried only for transient faults. */
export const settlementLock = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
} as const satisfies ActivityOptions;

/** Moving escrowed money out must eventually happen: retried without limit, each try idempotent. */
export const settlementPayout = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '5 minutes' },
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

/** Audit records and access tokens must land: retried until they do, each try harmless to repeat. */
export const coordinatorRecord = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
} as const satisfies ActivityOptions;
