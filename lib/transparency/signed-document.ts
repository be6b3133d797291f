import { z } from 'zod';
import { canonicalJson } from '../canonical-json';
import { verifyEd25519 } from '../ed25519';
import type { OperatorSigner } from './operator-key';

/**
 * A document the operator signed: Ed25519 over the RFC 8785 canonical JSON of `body`, so a verifier in
 * any language with a JCS library and Ed25519 checks it without Tusk's code. Every body names its own
 * type and version (`tusk.receipt/v1`, ...), so a signature over one kind is never valid as another.
 */
export const operatorSignature = z.strictObject({
  algorithm: z.literal('Ed25519'),
  /** base64url raw public key of the operator's signing key. */
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  /** base64url signature over canonicalJson(body). */
  value: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});
export type OperatorSignature = z.infer<typeof operatorSignature>;

export interface Signed<T> {
  body: T;
  signature: OperatorSignature;
}

export function signDocument<T extends { type: string }>(signer: OperatorSigner, body: T): Signed<T> {
  return {
    body,
    signature: { algorithm: 'Ed25519', publicKey: signer.publicKey, value: signer.sign(canonicalJson(body)) },
  };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Checks the signature, and that it was made by `operatorPublicKey` when one is pinned. */
export function checkDocumentSignature(
  document: Signed<unknown>,
  operatorPublicKey?: string,
): SignatureCheck {
  const { signature } = document;
  if (operatorPublicKey && signature.publicKey !== operatorPublicKey)
    return {
      ok: false,
      reason: `signed by key ${signature.publicKey}, not the operator's pinned key ${operatorPublicKey}`,
    };
  if (!verifyEd25519(signature.publicKey, canonicalJson(document.body), signature.value))
    return { ok: false, reason: 'the signature does not match the document (changed after signing?)' };
  return { ok: true };
}

export const signedOf = <T extends z.ZodType>(body: T) =>
  z.strictObject({ body, signature: operatorSignature });
