import { z } from 'zod';
import { canonicalHash } from '../lib/canonical-json';
import { signEd25519, verifyEd25519, publicKeyOf } from '../lib/ed25519';
import type { QueryTemplate } from './template';

export const templateSignature = z.strictObject({
  templateId: z.string(),
  templateHash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  seller: z.string(),
  publicKey: z.string(),
  signature: z.string(),
});
export type TemplateSignature = z.infer<typeof templateSignature>;

/** The hash a deal pins: sha256 over the canonical JSON of the whole template. */
export function templateHash(template: QueryTemplate): string {
  return canonicalHash(template);
}

function signedMessage(hash: string): string {
  return `tusk template v1\n${hash}`;
}

export function signTemplate(template: QueryTemplate, sellerPrivateKeyPem: string): TemplateSignature {
  const hash = templateHash(template);
  return {
    templateId: template.id,
    templateHash: hash,
    seller: template.seller,
    publicKey: publicKeyOf(sellerPrivateKeyPem),
    signature: signEd25519(sellerPrivateKeyPem, signedMessage(hash)),
  };
}

export type SignatureCheck = { ok: true; hash: string } | { ok: false; reason: string };

/**
 * Checks a template against its signature and the key the checker trusts for its seller. The public
 * key inside the signature file is informative only: trusting it would let anyone re-sign.
 */
export function checkTemplateSignature(
  template: QueryTemplate,
  signature: TemplateSignature,
  trustedSellerKey: string,
): SignatureCheck {
  const hash = templateHash(template);
  if (signature.templateId !== template.id)
    return { ok: false, reason: 'the signature is for another template' };
  if (signature.templateHash !== hash) {
    return {
      ok: false,
      reason: `the template changed after signing (now ${hash}, signed ${signature.templateHash})`,
    };
  }
  if (!verifyEd25519(trustedSellerKey, signedMessage(hash), signature.signature)) {
    return { ok: false, reason: `the signature does not verify with seller ${template.seller}'s key` };
  }
  return { ok: true, hash };
}
