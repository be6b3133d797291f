// @ts-check
/**
 * Where a deal rests, as workflows/deal/shapes.ts's RESTING_DEAL_STAGES: the page stops following a
 * deal at one of these. A copy (the page has no build step to import TypeScript);
 * tests/unit/console-deal-stages.test.ts keeps the two equal.
 */
export const RESTING_DEAL_STAGES = Object.freeze([
  'delivered',
  'confirmed',
  'disputed',
  'settled',
  'refunded',
  'failed',
  'needs_attention',
]);
