import { releaseStatement } from '../../lib/release-statement';
import { z } from 'zod';
import { attentionItem } from '../deals/schemas';
import {
  amount,
  signedFee,
  termsNonce,
  businessId,
  hiddenFields,
  partyId,
  problem,
  termsSignature,
} from '../common-schemas';
import { DECISION_ACTIONS } from '../../lib/decision-statement';
import { decisionProof, decisionScope } from '../signed-decision';
import {
  grantStage,
  milestoneSpec,
  milestoneStage,
  requestedMilestoneCheck,
  shownMilestoneCheck,
} from '../../workflows/grant/shapes';

export const createGrantBody = z.strictObject({
  grantId: businessId,
  granteeId: partyId,
  /** As the workflow holds them, with the deadline as an ISO time and the check as the sponsor asks it. */
  milestones: z
    .array(
      milestoneSpec.extend({ deadline: z.iso.datetime({ offset: true }), check: requestedMilestoneCheck }),
    )
    .min(1)
    .max(20),
  /** The sum of the milestones' amounts: what the sponsor locks. */
  total: amount,
  feeBps: signedFee,
  nonce: termsNonce,
  /** The sponsor's signature over the rest of this body as `grant` terms; query checks and settlement verify it. */
  termsSignature,
});
export type CreateGrantBody = z.infer<typeof createGrantBody>;

export const grantParams = z.object({ grantId: businessId });
export const milestoneParams = grantParams.extend({ milestoneId: milestoneSpec.shape.milestoneId });
/** The new deadline, signed by the sponsor over this grant's run as milliseconds since the epoch. */
export const extendDeadlineBody = decisionProof.extend({ deadline: z.iso.datetime({ offset: true }) });
/** What the grantee gives back (everything not yet paid, in smallest units), signed over this grant's run. */
export const remainderConsentBody = decisionProof.extend({
  amount: z.string().regex(/^[0-9]{1,31}$/, 'a whole number of smallest units, as a string'),
});

export const grantStatus = z
  .object({
    grantId: z.string(),
    /** Parties and amounts are absent for auditors and compliance (see `hidden`). */
    sponsorId: z.string().optional(),
    granteeId: z.string().optional(),
    stage: grantStage,
    total: z.string().optional(),
    scope: decisionScope.optional(),
    hidden: hiddenFields,
    milestones: z.array(
      z.object({
        milestoneId: z.string(),
        name: z.string(),
        amount: z.string().optional(),
        deadline: z.number(),
        /** Without seller and template with the parties: the catalog maps a template to its seller and price. */
        check: shownMilestoneCheck,
        stage: milestoneStage,
        evidence: z.array(z.object({ ref: z.string(), at: z.number() })),
        lastCheck: z
          .object({
            met: z.boolean(),
            statementHash: z.string().optional(),
            /** The seller's perimeter's signed statement of the verdict (absent in redacted views). */
            release: releaseStatement.optional(),
            problem: z.string().optional(),
            at: z.number(),
          })
          .optional(),
        releasedAt: z.number().optional(),
      }),
    ),
    refunded: z.string().optional(),
    /** Where the sponsor pays the total, privately from its own wallet. */
    escrow: z.object({ address: z.string() }).optional(),
    attention: z.array(attentionItem).optional(),
    problem: problem.optional(),
    /**
     * The sponsor's signed deadline extensions (parties only): the grantee checks each is in the
     * transparency log, where settlement reads them (`tusk sponsor grant extensions`). Kept whole,
     * every field, so the signature still verifies.
     */
    extensions: z
      .array(
        z.strictObject({
          statement: decisionScope.extend({
            action: z.enum(DECISION_ACTIONS),
            principal: z.string(),
            content: z.strictObject({ milestoneId: z.string(), deadline: z.number() }),
            notAfter: z.number(),
          }),
          signature: z.string(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'GrantStatus' });

/**
 * The milestone an evidence or an approval was about, beside the grant: which one (id, name, how it
 * is checked), where it stands, its tranche and what of it was paid to the grantee so far.
 */
export const milestoneDecided = z.object({
  milestoneId: z.string(),
  name: z.string(),
  check: z.enum(['query', 'sponsor_approval']),
  stage: milestoneStage,
  amount: z.string().optional(),
  /** The tranche once settlement released it (fee taken from it), else "0". */
  paid: z.string().optional(),
});
export const milestoneDecisionAnswer = grantStatus
  .extend({ milestone: milestoneDecided })
  .meta({ id: 'GrantMilestoneDecision' });

/** Public: counts only, no amounts, no identities. */
export const grantProgress = z
  .object({
    grantId: z.string(),
    stage: grantStage,
    milestonesMet: z.number(),
    milestonesTotal: z.number(),
    percentMet: z.number(),
  })
  .meta({ id: 'GrantProgress' });
