import type { AnchorTreeHeadInput, TreeHeadAnchored } from '../../activities/settlement/port';
import { settlementReceipt } from '../activity-options';
import { settlementActivities } from '../activity-proxies';

/**
 * Anchors one transparency-log head on chain through the settlement worker (the only holder of the
 * operator's Aztec keys). Evidence, not money: a bounded number of tries, like a receipt.
 */
export async function logHeadAnchor(input: AnchorTreeHeadInput): Promise<TreeHeadAnchored> {
  const settlement = settlementActivities(settlementReceipt);
  return settlement.anchorTreeHead(input);
}
