import { decisionProof } from '../signed-decision';
import { releaseStatement } from '../../lib/release-statement';
import { z } from 'zod';
import { attentionItem } from '../deals/schemas';
import { decisionScope } from '../signed-decision';
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
export const deliveryParams = subscriptionParams.extend({ period: z.coerce.number().int().min(1) });

const delivered = z.union([
  z.object({
    queryIndex: z.number(),
    runId: z.string(),
    resultRef: z.string(),
    commitment: z.string(),
    release: releaseStatement.optional(),
  }),
  z.object({ queryIndex: z.number(), runId: z.string(), problem }),
]);

export const subscriptionStatus = z
  .object({
    subscriptionId: z.string(),
    /** Parties and amount are absent for auditors and compliance (see `hidden`). */
    buyerId: z.string().optional(),
    sellerId: z.string().optional(),
    pricePerPeriod: z.string().optional(),
    hidden: hiddenFields,
    periodMs: z.number(),
    graceMs: z.number(),
    stage: z.enum(['active', 'grace', 'cancelling', 'cancelled', 'suspended', 'completed']),
    currentPeriod: z.number(),
    periodStartedAt: z.number().optional(),
    periodEndsAt: z.number().optional(),
    nextRenewalAt: z.number().optional(),
    graceUntil: z.number().optional(),
    periodsCharged: z.number(),
    tokens: z.array(
      z.object({
        period: z.number(),
        tokenHash: z.string(),
        sealedTokenRef: z.string(),
        issuedAt: z.number(),
        expiresAt: z.number(),
        expired: z.boolean(),
      }),
    ),
    deliveries: z.array(z.object({ period: z.number(), results: z.array(delivered) })),
    cancelledBy: z.string().optional(),
    /** What the subscriber's cancel is signed over: this run, the subscription, its terms. */
    scope: decisionScope.optional(),
    endedAt: z.number().optional(),
    problem: problem.optional(),
    /** Where the subscriber pays the current period (the amount hidden with the price). */
    payment: z.object({ period: z.number(), address: z.string(), amount: z.string().optional() }).optional(),
    attention: z.array(attentionItem).optional(),
    run: z.number(),
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
