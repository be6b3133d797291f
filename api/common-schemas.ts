import { z } from 'zod';
import { disclosableField } from '../workflows/disclosure/shapes';
import { x25519PublicKeyProblem } from '../lib/x25519-public';

/** Chosen by the caller (a UUID is ideal): a retried request with the same id starts nothing twice. */
export const businessId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,99}$/, '3 to 100 letters, digits, dots, dashes, underscores');

export const templateHash = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits>');
export const amount = z
  .string()
  .regex(/^[1-9][0-9]{0,30}$/, 'a positive whole number of smallest units, as a string');
export const x25519PublicKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url X25519 public key (43 characters)')
  .superRefine((key, context) => {
    const problem = x25519PublicKeyProblem(key);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });
/** Template parameters by name; a `__proto__` name is refused (a record would drop it silently). */
export const parameterValues = z.record(
  z.string().refine((name) => name !== '__proto__', 'a parameter may not be named __proto__'),
  z.union([z.string().max(200), z.number()]),
);
/** The caller's Ed25519 signature (base64url) over its request body as terms: see lib/signed-terms. */
export const termsSignature = z
  .string()
  .regex(/^[A-Za-z0-9_-]{86}$/, 'a base64url Ed25519 signature (86 characters)');
/** The money every payer signs beside its price (see lib/signed-terms.ts, `paymentTermsBodies`). */
export const signedFee = z.int().min(0).max(10_000);
/** Until when the payer's money may be locked under these terms. */
export const notAfter = z.iso.datetime({ offset: true });
/** Fresh per signing (16 to 64 base64url characters): names the escrow. */
export const termsNonce = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, '16 to 64 base64url characters');
export const partyId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a registered party id');
/**
 * The seller whose copy of a template is bought. Needed when several sellers offer the template id;
 * when given, the perimeter checks it is itself (it is part of the signed terms).
 */
export const sellerChoice = partyId.optional();

/** Evidence is a document the party writes (text, up to 32 KB); it is kept in the blob store. */
export const evidenceBody = z.strictObject({
  evidence: z
    .string()
    .min(1)
    .max(32 * 1024),
});

/** The reason is left out for auditors and compliance: it can quote parties and amounts. */
export const problem = z.object({ code: z.string(), reason: z.string().optional() });
/** What the redaction rule (api/redaction.ts) took out of a resource for this caller. */
export const hiddenFields = z.array(disclosableField).optional();

export { auditEvent } from '../workflows/audit-event';

/**
 * A principal's Ed25519 signature (base64url) over a decision statement bound to one workflow run,
 * made with lib/signed-decision.ts: the workflow counts it only once the coordinator verified it.
 */
export const decisionSignature = z
  .string()
  .regex(/^[A-Za-z0-9_-]{86}$/, 'a base64url Ed25519 signature (86 characters)');

/**
 * Evidence with its submitter's signature over its blob reference (sha256 of its UTF-8 bytes) on the
 * workflow's run (lib/signed-decision.ts): the expiry and the signature.
 */
export const signedEvidenceBody = evidenceBody.extend({
  notAfter: z.int().positive(),
  signature: decisionSignature,
});

export { vote } from '../workflows/approvals';

export const accepted = z.object({ accepted: z.literal(true) });

/** The buyer's declared use of the answers; the template says what it allows. */
export const dealCompliance = z.strictObject({
  jurisdiction: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 two-letter code'),
  purpose: z.string().min(1).max(60),
  acceptedDataClasses: z.array(z.string().min(1).max(60)).max(20),
});
