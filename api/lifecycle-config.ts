import { z } from 'zod';
import {
  DEFAULT_DISCLOSURE_APPROVAL_TIMEOUT_MS,
  DEFAULT_DISCLOSURE_VIEW_MS,
} from '../workflows/disclosure/state';
import { DEFAULT_DISPUTE_TERMS, type DisputeOutcome } from '../workflows/dispute/state';
import { DEFAULT_PERIODS_PER_RUN, DEFAULT_SUBSCRIPTION_GRACE_MS } from '../workflows/subscription/state';

const HOUR_MS = 60 * 60 * 1000;
const ms = z.coerce.number().int().positive();

/** `release`, `refund` or `split:<seller basis points>` */
const disputeOutcome = z
  .string()
  .regex(/^(release|refund|split:\d{1,5})$/, 'release, refund or split:<basis points>')
  .transform((value): DisputeOutcome => {
    if (value === 'release' || value === 'refund') return { kind: value };
    return { kind: 'split', sellerBps: Number(value.slice('split:'.length)) };
  })
  .refine((o) => o.kind !== 'split' || o.sellerBps <= 10_000, 'a split is at most 10000 basis points');

/** The lifecycles' durations and defaults, from the API's environment. */
export const lifecycleEnv = {
  TUSK_MIN_PERIOD_MS: ms.default(HOUR_MS),
  TUSK_SUBSCRIPTION_GRACE_MS: ms.default(DEFAULT_SUBSCRIPTION_GRACE_MS),
  TUSK_PERIODS_PER_RUN: z.coerce.number().int().min(1).max(1000).default(DEFAULT_PERIODS_PER_RUN),
  TUSK_REVIEWER_ACCESS_MS: ms.default(DEFAULT_DISPUTE_TERMS.reviewerAccessMs),
  TUSK_DISPUTE_TIMEOUT_MS: ms.default(DEFAULT_DISPUTE_TERMS.resolutionTimeoutMs),
  TUSK_DISPUTE_DEFAULT: disputeOutcome.default(DEFAULT_DISPUTE_TERMS.defaultOutcome),
  TUSK_DISCLOSURE_VIEW_MS: ms.default(DEFAULT_DISCLOSURE_VIEW_MS),
  TUSK_DISCLOSURE_APPROVAL_TIMEOUT_MS: ms.default(DEFAULT_DISCLOSURE_APPROVAL_TIMEOUT_MS),
};

export interface LifecycleConfig {
  /** The shortest subscription period a buyer may choose. */
  minPeriodMs: number;
  subscriptionGraceMs: number;
  periodsPerRun: number;
  disclosureViewMs: number;
  disclosureApprovalTimeoutMs: number;
}

export const DEFAULT_LIFECYCLE_CONFIG: LifecycleConfig = {
  minPeriodMs: HOUR_MS,
  subscriptionGraceMs: DEFAULT_SUBSCRIPTION_GRACE_MS,
  periodsPerRun: DEFAULT_PERIODS_PER_RUN,
  disclosureViewMs: DEFAULT_DISCLOSURE_VIEW_MS,
  disclosureApprovalTimeoutMs: DEFAULT_DISCLOSURE_APPROVAL_TIMEOUT_MS,
};
