import { perimeterLookup } from '../activity-options';
import { settlementActivities } from '../activity-proxies';

/**
 * Asks settlement what an account could pay now: a string of smallest units, or null where the
 * settlement cannot tell (Aztec). Reads only; moves nothing.
 */
export async function spendableBalanceLookup(input: { account: string }): Promise<string | null> {
  const settlement = settlementActivities(perimeterLookup);
  return settlement.spendableBalance(input);
}
