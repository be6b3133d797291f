import { z } from 'zod';
import { DISCLOSABLE_FIELDS } from '../../workflows/disclosure/state';
import { auditEvent, businessId, decisionSignature, vote } from '../common-schemas';

const disclosableField = z.enum(DISCLOSABLE_FIELDS);
const decision = z.enum(['approve', 'deny']);

export const requestDisclosureBody = z.strictObject({
  disclosureId: businessId,
  dealId: z.string().min(1).max(100),
  /** Why the auditor needs to see the fields; recorded with the request. */
  reason: z.string().min(10).max(1000),
  fields: z
    .array(disclosableField)
    .min(1)
    .max(DISCLOSABLE_FIELDS.length)
    .default([...DISCLOSABLE_FIELDS]),
});
export type RequestDisclosureBody = z.infer<typeof requestDisclosureBody>;

export const disclosureParams = z.object({ disclosureId: businessId });
/** A decision, and the principal's signature over (the disclosure's workflow id, decision). */
export const decideDisclosureBody = z.strictObject({ decision, signature: decisionSignature });

export const disclosureStatus = z
  .object({
    disclosureId: z.string(),
    dealId: z.string(),
    auditorId: z.string(),
    reason: z.string(),
    fields: z.array(disclosableField),
    stage: z.enum(['pending', 'approved', 'denied', 'lapsed', 'expired']),
    requestedAt: z.number(),
    decideBy: z.number(),
    decisions: z.array(vote(decision)),
    viewUntil: z.number().optional(),
    views: z.array(
      z.object({
        viewer: z.string(),
        at: z.number(),
        fields: z.array(disclosableField),
        valuesHash: z.string(),
      }),
    ),
    audit: z.array(auditEvent),
    auditRef: z.string().optional(),
  })
  .meta({ id: 'DisclosureStatus' });

export const disclosedFields = z.object({
  disclosureId: z.string(),
  dealId: z.string(),
  viewUntil: z.number(),
  fields: z.object({
    buyerId: z.string().optional(),
    sellerId: z.string().optional(),
    /** A multi-seller deal's sellers. */
    sellerIds: z.array(z.string()).optional(),
    price: z.string().optional(),
  }),
});
