export { cohortQueryDeal } from './cohort-query-deal';
export { multiSellerDeal } from './multi-seller-deal';
