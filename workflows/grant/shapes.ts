import { z } from 'zod';
import type { SignedDecision } from '../../lib/decision-statement';
import type { SignedTerms } from '../../lib/terms-envelope';

/**
 * A milestone grant's shapes, defined once: the workflow's state, the API's request and response
 * schemas, the signed terms, the perimeter's check, the sponsor's CLI and audit derive from these.
 * Pure (zod only), so workflow code imports it.
 */

const sha256 = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits>');
const parameterValues = z.record(
  z.string().refine((name) => name !== '__proto__', 'a parameter may not be named __proto__'),
  z.union([z.string().max(200), z.number()]),
);

/** Met when an approved template's metric over the whole cohort reaches the threshold, in the seller's perimeter. */
export const queryCheck = z.strictObject({
  kind: z.literal('query'),
  /** The seller whose perimeter checks it (its template's seller). */
  sellerId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a registered party id'),
  templateId: z.string().min(1).max(100),
  templateHash: sha256,
  parameters: parameterValues,
  /** One of the template's count or sum metrics, taken over the whole cohort. */
  metric: z.string().min(1).max(63),
  /** Met when the metric, with noise, reaches it (≥). */
  threshold: z.number().min(0).max(1e15),
});
/** Met when the sponsor approves it, signed, after the grantee's evidence. */
export const approvalCheck = z.strictObject({ kind: z.literal('sponsor_approval') });
export type ApprovalCheck = z.infer<typeof approvalCheck>;

/** How a milestone is met, as the workflow holds it: the seller of a query check is known. */
export const milestoneCheck = z.discriminatedUnion('kind', [queryCheck, approvalCheck]);
export type MilestoneCheck = z.infer<typeof milestoneCheck>;
export type QueryCheck = z.infer<typeof queryCheck>;

/** As the sponsor asks for it and signs it: the seller may be left to the template's catalog entry. */
export const requestedMilestoneCheck = z.discriminatedUnion('kind', [
  queryCheck.partial({ sellerId: true }),
  approvalCheck,
]);
export type RequestedMilestoneCheck = z.infer<typeof requestedMilestoneCheck>;

/** As a redacted view shows it: the template's id and hash map to the seller and price, so they may go. */
export const shownMilestoneCheck = z.discriminatedUnion('kind', [
  queryCheck.partial({ sellerId: true, templateId: true, templateHash: true }).strip(),
  approvalCheck.strip(),
]);
export type ShownMilestoneCheck = z.infer<typeof shownMilestoneCheck>;

/** What the seller's perimeter is asked to check: the query, without its kind and seller (its own). */
export const perimeterCheck = queryCheck.omit({ kind: true, sellerId: true });
export type PerimeterCheck = z.infer<typeof perimeterCheck>;

export const GRANT_STAGES = ['funding', 'active', 'completed', 'ended', 'failed'] as const;
export const grantStage = z.enum(GRANT_STAGES);
export type GrantStage = z.infer<typeof grantStage>;

/** The stages a grant ends in: every action is refused once it is in one. */
export const FINAL_GRANT_STAGES = ['completed', 'ended', 'failed'] as const satisfies readonly GrantStage[];
export const isFinalGrantStage = (stage: GrantStage): boolean =>
  (FINAL_GRANT_STAGES as readonly GrantStage[]).includes(stage);

/**
 * open: waiting for evidence (or the sponsor's approval); checking: evidence in, the perimeter check
 * queued; met: to be paid; released: paid; missed: its deadline passed; void: the grant ended first.
 */
export const MILESTONE_STAGES = ['open', 'checking', 'met', 'released', 'missed', 'void'] as const;
export const milestoneStage = z.enum(MILESTONE_STAGES);
export type MilestoneStage = z.infer<typeof milestoneStage>;

/** One milestone as the workflow is started with it: the deadline in milliseconds since the epoch. */
export const milestoneSpec = z.strictObject({
  milestoneId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
  name: z.string().min(1).max(200),
  /** The tranche, in smallest units. */
  amount: z.string().regex(/^[1-9][0-9]{0,30}$/, 'a positive whole number of smallest units, as a string'),
  /** Milliseconds since the epoch. */
  deadline: z.number().int(),
  check: milestoneCheck,
});
export type MilestoneSpec = z.infer<typeof milestoneSpec>;

/** The grant workflow's input. */
export const milestoneGrantInput = z.strictObject({
  grantId: z.string().min(1),
  sponsorId: z.string().min(1),
  granteeId: z.string().min(1),
  feeBps: z.number().int().min(0).max(10_000),
  milestones: z.array(milestoneSpec).min(1),
  /** The sponsor's signed grant terms: a query check runs, and a tranche is paid, only as signed there. */
  terms: z.custom<SignedTerms>(),
});
export type MilestoneGrantInput = z.infer<typeof milestoneGrantInput>;

/** What each of the grant's updates decides, signed by the party it names over the grant's run. */
export const evidenceDecision = z.strictObject({ milestoneId: z.string(), ref: z.string() });
export const approvalDecision = z.strictObject({ milestoneId: z.string() });
export const extensionDecision = z.strictObject({ milestoneId: z.string(), deadline: z.number() });

/** The grantee's signed evidence (its blob reference) for one milestone of this run. */
export interface SubmitEvidenceRequest {
  signed: SignedDecision<z.infer<typeof evidenceDecision>>;
}
/** The sponsor's signed approval of one milestone of this run. */
export interface ApproveMilestoneRequest {
  signed: SignedDecision<z.infer<typeof approvalDecision>>;
}
/** The grantee gives back what it was not paid yet (smallest units), ending the grant before its deadlines. */
export const remainderConsentDecision = z.strictObject({ amount: z.string() });

/** The grantee's signed consent to return the unpaid remainder to the sponsor now, on this run. */
export interface ConsentRemainderRequest {
  signed: SignedDecision<z.infer<typeof remainderConsentDecision>>;
}
/** The sponsor's signed extension of one milestone's deadline on this run. */
export interface ExtendDeadlineRequest {
  signed: SignedDecision<z.infer<typeof extensionDecision>>;
}
