// What signed terms are, apart from how they are signed and what each kind's body holds
// (./signed-terms.ts): a capability's shapes name it without importing the bodies that name them.

/**
 * Terms a buyer (or sponsor) signs: the body of its create request, as sent, under its own Ed25519
 * key. The API checks the signature against the party registry; the workflow carries the signed
 * terms to every perimeter, which verifies them again against the key they name, so an operator who
 * starts a workflow itself cannot make a perimeter answer terms nobody signed.
 */
export const TERMS_KINDS = ['cohort_query', 'multi_seller', 'subscription', 'grant'] as const;
export type TermsKind = (typeof TERMS_KINDS)[number];

export type TermsBody = Record<string, unknown>;

export interface SignedTerms {
  kind: TermsKind;
  /** The party id the signer gave; the API checks it against the registry. */
  signer: string;
  /** base64url raw Ed25519 public key: the signer's identity as far as a perimeter is concerned. */
  publicKey: string;
  /** The create request's body without its signature (see `termsBodyOf`). */
  body: TermsBody;
  /** base64url Ed25519 signature over `termsMessage`. */
  signature: string;
}
