import {
  REFUSED_DEAL_STAGES as DEAL_REFUSALS,
  RESTING_DEAL_STAGES as DEAL_RESTS,
  type DealStage,
} from '../workflows/deal/shapes';
import { FINAL_GRANT_STAGES as GRANT_ENDS, type GrantStage } from '../workflows/grant/shapes';
import {
  FINAL_SUBSCRIPTION_STAGES as SUBSCRIPTION_ENDS,
  type SubscriptionStage,
} from '../workflows/subscription/shapes';
import {
  FINAL_DISCLOSURE_STAGES as DISCLOSURE_ENDS,
  type DisclosureStage,
} from '../workflows/disclosure/shapes';

/**
 * Where a lifecycle rests, as sets for a client's waiting loop: nothing more happens until a party
 * acts (a delivered deal: the buyer confirms or disputes) or ever. The lists are the lifecycles'
 * own (workflows/<capability>/shapes.ts); waiting stops only at one of these.
 */
export const RESTING_DEAL_STAGES: ReadonlySet<DealStage> = new Set(DEAL_RESTS);
/** A deal that ended without an answer the buyer keeps, or whose money is stuck until an operator acts. */
export const REFUSED_DEAL_STAGES: ReadonlySet<DealStage> = new Set(DEAL_REFUSALS);

export const FINAL_GRANT_STAGES: ReadonlySet<GrantStage> = new Set(GRANT_ENDS);
export const REFUSED_GRANT_STAGES: ReadonlySet<GrantStage> = new Set(['failed']);

export const FINAL_SUBSCRIPTION_STAGES: ReadonlySet<SubscriptionStage> = new Set(SUBSCRIPTION_ENDS);

export const FINAL_DISCLOSURE_STAGES: ReadonlySet<DisclosureStage> = new Set(DISCLOSURE_ENDS);
