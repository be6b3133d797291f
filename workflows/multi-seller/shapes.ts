import { z } from 'zod';
import { decisionScope } from '../../lib/decision-statement';
// Types only: their modules sign and verify (node:crypto) or read policies, which workflow code may not load.
import type { ReleaseStatement } from '../../lib/release-statement';
import type { SignedTerms } from '../../lib/signed-terms';
import type { DealCompliance } from '../../query-policies/compliance';
import { attentionItem } from '../settlement-attention';
import { confirmedBy, dealProblem, dealStage, expiryWait, timelineEntry } from '../deal/shapes';

/**
 * A multi-seller deal's shapes, defined once: the workflow's state, the API's response schema (its
 * redacted view), the CLI's payment view and the SDK derive from these. Pure (zod only), so workflow
 * code imports it. Stages, problems and the timeline are a deal's (workflows/deal/shapes.ts).
 */

/** One seller's part of the deal. */
export const sellerShare = z.object({
  sellerId: z.string(),
  /** The hash of this seller's own signed copy of the template. */
  templateHash: z.string(),
  /** This seller's price: its share of the deal price, paid to it alone. */
  price: z.string(),
});
export type SellerShare = z.infer<typeof sellerShare>;

/** What the API starts the workflow with. */
export const multiSellerDealInput = z.object({
  dealId: z.string(),
  buyerId: z.string(),
  templateId: z.string(),
  sellers: z.array(sellerShare),
  parameters: z.record(z.string(), z.union([z.string(), z.number()])),
  /** Blob reference of the buyer's HE key document. */
  heKeyRef: z.string(),
  compliance: z.custom<DealCompliance>(),
  feeBps: z.number(),
  acceptanceTimeoutMs: z.number(),
  /** The buyer's signed terms: each seller's perimeter verifies them. */
  terms: z.custom<SignedTerms>(),
});
export type MultiSellerDealInput = z.infer<typeof multiSellerDealInput>;

/** The delivered sum: where the sealed result is, its commitment and how many sellers added to it. */
export const multiSellerResult = z.object({
  resultRef: z.string(),
  commitment: z.string(),
  contributors: z.number(),
  /** Each contributing seller's perimeter's signed statement of the contribution it released. */
  releases: z.array(z.custom<ReleaseStatement>()).optional(),
});

/** Where the buyer pays one contributing seller's share. */
export const shareEscrow = z.object({ sellerId: z.string(), address: z.string(), amount: z.string() });
export type ShareEscrow = z.infer<typeof shareEscrow>;

/** The multi-seller deal workflow's status, as its query answers it to the API. */
export const multiSellerDealStatus = z.object({
  dealId: z.string(),
  stage: dealStage,
  buyerId: z.string(),
  sellerIds: z.array(z.string()),
  templateId: z.string(),
  /** What the buyer pays: the sum of the contributing sellers' prices. */
  price: z.string(),
  /** Sellers whose perimeter accepted the deal; only they are paid. */
  contributors: z.array(z.string()),
  result: multiSellerResult.optional(),
  confirmedBy: confirmedBy.optional(),
  /** What the buyer's confirmation is signed over: this run, the deal, its terms. */
  scope: decisionScope.optional(),
  /** Where the buyer pays each contributing seller's share, once that share's escrow is open. */
  escrows: z.array(shareEscrow).optional(),
  /** Money steps that failed and wait for an operator's retry. */
  attention: z.array(attentionItem).optional(),
  /** Set while (and after) the deal waited for its sellers' perimeters to confirm it expired. */
  expiry: expiryWait.optional(),
  problem: dealProblem.optional(),
  timeline: z.array(timelineEntry),
});
export type MultiSellerDealStatus = z.infer<typeof multiSellerDealStatus>;

/** Fewer contributing sellers than this refuse the deal: one seller's part alone would be its answer. */
export const MIN_CONTRIBUTORS = 2;
