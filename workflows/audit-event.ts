import { z } from 'zod';

/** An entry of a lifecycle's audit trail: who did what, when; ids and hashes only. */
export const auditEvent = z.object({
  at: z.number(),
  action: z.string(),
  by: z.string(),
  detail: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});
export type AuditEvent = z.infer<typeof auditEvent>;
