import { canonicalHash } from '../../lib/canonical-json';
import { loadOrMakeSigningKey, perimeterKeyFile } from '../../lib/key-log';
import { signReleaseStatement, termsHashOf, type ReleaseStatement } from '../../lib/release-statement';
import { signedTermsSchema } from '../../lib/signed-terms';
import { readTrustedDatasetPolicy } from '../../query-policies/dataset-policy-file';
import { noisePlan } from '../../query-policies/noise-plan';
import type { QueryTemplate } from '../../query-policies/template';

export interface PerimeterKey {
  publicKey: string;
  privateKeyPem: string;
}

/**
 * The perimeter's own signing key, in its state directory: made on first start (two starts keep one
 * key). Its public key is what the operator registers as the seller's perimeter key.
 */
export const loadPerimeterKey = (stateDir: string): Promise<PerimeterKey> =>
  loadOrMakeSigningKey(perimeterKeyFile(stateDir));

/** The statement of one sealed release: the deal, its terms, the commitment, the charge, the policy. */
export async function signRelease(
  seller: { sellerId: string; sellerPublicKey: string; policiesDir: string; key: PerimeterKey },
  release: {
    dealId: string;
    terms: unknown;
    commitment: string;
    epsilonSpent: number;
    template: QueryTemplate;
  },
): Promise<ReleaseStatement> {
  const policy = await readTrustedDatasetPolicy(seller.policiesDir, seller.sellerId, seller.sellerPublicKey);
  const charged = release.epsilonSpent > 0;
  return signReleaseStatement(
    {
      type: 'tusk.release/v1',
      sellerId: seller.sellerId,
      dealId: release.dealId,
      // The terms were verified before anything ran: here they are only named.
      termsHash: termsHashOf(signedTermsSchema.parse(release.terms)),
      commitment: release.commitment,
      epsilonCharged: release.epsilonSpent,
      deltaCharged: charged ? noisePlan(release.template).delta : 0,
      datasetPolicy: { version: policy.version, hash: canonicalHash(policy) },
    },
    seller.key,
  );
}
