import { proxyActivities } from '@temporalio/workflow';
import type { SettlementActivities } from '../../activities/settlement/activities';
import { perimeterLookup } from '../activity-options';

/**
 * Asks settlement what an account could pay now: a string of smallest units, or null where the
 * settlement cannot tell (Aztec). Reads only; moves nothing.
 */
export async function spendableBalanceLookup(input: { account: string }): Promise<string | null> {
  const settlement = proxyActivities<SettlementActivities>({ taskQueue: 'settlement', ...perimeterLookup });
  return settlement.spendableBalance(input);
}
