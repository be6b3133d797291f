import { defineQuery } from '@temporalio/workflow';
import type { SignedTerms } from '../lib/signed-terms';

/**
 * A deal's signed terms (one-time or multi-seller): a disclosure binds its decisions to their hash,
 * so an approval of one deal's disclosure never counts for another's.
 */
export const dealTermsQuery = defineQuery<SignedTerms>('dealTerms');

/**
 * The acceptance window the buyer signed (`acceptanceWindowSeconds`), in ms; undefined for terms
 * that state none (signed before the window was). Pure, so workflows and settlement read it alike.
 */
export function signedAcceptanceWindowMs(terms: Pick<SignedTerms, 'kind' | 'body'>): number | undefined {
  if (terms.kind !== 'cohort_query' && terms.kind !== 'multi_seller') return undefined;
  const seconds = terms.body.acceptanceWindowSeconds;
  return typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= 1
    ? seconds * 1000
    : undefined;
}

/**
 * How much later than the signed window the workflow's own timer ends: settlement's clock (which
 * records the delivery and checks the window) and the workflow worker's may differ a little, and a
 * timer that ended first would only have its payout refused.
 */
export const ACCEPTANCE_CLOCK_MARGIN_MS = 2_000;
