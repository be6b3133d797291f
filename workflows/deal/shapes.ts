import { z } from 'zod';
import { decisionScope } from '../../lib/decision-statement';
// A type only: the statement's module signs and verifies (node:crypto), which workflow code may not load.
import type { ReleaseStatement } from '../../lib/release-statement';
import { attentionItem } from '../settlement-attention';
import { disputeOutcome, disputeResolvedBy, disputeTerms } from '../dispute/shapes';
// Types only: signed terms verify (node:crypto) and policies are not workflow code.
import type { SignedTerms } from '../../lib/signed-terms';
import type { DealCompliance } from '../../query-policies/compliance';

/**
 * A deal's shapes, defined once: the workflow's state, the API's response schemas (its redacted
 * views), the SDK, the CLI and a multi-seller deal derive from these. Pure (zod only), so workflow
 * code imports it.
 */

export const DEAL_STAGES = [
  'quoted',
  'budget_reserved',
  'escrow_locked',
  'query_running',
  /**
   * The buyer's signed notAfter passed with no answer: the seller's perimeter is asked (again, with
   * backoff, while it cannot be reached) to confirm the deal expired, and the escrow goes back on it.
   */
  'awaiting_expiry',
  'delivered',
  'confirmed',
  'disputed',
  'settled',
  'refunded',
  'failed',
  /** A money step failed (a refund, a release): the reasons are in `attention`; an operator retries. */
  'needs_attention',
] as const;
export const dealStage = z.enum(DEAL_STAGES);
export type DealStage = z.infer<typeof dealStage>;

/**
 * Where a deal rests: nothing more happens until a party acts (delivered: the buyer confirms or
 * disputes; needs_attention: the operator retries a failed money step) or ever (settled, refunded,
 * failed). Waiting stops only at one of these.
 */
export const RESTING_DEAL_STAGES = [
  'delivered',
  'confirmed',
  'disputed',
  'settled',
  'refunded',
  'failed',
  'needs_attention',
] as const satisfies readonly DealStage[];
/** A deal that ended without an answer the buyer keeps, or whose money is stuck until an operator acts. */
export const REFUSED_DEAL_STAGES = [
  'refunded',
  'failed',
  'needs_attention',
] as const satisfies readonly DealStage[];

/** A private selection: the answer holds only the groups the buyer chose, encrypted to the buyer. */
export const privateSelection = z.object({
  /** Blob reference of the buyer's HE key document. */
  heKeyRef: z.string(),
  /** One blob per selection: its encrypted selection vector over the template's groups. */
  selectionRefs: z.array(z.string()),
});
export type PrivateSelection = z.infer<typeof privateSelection>;

/** What the API starts a one-time deal's workflow with. */
export const cohortQueryDealInput = z.object({
  dealId: z.string(),
  /** The buyer's and seller's visibility tokens, which a dispute of this deal is listed under. */
  partyTokens: z.array(z.string()).optional(),
  buyerId: z.string(),
  sellerId: z.string(),
  templateId: z.string(),
  templateHash: z.string(),
  parameters: z.record(z.string(), z.union([z.string(), z.number()])),
  /** Smallest units of the settlement currency. */
  price: z.string(),
  feeBps: z.number(),
  buyerKeyRef: z.string(),
  /** Set for a private selection: the answer holds only the groups the buyer chose, encrypted. */
  privateSelection: privateSelection.optional(),
  /** The buyer's declared jurisdiction, purpose and accepted data classes; the perimeter checks them. */
  compliance: z.custom<DealCompliance>(),
  /** How long the buyer has to confirm or dispute before the deal confirms itself. */
  acceptanceTimeoutMs: z.number(),
  /** Reviewer access, resolution timeout and default outcome of a dispute; defaults if absent. */
  dispute: disputeTerms.optional(),
  /** The buyer's signed terms: the perimeter answers nothing else. */
  terms: z.custom<SignedTerms>(),
});
export type CohortQueryDealInput = z.infer<typeof cohortQueryDealInput>;

/** Why a deal did not deliver: a stable machine-readable code (e.g. InsufficientFunds) and its reason. */
export const dealProblem = z.object({ code: z.string(), reason: z.string() });
export type DealProblem = z.infer<typeof dealProblem>;

/** Who confirmed a delivered deal: the buyer, or the acceptance window's end. */
export const confirmedBy = z.enum(['buyer', 'acceptance_timer']);
export type ConfirmedBy = z.infer<typeof confirmedBy>;

/** A deal's dispute as the deal's status shows it. */
export const dealDispute = z.object({
  openedBy: z.string(),
  reason: z.string(),
  /** The child workflow that runs it. */
  workflowId: z.string(),
  outcome: disputeOutcome.optional(),
  resolvedBy: disputeResolvedBy.optional(),
  auditRef: z.string().optional(),
});
export type DealDispute = z.infer<typeof dealDispute>;

/** The delivered answer: where the sealed result is, its commitment and what it cost in ε. */
export const deliveredResult = z.object({
  resultRef: z.string(),
  commitment: z.string(),
  epsilonSpent: z.number(),
  /** An identical earlier query's answer, returned again at no cost. */
  repeat: z.boolean(),
  /** The perimeter's signed statement of this release (the result endpoint serves it). */
  release: z.custom<ReleaseStatement>().optional(),
});

/** What the buyer reads while a deal waits for its seller's perimeter to confirm it expired. */
export const EXPIRY_WAIT_NOTE = "waiting for the seller's perimeter to confirm expiry";

/**
 * A deal past its buyer's signed notAfter with no answer, waiting for the perimeter(s) to sign that
 * they never released one. Not an error: it ends by itself once a perimeter answers. Codes only (no
 * reasons), so a redacted view may show it whole.
 */
export const expiryWait = z.object({
  note: z.string(),
  /** The buyer's signed notAfter (ms since the epoch). */
  notAfter: z.number(),
  /** When the workflow began asking. */
  since: z.number(),
  /** Asks that went unanswered so far, the code of the last one, and when the next one goes out. */
  missedAsks: z.number(),
  lastCode: z.string().optional(),
  nextAskAt: z.number().optional(),
  /** How many perimeters have not confirmed yet (a multi-seller deal asks each contributor). */
  pending: z.number(),
});
export type ExpiryWait = z.infer<typeof expiryWait>;

/** One step of a lifecycle's timeline: the stage reached and when (milliseconds since the epoch). */
export const timelineEntry = z.object({ stage: dealStage, at: z.number() });

/** The deal workflow's status, as its query answers it to the API. */
export const dealStatus = z.object({
  dealId: z.string(),
  stage: dealStage,
  buyerId: z.string(),
  sellerId: z.string(),
  templateId: z.string(),
  templateHash: z.string(),
  price: z.string(),
  /** What the buyer's confirmation and a party's dispute are signed over: this run, the deal, its terms. */
  scope: decisionScope.optional(),
  result: deliveredResult.optional(),
  confirmedBy: confirmedBy.optional(),
  dispute: dealDispute.optional(),
  /** Where the buyer pays the price: the deal's escrow, once it is open. */
  escrow: z.object({ address: z.string() }).optional(),
  /** The buyer's receipt for the result: its public id and the salt that ties it to the commitment. */
  receipt: z.object({ id: z.string(), salt: z.string() }).optional(),
  /** Why the deal did not deliver (refused, failed). */
  problem: dealProblem.optional(),
  /** Money steps that failed and wait for an operator's retry, each with its reason. */
  attention: z.array(attentionItem).optional(),
  /** Set while (and after) the deal waited for its perimeter to confirm it expired unanswered. */
  expiry: expiryWait.optional(),
  /** Milliseconds since the epoch at which each stage was reached. */
  timeline: z.array(timelineEntry),
});
export type DealStatus = z.infer<typeof dealStatus>;

/** The longest reason a dispute may give (the API's bound, kept by the workflow too). */
export const MAX_DISPUTE_REASON = 1000;
