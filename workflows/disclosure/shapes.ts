import { z } from 'zod';
import { decisionScope } from '../../lib/decision-statement';
import { vote } from '../approvals';
import { auditEvent } from '../audit-event';

/**
 * A disclosure's shapes, defined once: the workflow's state, the API's request and response schemas,
 * the SDK, the auditor's CLI and audit derive from these. Pure (zod only), so workflow code imports it.
 */

/** A deal's fields hidden from auditors until a disclosure shows them. */
export const DISCLOSABLE_FIELDS = ['parties', 'amount'] as const;
export const disclosableField = z.enum(DISCLOSABLE_FIELDS);
export type DisclosableField = z.infer<typeof disclosableField>;

export const disclosureDecision = z.enum(['approve', 'deny']);
export type DisclosureDecision = z.infer<typeof disclosureDecision>;

export const DISCLOSURE_STAGES = ['pending', 'approved', 'denied', 'lapsed', 'expired'] as const;
export const disclosureStage = z.enum(DISCLOSURE_STAGES);
export type DisclosureStage = z.infer<typeof disclosureStage>;
/** The stages a disclosure ends in: nothing more is decided (an approved one may still be viewed). */
export const FINAL_DISCLOSURE_STAGES = [
  'approved',
  'denied',
  'lapsed',
  'expired',
] as const satisfies readonly DisclosureStage[];

/** An audit bundle the auditor exported under the disclosure, by its signed export (used once). */
/** What the API starts a disclosure's workflow with. */
export const disclosureInput = z.object({
  disclosureId: z.string(),
  dealId: z.string(),
  /**
   * Runs started before the deal's signed terms were checked carried their hash here (their replay
   * reads it). New runs ignore it: the coordinator reads the terms from the deal, checks the buyer's
   * signature under its registered key and the deal id, and hashes them; decisions bind that hash.
   */
  termsHash: z.string().optional(),
  auditorId: z.string(),
  reason: z.string(),
  fields: z.array(disclosableField),
  /** How long the request waits for its approvals before it lapses. */
  approvalTimeoutMs: z.number(),
  /** How long the auditor may view the fields once approved. */
  viewMs: z.number(),
});
export type DisclosureInput = z.infer<typeof disclosureInput>;

export const disclosureExport = z.object({
  viewer: z.string(),
  at: z.number(),
  /** The bundle's digest: which bundle left, without holding it. */
  valuesHash: z.string(),
  nonce: z.string(),
});
export type DisclosureExport = z.infer<typeof disclosureExport>;

export const disclosureView = z.object({
  viewer: z.string(),
  at: z.number(),
  fields: z.array(disclosableField),
  /** sha256 of the canonical JSON of the values shown: what was shown, without showing it again. */
  valuesHash: z.string(),
  /** The nonce of the auditor's signed view: each signed view is used once. */
  nonce: z.string(),
});
export type DisclosureView = z.infer<typeof disclosureView>;

export const disclosureStatus = z.object({
  disclosureId: z.string(),
  dealId: z.string(),
  auditorId: z.string(),
  reason: z.string(),
  fields: z.array(disclosableField),
  /**
   * What every decision on this disclosure is signed over: this run, the deal and its terms. Set once
   * the coordinator has checked the deal's signed terms; no decision counts before.
   */
  scope: decisionScope.optional(),
  stage: disclosureStage,
  requestedAt: z.number(),
  decideBy: z.number(),
  decisions: z.array(vote(disclosureDecision)),
  viewUntil: z.number().optional(),
  views: z.array(disclosureView),
  /** Bundles exported under signed exports; absent on runs from before exports were signed. */
  exports: z.array(disclosureExport).optional(),
  audit: z.array(auditEvent),
  auditRef: z.string().optional(),
});
export type DisclosureStatus = z.infer<typeof disclosureStatus>;
