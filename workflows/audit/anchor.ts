import { proxyActivities } from '@temporalio/workflow';
import type { SettlementActivities } from '../../activities/settlement/activities';
import type { AnchorTreeHeadInput, TreeHeadAnchored } from '../../activities/settlement/port';
import { settlementReceipt } from '../activity-options';

/**
 * Anchors one transparency-log head on chain through the settlement worker (the only holder of the
 * operator's Aztec keys). Evidence, not money: a bounded number of tries, like a receipt.
 */
export async function logHeadAnchor(input: AnchorTreeHeadInput): Promise<TreeHeadAnchored> {
  const settlement = proxyActivities<SettlementActivities>({ taskQueue: 'settlement', ...settlementReceipt });
  return settlement.anchorTreeHead(input);
}
