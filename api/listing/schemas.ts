import { z } from 'zod';
import { LIFECYCLE_KINDS } from '../../lib/search-attributes';

export const listDealsQuery = z.strictObject({
  kind: z.enum(LIFECYCLE_KINDS).optional(),
  /** Started at or after this instant (ISO 8601). */
  since: z.iso.datetime({ offset: true }).optional(),
  /** Started before this instant (ISO 8601). */
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type ListDealsQuery = z.infer<typeof listDealsQuery>;

/** One listed lifecycle: its API id and kind, its stage now, when it started and closed. No party, no amount. */
export const listedDeal = z.object({
  id: z.string(),
  kind: z.enum(LIFECYCLE_KINDS),
  stage: z.string(),
  startedAt: z.string(),
  closedAt: z.string().optional(),
});
export const dealList = z.object({ deals: z.array(listedDeal) });
export type ListedDeal = z.infer<typeof listedDeal>;
