import { z } from 'zod';
import { DISCLOSABLE_FIELDS } from '../../workflows/disclosure/state';
import { auditEvent, businessId, vote } from '../common-schemas';
import { decisionProof, decisionScope, viewProof } from '../signed-decision';

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
/**
 * A decision, and the principal's signature over it bound to this disclosure's run, the deal and its
 * terms hash, the fields and the auditor (the status's `scope`; lib/signed-decision.ts).
 */
export const decideDisclosureBody = decisionProof.extend({ decision });
/** The auditor's signed view: used once (its nonce), on this run, until `notAfter`. */
export const viewDisclosureQuery = viewProof;

export const disclosureStatus = z
  .object({
    disclosureId: z.string(),
    dealId: z.string(),
    auditorId: z.string(),
    reason: z.string(),
    fields: z.array(disclosableField),
    scope: decisionScope.optional(),
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
        nonce: z.string(),
      }),
    ),
    /** Audit bundles exported under the auditor's signed exports (each nonce used once). */
    exports: z
      .array(z.object({ viewer: z.string(), at: z.number(), valuesHash: z.string(), nonce: z.string() }))
      .optional(),
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
