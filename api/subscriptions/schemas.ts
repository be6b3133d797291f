import { decisionProof } from '../signed-decision';
import { releaseStatement } from '../../lib/release-statement';
import { z } from 'zod';
import { attentionItem } from '../deals/schemas';
import { MAX_DISPUTE_REASON } from '../../workflows/deal/shapes';
import {
  answeredQuery,
  periodDelivery as workflowPeriodDelivery,
  periodDispute,
  periodPayment,
  refusedQuery,
  subscriptionStatus as workflowSubscriptionStatus,
} from '../../workflows/subscription/shapes';
import {
  sellerChoice,
  amount,
  notAfter,
  signedFee,
  termsNonce,
  businessId,
  dealCompliance,
  hiddenFields,
  parameterValues,
  problem,
  templateHash,
  termsSignature,
  x25519PublicKey,
} from '../common-schemas';

export const createSubscriptionBody = z.strictObject({
  subscriptionId: businessId,
  /** The templates run every period, all of one seller. */
  queries: z
    .array(
      z.strictObject({
        templateId: z.string().min(1).max(100),
        sellerId: sellerChoice,
        templateHash,
        parameters: parameterValues,
      }),
    )
    .min(1)
    .max(10),
  /** The sum of the templates' prices: what the buyer agrees to pay each period. */
  pricePerPeriod: amount,
  periodSeconds: z
    .int()
    .min(1)
    .max(366 * 24 * 60 * 60),
  /** The most periods the buyer agrees to pay; settlement charges no period past it. */
  periods: z.int().min(1).max(10_000),
  feeBps: signedFee,
  /** Until when the first period may be charged. */
  notAfter,
  nonce: termsNonce,
  /** Results and access tokens are sealed to this key. */
  buyerPublicKey: x25519PublicKey,
  /** How the buyer will use the answers; checked against every template here and in the perimeter. */
  compliance: dealCompliance,
  /** The buyer's signature over the rest of this body as `subscription` terms; the perimeter checks it. */
  termsSignature,
});
export type CreateSubscriptionBody = z.infer<typeof createSubscriptionBody>;

export const subscriptionParams = z.object({ subscriptionId: businessId });
/** The period in grace the top-up is for, signed with the report over the run (the status's `scope`). */
export const paymentReadyBody = decisionProof.extend({ period: z.int().min(1) });
export type PaymentReadyBody = z.infer<typeof paymentReadyBody>;
/** The held period disputed and why, signed with the opening over the run (the status's `scope`). */
export const disputePeriodBody = decisionProof.extend({
  period: z.int().min(1),
  reason: z.string().min(1).max(MAX_DISPUTE_REASON),
});
export type DisputePeriodBody = z.infer<typeof disputePeriodBody>;
/** The disputed period conceded: the seller's `refund_consent` of its escrow (the status's dispute). */
export const concedePeriodBody = decisionProof.extend({ period: z.int().min(1) });
export type ConcedePeriodBody = z.infer<typeof concedePeriodBody>;
export const deliveryParams = subscriptionParams.extend({ period: z.coerce.number().int().min(1) });

/** A refused query's reason is left out for auditors and compliance, as a deal's problem is. */
const delivered = z.union([
  answeredQuery.extend({ release: releaseStatement.optional() }),
  refusedQuery.extend({ problem }),
]);

/** The subscription's status as a caller sees it: the workflow's, with what redaction may take out. */
export const subscriptionStatus = workflowSubscriptionStatus
  .partial({
    /** Parties and amount are absent for auditors and compliance (see `hidden`). */
    buyerId: true,
    sellerId: true,
    pricePerPeriod: true,
  })
  .extend({
    hidden: hiddenFields,
    deliveries: z.array(workflowPeriodDelivery.extend({ results: z.array(delivered) })),
    problem: problem.optional(),
    /** Where the subscriber pays the current period (the amount hidden with the price). */
    payment: periodPayment.partial({ amount: true }).optional(),
    attention: z.array(attentionItem).optional(),
    /** A dispute's reason is left out for auditors and compliance. */
    disputes: z.array(periodDispute.partial({ reason: true })).optional(),
  })
  .meta({ id: 'SubscriptionStatus' });

export const sealedAccessToken = z.object({
  subscriptionId: z.string(),
  period: z.number(),
  expiresAt: z.number(),
  /** The token sealed to the buyer's X25519 key (base64); opens with context "tusk access token <id> <period>". */
  sealedToken: z.string(),
});

export const periodDelivery = z.object({
  subscriptionId: z.string(),
  period: z.number(),
  results: z.array(
    z.union([
      z.object({
        queryIndex: z.number(),
        /** The id the result is sealed under (open it with this as the deal id). */
        runId: z.string(),
        commitment: z.string(),
        ciphertext: z.string(),
        /** The seller's perimeter's signed statement of this delivery: check it before accepting. */
        release: releaseStatement.optional(),
      }),
      z.object({ queryIndex: z.number(), runId: z.string(), problem }),
    ]),
  ),
});
