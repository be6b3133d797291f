export { cohortQueryDeal } from './cohort-query-deal';
export { dispute } from './dispute';
export { disclosure } from './disclosure';
export { milestoneGrant } from './milestone-grant';
export { subscription } from './subscription';
export { multiSellerDeal } from './multi-seller-deal';
