export { cohortQueryDeal } from './deal/workflow';
export { dispute } from './dispute/workflow';
export { disclosure } from './disclosure/workflow';
export { milestoneGrant } from './grant/workflow';
export { subscription } from './subscription/workflow';
export { multiSellerDeal } from './multi-seller/workflow';
export { privacyBudgetLookup } from './budget/workflow';
export { spendableBalanceLookup } from './balance/workflow';
