import { z } from 'zod';
import { identifier } from '../../query-policies/template';
import { partyId } from '../common-schemas';

export const budgetParams = z.object({ sellerId: partyId, dataset: identifier });

const epsilonDelta = z.object({ epsilon: z.number(), delta: z.number() });

/** One budget inside the window: ε stated at the budget's δ (zCDP charges converted there). */
export const budgetFigures = z.object({
  budget: epsilonDelta,
  spent: z.object({ epsilon: z.number(), delta: z.number(), rho: z.number() }),
  left: epsilonDelta,
});

export const budgetView = z.object({
  sellerId: z.string(),
  dataset: z.string(),
  /** Absent for a lifetime budget (the default): every charge ever committed counts. */
  windowDays: z.number().optional(),
  /** Charges committed after this instant (ms since the epoch) count; absent for a lifetime budget. */
  windowStart: z.number().optional(),
  /** The datasets sharing this budget (the seller marked them as holding the same people). */
  sharedWith: z.array(z.string()).optional(),
  /** All buyers together: the dataset's privacy filter. */
  total: budgetFigures,
  /** The asking buyer's own budget; absent when the seller asks. */
  buyer: budgetFigures.optional(),
});
export type BudgetView = z.infer<typeof budgetView>;
