import type { PerimeterActivities } from '../../activities/perimeter/activities';
import type { PrivacyBudgetInput, PrivacyBudgetResult } from '../../activities/perimeter/types';
import { perimeterLookup } from '../activity-options';
import { perimeterActivities } from '../activity-proxies';

export interface PrivacyBudgetLookupInput extends PrivacyBudgetInput {
  sellerId: string;
}

/**
 * Asks a seller's perimeter what is spent and left on one of its datasets. Budget figures only:
 * nothing is charged, no data is read.
 */
export async function privacyBudgetLookup(input: PrivacyBudgetLookupInput): Promise<PrivacyBudgetResult> {
  const perimeter = perimeterActivities<PerimeterActivities>(input.sellerId, perimeterLookup);
  return perimeter.privacyBudget({
    dataset: input.dataset,
    ...(input.buyerId === undefined ? {} : { buyerId: input.buyerId }),
  });
}
