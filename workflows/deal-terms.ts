import { defineQuery } from '@temporalio/workflow';
import type { SignedTerms } from '../lib/signed-terms';

/**
 * A deal's signed terms (one-time or multi-seller): a disclosure binds its decisions to their hash,
 * so an approval of one deal's disclosure never counts for another's.
 */
export const dealTermsQuery = defineQuery<SignedTerms>('dealTerms');
