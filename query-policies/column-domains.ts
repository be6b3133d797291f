import { z } from 'zod';
import { identifier } from './template';

/**
 * A column's declared value domain: what the seller states a column may hold, written by hand and
 * signed in its dataset policy, never read from the data. The perimeter builds a dataset's synthetic
 * twin from these alone (activities/perimeter/synthetic-twin.ts).
 */
export const columnDomain = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('integer'), min: z.int(), max: z.int() }),
  z.strictObject({
    type: z.literal('decimal'),
    scale: z.int().min(0).max(6),
    min: z.number(),
    max: z.number(),
  }),
  z.strictObject({ type: z.literal('enum'), values: z.array(z.string().min(1)).min(1).max(10_000) }),
  z.strictObject({ type: z.literal('date'), min: z.iso.date(), max: z.iso.date() }),
]);
export type ColumnDomain = z.infer<typeof columnDomain>;

export const declaredColumns = z
  .record(identifier, columnDomain)
  .refine((columns) => Object.values(columns).every((d) => !('min' in d) || d.min <= d.max), {
    message: 'a column domain has min above max',
  });
export type DeclaredColumns = z.infer<typeof declaredColumns>;
