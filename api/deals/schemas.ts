import { releaseStatement } from '../../lib/release-statement';
import { z } from 'zod';
import { MAX_SELLERS } from '../../lib/he/vector-layout';
import {
  dealCompliance,
  hiddenFields,
  parameterValues,
  problem,
  notAfter,
  sellerChoice,
  signedFee,
  termsNonce,
  termsSignature,
  x25519PublicKey,
} from '../common-schemas';
import { dealDispute, dealStatus as workflowDealStatus, deliveredResult } from '../../workflows/deal/shapes';
import {
  multiSellerDealStatus as workflowMultiSellerDealStatus,
  multiSellerResult,
} from '../../workflows/multi-seller/shapes';
import { attentionItem as workflowAttentionItem } from '../../workflows/settlement-attention';

export const errorBody = z.object({ code: z.string(), reason: z.string() }).meta({ id: 'Error' });

const blobRef = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a blob reference: sha256:<64 hex digits>');
export const MAX_SELECTIONS = 16;

export const createDealBody = z.strictObject({
  /** Chosen by the buyer (a UUID is ideal): a retried request with the same id starts nothing twice. */
  dealId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,99}$/, '3 to 100 letters, digits, dots, dashes, underscores'),
  templateId: z.string().min(1).max(100),
  sellerId: sellerChoice,
  /** The template version the buyer saw: `sha256:<hex>` from GET /templates. */
  templateHash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits>'),
  parameters: parameterValues,
  /** The price the buyer agrees to, in smallest units; must equal the template's price. */
  price: z.string().regex(/^[0-9]{1,31}$/, 'a whole number of smallest units, as a string'),
  /** The buyer's X25519 public key (base64url, 32 bytes): the result is sealed to it. */
  buyerPublicKey: x25519PublicKey,
  /** A private selection (templates that offer it): refs from POST /blobs; one selection per paid answer. */
  privateSelection: z
    .strictObject({
      heKeyRef: blobRef,
      selectionRefs: z.array(blobRef).min(1).max(MAX_SELECTIONS),
    })
    .optional(),
  /** How the buyer will use the answer; checked against the template here and again in the perimeter. */
  compliance: dealCompliance,
  /** The platform fee the buyer agrees to (basis points of the price); settlement takes no other. */
  feeBps: signedFee,
  /** Until when the buyer's payment may be locked; settlement refuses a lock after it. */
  notAfter,
  /** Fresh per signing: the deal's escrow is named by it, so a reused deal id is a new escrow. */
  nonce: termsNonce,
  /**
   * How long after delivery the buyer has to confirm or dispute (seconds); then the deal confirms
   * itself. Signed: settlement pays an unconfirmed deal no sooner.
   */
  acceptanceWindowSeconds: z
    .int()
    .min(1)
    .max(365 * 24 * 60 * 60),
  /** The buyer's signature over the rest of this body as `cohort_query` terms; every perimeter checks it. */
  termsSignature,
});
export type CreateDealBody = z.infer<typeof createDealBody>;

export const dealParams = z.object({ dealId: z.string().min(1).max(100) });

/** A money step that failed and waits for the operator's retry (deals, subscriptions, grants); its reason is left out for auditors. */
export const attentionItem = workflowAttentionItem.partial({ reason: true });

/** The deal's status as a caller sees it: the workflow's, with what redaction (api/redaction.ts) may take out. */
export const dealStatus = workflowDealStatus
  .partial({
    /** Parties and amount are absent for auditors and compliance (see `hidden`): a disclosure shows them. */
    buyerId: true,
    sellerId: true,
    /** Absent with the parties: the catalog maps a template to its seller and price. */
    templateId: true,
    templateHash: true,
    price: true,
  })
  .extend({
    hidden: hiddenFields,
    /** The release statement is served with the result (GET /deals/:id/result), not in the status. */
    result: deliveredResult.omit({ release: true }).optional(),
    dispute: dealDispute.partial({ openedBy: true }).optional(),
    problem: problem.optional(),
    attention: z.array(attentionItem).optional(),
  })
  .meta({ id: 'DealStatus' });

export const dealResult = z.object({
  dealId: z.string(),
  resultRef: z.string(),
  commitment: z.string(),
  /** The sealed box, base64: opens only with the buyer's X25519 private key. */
  ciphertext: z.string(),
  /** The seller's perimeter's signed statement of the release: the buyer's client checks it. */
  release: releaseStatement.optional(),
  /** A multi-seller sum: each contributing seller's perimeter's statement of its contribution. */
  releases: z.array(releaseStatement).optional(),
});

const parameterSpec = z.union([
  z.object({
    type: z.literal('integer'),
    min: z.number(),
    max: z.number(),
    description: z.string().optional(),
  }),
  z.object({ type: z.literal('enum'), values: z.array(z.string()), description: z.string().optional() }),
  /** Written YYYY-MM-DD. */
  z.object({ type: z.literal('date'), min: z.string(), max: z.string(), description: z.string().optional() }),
  /** Written as a string with exactly `scale` decimal places, e.g. "12.50" at scale 2. */
  z.object({
    type: z.literal('decimal'),
    scale: z.number(),
    min: z.string(),
    max: z.string(),
    description: z.string().optional(),
  }),
]);

export const templateSummary = z.object({
  id: z.string(),
  version: z.number(),
  seller: z.string(),
  hash: z.string(),
  title: z.string(),
  description: z.string(),
  dataset: z.string(),
  parameters: z.record(z.string(), parameterSpec),
  /** Rules between parameters, e.g. `{ lessOrEqual: ['from', 'to'] }`. */
  constraints: z
    .array(
      z.union([
        z.object({ lessOrEqual: z.tuple([z.string(), z.string()]) }),
        z.object({ lessThan: z.tuple([z.string(), z.string()]) }),
      ]),
    )
    .optional(),
  dimensions: z.array(z.string()),
  metrics: z.array(z.object({ name: z.string(), aggregate: z.string() })),
  minCohortSize: z.number(),
  /** Every group of the declared domain, or private partition selection with its δ. */
  groupRelease: z.enum(['declared_domain', 'partition_selection']),
  privacy: z.object({ mechanism: z.string(), epsilon: z.number(), delta: z.number() }),
  milestones: z.object({ epsilon: z.number(), maxChecks: z.number() }).optional(),
  compliance: z.object({
    jurisdictions: z.array(z.string()),
    purposes: z.array(z.string()),
    dataClasses: z.array(z.string()),
  }),
  multiSeller: z.boolean(),
  privateSelection: z.boolean(),
  /** The declared group domain encrypted answers are laid out over. */
  groupDomain: z
    .record(z.string(), z.union([z.array(z.string()), z.object({ from: z.number(), to: z.number() })]))
    .optional(),
  price: z.string(),
});

export const createMultiSellerDealBody = z.strictObject({
  dealId: createDealBody.shape.dealId,
  templateId: createDealBody.shape.templateId,
  /** Each seller with the hash of its own signed copy of the template (from GET /templates). */
  sellers: z
    .array(
      z.strictObject({
        sellerId: z.string().min(1).max(100),
        templateHash: createDealBody.shape.templateHash,
        /** This seller's share: its template's price. Settlement pays it and nothing else. */
        price: createDealBody.shape.price,
      }),
    )
    .min(1)
    // As many as one HE sum adds exactly (lib/he/vector-layout.ts); the perimeter checks it again.
    .max(MAX_SELLERS),
  parameters: createDealBody.shape.parameters,
  /** The sum of the sellers' prices: each seller is paid its own. */
  price: createDealBody.shape.price,
  /** The buyer's HE key document (tusk buyer keygen --he): the sum is encrypted to it. */
  heKeyRef: blobRef,
  compliance: createDealBody.shape.compliance,
  feeBps: createDealBody.shape.feeBps,
  notAfter: createDealBody.shape.notAfter,
  nonce: createDealBody.shape.nonce,
  acceptanceWindowSeconds: createDealBody.shape.acceptanceWindowSeconds,
  /** The buyer's signature over the rest of this body as `multi_seller` terms; each perimeter checks it. */
  termsSignature,
});
export type CreateMultiSellerDealBody = z.infer<typeof createMultiSellerDealBody>;

/** A multi-seller deal's status as a caller sees it: the workflow's, with what redaction may take out. */
export const multiSellerDealStatus = workflowMultiSellerDealStatus
  .partial({
    /** Parties and amount are absent for auditors and compliance (see `hidden`). */
    buyerId: true,
    sellerIds: true,
    /** Absent with the parties: the catalog maps a template id to the sellers offering it. */
    templateId: true,
    price: true,
    /** The sellers whose perimeters accepted: seller ids, so hidden with the parties. */
    contributors: true,
  })
  .extend({
    hidden: hiddenFields,
    /** The release statements are served with the result, not in the status. */
    result: multiSellerResult.omit({ releases: true }).optional(),
    attention: z.array(attentionItem).optional(),
    problem: problem.optional(),
  })
  .meta({ id: 'MultiSellerDealStatus' });
