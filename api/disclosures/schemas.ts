import { z } from 'zod';
import {
  DISCLOSABLE_FIELDS,
  disclosableField,
  disclosureDecision as decision,
  disclosureStatus as workflowDisclosureStatus,
} from '../../workflows/disclosure/shapes';
import { businessId } from '../common-schemas';
import { decisionProof, viewProof } from '../signed-decision';

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

/** Shown as the workflow holds it: a disclosure names no party or amount of the deal. */
export const disclosureStatus = workflowDisclosureStatus.meta({ id: 'DisclosureStatus' });

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
