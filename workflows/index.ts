export { cohortQueryDeal } from './cohort-query-deal';
