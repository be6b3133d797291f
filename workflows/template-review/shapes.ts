import { z } from 'zod';
import type { QueryTemplate } from '../../query-policies/template';

/**
 * Template review's messages, defined once: the workflow, its state, the API's schemas, the CLI and
 * audit derive from these. Pure (zod only), so workflow code imports it; the full template rules
 * (query-policies/template.ts, which hashes) are applied by the API and the perimeter, never here.
 */
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');
const sha256Ref = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits>');
const ed25519Signature = z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'a base64url Ed25519 signature');

export const reviewId = slug;
export const partyId = z.string().min(1).max(100);

/** How long a proposal stays open unless its seller sets another deadline. */
export const DEFAULT_REVIEW_DEADLINE_MS = 30 * 24 * 60 * 60 * 1000;

/** Where the template-review workflow of one proposal lives: one run per review id. */
export const templateReviewWorkflowId = (id: string) => `template-review:${id}`;

/**
 * A draft template as a buyer proposes it: SQL, parameters, metrics, declared use (its compliance)
 * and suggested price, for one seller and dataset. Its rules are queryTemplate's; the API parses it
 * with them, the perimeter again before any preview.
 */
export const draftTemplate = z.custom<QueryTemplate>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'a template (see query-policies/template.ts)',
);

/**
 * One revision of a proposal, signed by its proposer: the signature covers `draftHash`, the sha256 of
 * the canonical JSON of { reviewId, revision, proposer, draft } (query-policies/draft-signature.ts).
 * The draft itself (its SQL, parameters, metrics, declared use) is not here: it is sealed to the
 * seller's perimeter and the proposer, in the blob store at `draftRef` (query-policies/sealed-draft.ts).
 * `seller`, `dataset` and `templateId` are for routing and listing; the perimeter checks they are the
 * sealed draft's own.
 */
export const signedDraft = z.strictObject({
  reviewId,
  revision: z.int().min(1),
  proposer: partyId,
  seller: partyId,
  dataset: z.string().min(1).max(100),
  templateId: slug,
  draftRef: sha256Ref,
  draftHash: sha256Ref,
  signature: ed25519Signature,
});
export type SignedDraft = z.infer<typeof signedDraft>;

export const templateReviewInput = z.strictObject({
  reviewId,
  sellerId: partyId,
  proposerId: partyId,
  proposal: signedDraft,
  /** Milliseconds since the epoch: an open proposal expires then. The seller may move it. */
  expiresAt: z.int().positive(),
});
export type TemplateReviewInput = z.infer<typeof templateReviewInput>;

export const REVIEW_STAGES = ['open', 'changes_requested', 'approved', 'rejected', 'expired'] as const;
export const reviewStage = z.enum(REVIEW_STAGES);
export type ReviewStage = z.infer<typeof reviewStage>;
export const FINAL_REVIEW_STAGES: readonly ReviewStage[] = ['approved', 'rejected', 'expired'];

/** A lint problem of the draft, and how to fix it. */
export const draftIssue = z.strictObject({ code: z.string(), message: z.string(), fix: z.string() });
export type DraftIssue = z.infer<typeof draftIssue>;

/**
 * Text of a review sealed to the seller's perimeter and the proposer (query-policies/sealed-review-note.ts):
 * the blob's reference and the hash of the salted note. The history and the API hold only these.
 */
export const sealedNote = z.strictObject({ ref: sha256Ref, hash: sha256Ref });
export type SealedNote = z.infer<typeof sealedNote>;

/** One metric's preview, in the draft's order of metrics: no name (the draft, sealed, has them). */
const metricPreview = z.strictObject({
  aggregate: z.string(),
  /** The noise scale on this metric's released sum (b, or σ), from the template alone. */
  noiseScale: z.number().nullable(),
  /** The median over the twin's groups of the bounded sum behind it: a typical value to compare. */
  typicalSum: z.number().nullable(),
});

/**
 * What the perimeter's preview returns to both parties: computed on a synthetic twin (the seller's
 * declared column domains, no real row), never on the dataset. Numbers only, no text of the draft
 * (column, metric or parameter names, its explanation): it is kept in the workflow history, which the
 * operator reads; each party explains the draft from its own copy (`tusk template explain`).
 */
export const draftPreview = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('refused'),
    revision: z.int(),
    /** Why the perimeter ran nothing: a bad signature, an unknown dataset, no declared domains, lint. */
    reason: z.string(),
    /** Empty from the perimeter since lint problems are sealed (`sealedIssues`); runs before that hold them here. */
    issues: z.array(draftIssue),
    /**
     * The lint problems (they quote the draft's identifiers), sealed by the perimeter to the seller and
     * the proposer, how many there are, and the perimeter's signature over the review, revision and note.
     */
    sealedIssues: sealedNote
      .extend({ count: z.int().min(0), perimeterSignature: ed25519Signature })
      .optional(),
  }),
  z.strictObject({
    kind: z.literal('previewed'),
    revision: z.int(),
    draftHash: sha256Ref,
    /** The twin: how many rows and units, and the hash of the declared domains it came from. */
    twin: z.strictObject({ rows: z.int(), units: z.int(), domainsHash: sha256Ref }),
    /** Groups in the twin's answer, and the most an answer may hold. */
    groups: z.int(),
    maxGroups: z.int(),
    countNoiseScale: z.number(),
    typicalCount: z.number().nullable(),
    metrics: z.array(metricPreview),
    epsilon: z.number(),
    delta: z.number(),
    /** Answers the seller's signed budgets allow at this ε: per buyer, and for all buyers together. */
    answersPerBuyer: z.int().nullable(),
    answersTotal: z.int().nullable(),
    /**
     * The seller's perimeter's signature over the rest (query-policies/draft-signature.ts): the
     * operator, who could complete the activity itself, cannot make up a preview the seller trusts.
     */
    perimeterSignature: ed25519Signature,
  }),
]);
export type DraftPreview = z.infer<typeof draftPreview>;

/** What a comment's `message` says when its text is sealed (`note`): the parties' CLIs open it. */
export const SEALED_MESSAGE = '(sealed to the proposer and the seller)';

/** What the seller signs when it answers a proposal without approving it (a decision, lib/decision-statement.ts). */
/** The text the seller writes is sealed (`note`); `message` in clear is what runs before that hold. */
const withNote = <D extends 'comment' | 'request_changes' | 'reject'>(decision: D) =>
  z
    .strictObject({
      decision: z.literal(decision),
      revision: z.int().min(1),
      note: sealedNote.optional(),
      message: z.string().min(1).max(4000).optional(),
    })
    .refine(
      (c) => (c.note === undefined) !== (c.message === undefined),
      'a decision carries its sealed note',
    );

export const reviewDecisionContent = z.discriminatedUnion('decision', [
  withNote('comment'),
  withNote('request_changes'),
  withNote('reject'),
  z.strictObject({ decision: z.literal('set_deadline'), expiresAt: z.int().positive() }),
]);
export type ReviewDecisionContent = z.infer<typeof reviewDecisionContent>;

/** The seller's approval: the template it signed (the draft with its price and allowed uses), and the signature. */
export const templateApproval = z.strictObject({
  template: draftTemplate,
  signature: z.strictObject({
    templateId: z.string(),
    templateHash: sha256Ref,
    seller: z.string(),
    publicKey: z.string(),
    signature: z.string(),
  }),
});
export type TemplateApproval = z.infer<typeof templateApproval>;

export const reviewRevision = z.strictObject({
  revision: z.int(),
  draftRef: sha256Ref,
  draftHash: sha256Ref,
  signature: ed25519Signature,
  at: z.number(),
  preview: draftPreview.optional(),
});
export type ReviewRevision = z.infer<typeof reviewRevision>;

export const reviewEvent = z.strictObject({
  at: z.number(),
  action: z.string(),
  by: z.string(),
  detail: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});

export const templateReviewStatus = z.strictObject({
  reviewId,
  sellerId: partyId,
  proposerId: partyId,
  dataset: z.string(),
  templateId: z.string(),
  stage: reviewStage,
  expiresAt: z.number(),
  /** What the seller's decisions are signed over: this run, the review and the current revision's hash. */
  scope: z.strictObject({
    workflowId: z.string(),
    runId: z.string(),
    subject: z.strictObject({ id: z.string(), termsHash: z.string() }),
  }),
  /** Every revision, the first included, kept as signed, each with its preview once it ran. */
  revisions: z.array(reviewRevision),
  comments: z.array(
    z.strictObject({
      at: z.number(),
      by: z.string(),
      revision: z.int(),
      kind: z.string(),
      /** `SEALED_MESSAGE` for a sealed note; the text itself in runs from before notes were sealed. */
      message: z.string(),
      note: sealedNote.optional(),
    }),
  ),
  /** Once approved: the hash of the template the seller signed, which the catalog and deals pin. */
  approvedTemplateHash: sha256Ref.optional(),
  audit: z.array(reviewEvent),
});
export type TemplateReviewStatus = z.infer<typeof templateReviewStatus>;
