import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { canonicalHash, canonicalJson, sha256Ref } from './canonical-json';
import { publicKeyOf, signEd25519, verifyEd25519 } from './ed25519';
import { TERMS_KINDS, type SignedTerms, type TermsBody, type TermsKind } from './terms-envelope';
// The one description of a milestone check (pure zod): the terms a sponsor signs hold it as asked.
import { requestedMilestoneCheck } from '../workflows/grant/shapes';

export { TERMS_KINDS, type SignedTerms, type TermsBody, type TermsKind } from './terms-envelope';

export const TERMS_SIGNATURE_FIELD = 'termsSignature';

/** The exact bytes signed: a domain tag, then the canonical JSON of everything but the signature. */
export function termsMessage(terms: Omit<SignedTerms, 'signature'>): string {
  const { kind, signer, publicKey, body } = terms;
  return `tusk terms v1\n${canonicalJson({ kind, signer, publicKey, body })}`;
}

/**
 * What is signed of a create request: its body, with the buyer's X25519 result key replaced by its
 * blob reference (which names exactly that key), so workflow histories carry no key.
 */
export function termsBodyOf(requestBody: TermsBody): TermsBody {
  const { buyerPublicKey, ...rest } = requestBody;
  return typeof buyerPublicKey === 'string'
    ? { ...rest, resultKeyRef: x25519KeyRef(buyerPublicKey) }
    : requestBody;
}

/** Signs a create request's body (without `termsSignature`) as terms of this kind. */
export function signTerms(
  kind: TermsKind,
  signer: string,
  requestBody: TermsBody,
  privateKeyPem: string,
): SignedTerms {
  const unsigned = { kind, signer, publicKey: publicKeyOf(privateKeyPem), body: termsBodyOf(requestBody) };
  return { ...unsigned, signature: signEd25519(privateKeyPem, termsMessage(unsigned)) };
}

/** True only when the signature verifies under the key the terms name; never throws. */
export function termsSignatureValid(terms: SignedTerms): boolean {
  try {
    return verifyEd25519(terms.publicKey, termsMessage(terms), terms.signature);
  } catch {
    return false;
  }
}

/**
 * The identity a perimeter charges privacy budgets to: the verified key itself. The seller has no
 * registry of its own, and a party id reaches it only through Temporal, so the key is the one
 * identity the operator can neither make up nor move onto someone else's budget.
 */
export const budgetKeyOf = (publicKey: string) => `ed25519:${publicKey}`;

/** The blob reference of a buyer's X25519 result key, as the API stores it (content-addressed). */
export function x25519KeyDocument(publicKey: string): Buffer {
  return Buffer.from(canonicalJson({ kind: 'x25519', publicKey }));
}
export const x25519KeyRef = (publicKey: string) => sha256Ref(x25519KeyDocument(publicKey));

/** The shape every signed terms envelope has, for anything that receives one over Temporal. */
export const signedTermsSchema = z.object({
  kind: z.enum(TERMS_KINDS),
  signer: z.string(),
  publicKey: z.string(),
  body: z.record(z.string(), z.unknown()),
  signature: z.string(),
});

const parameters = z.record(z.string(), z.union([z.string(), z.number()]));
const compliance = z.object({
  jurisdiction: z.string(),
  purpose: z.string(),
  acceptedDataClasses: z.array(z.string()),
});
const templateRef = {
  templateId: z.string(),
  sellerId: z.string().optional(),
  templateHash: z.string(),
  parameters,
};

/**
 * What the payer signs about money, beside what the perimeter reads. Optional here so that a perimeter
 * reading older terms keeps working; settlement (activities/settlement/signed-payment.ts) requires
 * them through `paymentTermsBodies` and moves nothing the payer did not sign.
 */
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
export const termsNonce = z.string().regex(NONCE, '16 to 64 base64url characters');
const money = {
  feeBps: z.number().int().min(0).max(10_000).optional(),
  /** Until when (ISO time) the payer's money may be locked under these terms. */
  notAfter: z.iso.datetime({ offset: true }).optional(),
  /** Fresh per signing: names the escrow, so the same id signed again is another escrow. */
  nonce: termsNonce.optional(),
};
/**
 * How long after delivery the buyer has to confirm or dispute before the deal confirms itself. Signed,
 * so the operator cannot shorten it: settlement pays a deal the buyer did not confirm only once this
 * much time has passed since settlement recorded the delivery.
 */
const acceptanceWindowSeconds = z
  .number()
  .int()
  .min(1)
  .max(365 * 24 * 60 * 60);

/** What a perimeter reads from each kind of signed body; the API's schemas are stricter. */
export const termsBodies = {
  cohort_query: z.object({
    dealId: z.string(),
    ...templateRef,
    ...money,
    price: z.string(),
    resultKeyRef: z.string(),
    compliance,
    privateSelection: z.object({ heKeyRef: z.string(), selectionRefs: z.array(z.string()) }).optional(),
    acceptanceWindowSeconds: acceptanceWindowSeconds.optional(),
  }),
  multi_seller: z.object({
    dealId: z.string(),
    templateId: z.string(),
    sellers: z.array(
      z.object({ sellerId: z.string(), templateHash: z.string(), price: z.string().optional() }),
    ),
    parameters,
    ...money,
    price: z.string(),
    heKeyRef: z.string(),
    compliance,
    acceptanceWindowSeconds: acceptanceWindowSeconds.optional(),
  }),
  subscription: z.object({
    subscriptionId: z.string(),
    queries: z.array(z.object(templateRef)),
    pricePerPeriod: z.string(),
    periodSeconds: z.number().optional(),
    /** How many periods the subscriber agrees to pay at most. */
    periods: z.number().int().min(1).optional(),
    ...money,
    resultKeyRef: z.string(),
    compliance,
  }),
  grant: z.object({
    grantId: z.string(),
    granteeId: z.string().optional(),
    /** The sum of the milestones' amounts: what the sponsor locks. */
    total: z.string().optional(),
    ...money,
    milestones: z.array(
      z.object({
        milestoneId: z.string(),
        amount: z.string().optional(),
        deadline: z.string().optional(),
        check: requestedMilestoneCheck,
      }),
    ),
  }),
} as const satisfies Record<TermsKind, z.ZodType>;

export type TermsBodyOf<K extends TermsKind> = z.infer<(typeof termsBodies)[K]>;

const units = z.string().regex(/^[0-9]{1,31}$/);
const signedMoney = {
  feeBps: z.number().int().min(0).max(10_000),
  nonce: termsNonce,
};
/** The money a payer's terms must state before settlement moves any of it: required, not optional. */
export const paymentTermsBodies = {
  cohort_query: termsBodies.cohort_query.extend({
    ...signedMoney,
    sellerId: z.string(),
    price: units,
    notAfter: z.iso.datetime({ offset: true }),
    // Optional here so escrows locked before it was signed can still be paid or refunded; settlement
    // locks nothing new without it.
    acceptanceWindowSeconds: acceptanceWindowSeconds.optional(),
  }),
  multi_seller: termsBodies.multi_seller.extend({
    ...signedMoney,
    sellers: z.array(z.object({ sellerId: z.string(), templateHash: z.string(), price: units })).min(1),
    price: units,
    notAfter: z.iso.datetime({ offset: true }),
    // Optional here so escrows locked before it was signed can still be paid or refunded; settlement
    // locks nothing new without it.
    acceptanceWindowSeconds: acceptanceWindowSeconds.optional(),
  }),
  subscription: termsBodies.subscription.extend({
    ...signedMoney,
    pricePerPeriod: units,
    periodSeconds: z.number().int().min(1),
    periods: z.number().int().min(1),
    notAfter: z.iso.datetime({ offset: true }),
  }),
  grant: termsBodies.grant.extend({
    ...signedMoney,
    granteeId: z.string(),
    total: units,
    milestones: z
      .array(
        z.object({
          milestoneId: z.string(),
          amount: units,
          deadline: z.string(),
          check: termsBodies.grant.shape.milestones.element.shape.check,
        }),
      )
      .min(1),
  }),
} as const satisfies Record<TermsKind, z.ZodType>;
export type PaymentTermsOf<K extends TermsKind> = z.infer<(typeof paymentTermsBodies)[K]>;

/** The platform fee when the operator sets none (TUSK_FEE_BPS): what a client signs unless told. */
export const DEFAULT_FEE_BPS = 250;

/** Same value, whatever the key order: how terms are compared with what reached an activity. */
export const sameJson = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * The hash that names one set of signed terms, for decisions bound to them. The signature is hashed
 * too: without the signer's key it cannot be computed, so a hash shown to an auditor cannot be
 * matched against guessed parties and amounts.
 */
export const termsHashOf = (terms: SignedTerms): string =>
  canonicalHash({
    kind: terms.kind,
    signer: terms.signer,
    publicKey: terms.publicKey,
    body: terms.body,
    signature: terms.signature,
  });

/** How long terms a client signs stay lockable unless it says otherwise. */
export const DEFAULT_TERMS_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** How many periods a subscription's terms allow unless the subscriber says otherwise. */
export const DEFAULT_SUBSCRIPTION_PERIODS = 12;
/** A deal's acceptance window unless the buyer (or the operator's catalog) says otherwise: 72 hours. */
export const DEFAULT_ACCEPTANCE_WINDOW_SECONDS = 72 * 60 * 60;

/**
 * A create request's body with the money fields a client fills in when its caller left them out: a
 * fresh nonce, the fee it was told, an expiry, a grant's total, a subscription's number of periods and
 * a deal's acceptance window.
 * What the caller gave is kept: these are defaults, signed like everything else.
 */
export function withSignedMoney<B extends TermsBody>(
  kind: TermsKind,
  body: B,
  options: { feeBps?: number; now?: number; acceptanceWindowSeconds?: number } = {},
): B & TermsBody {
  const filled: TermsBody = {
    nonce: randomBytes(16).toString('base64url'),
    feeBps: options.feeBps ?? DEFAULT_FEE_BPS,
  };
  if (kind !== 'grant')
    filled.notAfter = new Date((options.now ?? Date.now()) + DEFAULT_TERMS_LIFETIME_MS).toISOString();
  if (kind === 'subscription') filled.periods = DEFAULT_SUBSCRIPTION_PERIODS;
  if (kind === 'cohort_query' || kind === 'multi_seller')
    filled.acceptanceWindowSeconds = options.acceptanceWindowSeconds ?? DEFAULT_ACCEPTANCE_WINDOW_SECONDS;
  if (kind === 'grant' && Array.isArray(body.milestones))
    filled.total = (body.milestones as { amount?: unknown }[])
      .reduce(
        (sum, m) =>
          sum + (typeof m.amount === 'string' && /^[0-9]{1,31}$/.test(m.amount) ? BigInt(m.amount) : 0n),
        0n,
      )
      .toString();
  return { ...filled, ...body };
}
