export { cohortQueryDeal } from './cohort-query-deal';
export { dispute } from './dispute';
