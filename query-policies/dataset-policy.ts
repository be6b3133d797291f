import { z } from 'zod';
import { canonicalHash } from '../lib/canonical-json';
import { signEd25519, verifyEd25519, publicKeyOf } from '../lib/ed25519';
import { identifier } from './template';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');

/** An (ε, δ) budget. δ must stay well below 1/n for any dataset of n people. A total across all
 * buyers may be large (the demo seller allows ε = 200 per 30 days); what one answer may cost is
 * bounded by the template schema. */
export const budgetSpec = z.strictObject({
  epsilon: z.number().positive().max(1000),
  delta: z.number().min(0).max(1e-3),
});

/**
 * The seller's own limits for one dataset, per window: what all buyers together may spend (a privacy
 * filter, Rogers et al. 2016), and what any one buyer may spend. Set here, in the perimeter's own
 * signed configuration, never by a template, so neither a new buyer identity nor a generous
 * template buys more.
 */
export const datasetBudget = z
  .strictObject({
    windowDays: z.int().min(1).max(3660),
    total: budgetSpec,
    perBuyer: budgetSpec,
  })
  .refine((b) => b.perBuyer.epsilon <= b.total.epsilon && b.perBuyer.delta <= b.total.delta, {
    message: 'a buyer cannot be allowed more than all buyers together',
  });
export type DatasetBudget = z.infer<typeof datasetBudget>;

export const datasetPolicy = z.strictObject({
  seller: slug,
  version: z.int().min(1),
  datasets: z.record(identifier, datasetBudget),
});
export type DatasetPolicy = z.infer<typeof datasetPolicy>;

export const datasetPolicySignature = z.strictObject({
  seller: z.string(),
  policyHash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  publicKey: z.string(),
  signature: z.string(),
});
export type DatasetPolicySignature = z.infer<typeof datasetPolicySignature>;

const signedMessage = (hash: string) => `tusk dataset policy v1\n${hash}`;

export function signDatasetPolicy(
  policy: DatasetPolicy,
  sellerPrivateKeyPem: string,
): DatasetPolicySignature {
  const policyHash = canonicalHash(policy);
  return {
    seller: policy.seller,
    policyHash,
    publicKey: publicKeyOf(sellerPrivateKeyPem),
    signature: signEd25519(sellerPrivateKeyPem, signedMessage(policyHash)),
  };
}

/** Checked against the key the perimeter trusts for its seller, never the key inside the file. */
export function checkDatasetPolicySignature(
  policy: DatasetPolicy,
  signature: DatasetPolicySignature,
  trustedSellerKey: string,
): { ok: true; hash: string } | { ok: false; reason: string } {
  const hash = canonicalHash(policy);
  if (signature.policyHash !== hash)
    return {
      ok: false,
      reason: `the policy changed after signing (now ${hash}, signed ${signature.policyHash})`,
    };
  if (!verifyEd25519(trustedSellerKey, signedMessage(hash), signature.signature))
    return { ok: false, reason: `the signature does not verify with seller ${policy.seller}'s key` };
  return { ok: true, hash };
}
