import { z } from 'zod';
import { decisionScope } from '../../lib/decision-statement';
// A type only: the statement's module signs and verifies (node:crypto), which workflow code may not load.
import type { ReleaseStatement } from '../../lib/release-statement';
import { attentionItem } from '../settlement-attention';
// Types only: signed terms verify (node:crypto) and policies are not workflow code.
import type { SignedTerms } from '../../lib/signed-terms';
import type { DealCompliance } from '../../query-policies/compliance';

/**
 * A subscription's shapes, defined once: the workflow's state, the API's response schemas (its
 * redacted view), the SDK and the buyer's CLI derive from these. Pure (zod only), so workflow code
 * imports it.
 */

/** `completed`: every period the subscriber signed for was run; nothing more is charged. */
export const SUBSCRIPTION_STAGES = [
  'active',
  'grace',
  'cancelling',
  'cancelled',
  'suspended',
  'completed',
] as const;
export const subscriptionStage = z.enum(SUBSCRIPTION_STAGES);
export type SubscriptionStage = z.infer<typeof subscriptionStage>;
/** The stages a subscription ends in: nothing more is charged or run. */
export const FINAL_SUBSCRIPTION_STAGES = [
  'cancelled',
  'suspended',
  'completed',
] as const satisfies readonly SubscriptionStage[];
export const isFinalSubscriptionStage = (stage: SubscriptionStage): boolean =>
  (FINAL_SUBSCRIPTION_STAGES as readonly SubscriptionStage[]).includes(stage);

export const accessTokenStatus = z.object({
  period: z.number(),
  tokenHash: z.string(),
  /** The token sealed to the buyer's key; only the buyer opens it. */
  sealedTokenRef: z.string(),
  issuedAt: z.number(),
  expiresAt: z.number(),
  expired: z.boolean(),
});
export type AccessTokenStatus = z.infer<typeof accessTokenStatus>;

export const queryProblem = z.object({ code: z.string(), reason: z.string() });

export const answeredQuery = z.object({
  queryIndex: z.number(),
  runId: z.string(),
  resultRef: z.string(),
  commitment: z.string(),
  /** The seller's perimeter's signed statement of this delivery: the subscriber's client checks it. */
  release: z.custom<ReleaseStatement>().optional(),
});
export const refusedQuery = z.object({ queryIndex: z.number(), runId: z.string(), problem: queryProblem });
export const deliveredQuery = z.union([answeredQuery, refusedQuery]);
export type DeliveredQuery = z.infer<typeof deliveredQuery>;

export const periodDelivery = z.object({ period: z.number(), results: z.array(deliveredQuery) });
export type PeriodDelivery = z.infer<typeof periodDelivery>;

/** Where the subscriber pays the current period's charge, from its own wallet. */
export const periodPayment = z.object({ period: z.number(), address: z.string(), amount: z.string() });

/**
 * The subscriber's dispute of a delivered period: `open` holds the period's payout; `conceded`, the
 * seller signed consent to refund it (settlement refunds on that signature); `lapsed`, the seller did
 * not concede by `until` and the payout went ahead.
 */
export const PERIOD_DISPUTE_STAGES = ['open', 'conceded', 'lapsed'] as const;
export const periodDispute = z.object({
  period: z.number(),
  /** The period's escrow: what the subscriber's dispute and the seller's consent are signed over. */
  escrowId: z.string(),
  reason: z.string(),
  stage: z.enum(PERIOD_DISPUTE_STAGES),
  openedAt: z.number(),
  /** Until when the seller may concede; the payout proceeds after it. */
  until: z.number(),
  resolvedAt: z.number().optional(),
});
export type PeriodDispute = z.infer<typeof periodDispute>;

/** The delivered period whose payout waits for its end: its subscriber may dispute it until then. */
export const heldPayout = z.object({ period: z.number(), escrowId: z.string(), until: z.number() });
export type HeldPayout = z.infer<typeof heldPayout>;

export const subscriptionStatus = z.object({
  subscriptionId: z.string(),
  buyerId: z.string(),
  sellerId: z.string(),
  pricePerPeriod: z.string(),
  periodMs: z.number(),
  graceMs: z.number(),
  stage: subscriptionStage,
  /** 0 until the first period starts. */
  currentPeriod: z.number(),
  periodStartedAt: z.number().optional(),
  periodEndsAt: z.number().optional(),
  /** When the next charge is due; absent once the subscription is ending or over. */
  nextRenewalAt: z.number().optional(),
  graceUntil: z.number().optional(),
  periodsCharged: z.number(),
  tokens: z.array(accessTokenStatus),
  deliveries: z.array(periodDelivery),
  cancelledBy: z.string().optional(),
  /** What the subscriber's cancellation is signed over: this run (not carried), the subscription, its terms. */
  scope: decisionScope.optional(),
  /** When it was cancelled or suspended. */
  endedAt: z.number().optional(),
  problem: queryProblem.optional(),
  payment: periodPayment.optional(),
  /** The period whose payout is held and disputable now, if any. */
  held: heldPayout.optional(),
  /** The subscriber's disputes of delivered periods, newest last (bounded). */
  disputes: z.array(periodDispute).optional(),
  /** Payouts that failed and wait for an operator's retry. */
  attention: z.array(attentionItem).optional(),
  /** Which run of the workflow (continueAsNew) this is, from 1. */
  run: z.number(),
});
export type SubscriptionStatus = z.infer<typeof subscriptionStatus>;

/** One query a subscription runs every period. */
export const scheduledQuery = z.object({
  templateId: z.string(),
  templateHash: z.string(),
  parameters: z.record(z.string(), z.union([z.string(), z.number()])),
});
export type ScheduledQuery = z.infer<typeof scheduledQuery>;

export const subscriptionTerms = z.object({
  periodMs: z.number(),
  /** After a failed charge, and after a rotation for the old token. */
  graceMs: z.number(),
  /** A new run (continueAsNew) every this many periods keeps each history bounded. */
  periodsPerRun: z.number(),
});
export type SubscriptionTerms = z.infer<typeof subscriptionTerms>;

/** Where the previous run stopped: its status, less what the input says anew. */
export const subscriptionCarry = subscriptionStatus.omit({
  subscriptionId: true,
  buyerId: true,
  sellerId: true,
  pricePerPeriod: true,
  periodMs: true,
  graceMs: true,
  scope: true,
});
export type SubscriptionCarry = z.infer<typeof subscriptionCarry>;

/** What the API starts a subscription's workflow with, and each run (continueAsNew) the next. */
export const subscriptionInput = subscriptionTerms.extend({
  subscriptionId: z.string(),
  buyerId: z.string(),
  sellerId: z.string(),
  pricePerPeriod: z.string(),
  feeBps: z.number(),
  buyerKeyRef: z.string(),
  /** The buyer's declared use, checked by the perimeter before every scheduled answer. */
  compliance: z.custom<DealCompliance>(),
  queries: z.array(scheduledQuery),
  /** The subscriber's signed terms: every scheduled query carries them to the perimeter. */
  terms: z.custom<SignedTerms>(),
  /** Where the previous run stopped; absent on the first run. */
  carried: subscriptionCarry.optional(),
});
export type SubscriptionInput = z.infer<typeof subscriptionInput>;
