import { canonicalHash } from '../../lib/canonical-json';
import { type PerimeterKey } from '../../lib/perimeter-key';
import {
  signReleaseStatement,
  termsHashOf,
  type ReleaseKind,
  type ReleaseStatement,
  type VerdictSubject,
} from '../../lib/release-statement';
import { signedTermsSchema } from '../../lib/signed-terms';
import { readTrustedDatasetPolicy } from '../../query-policies/dataset-policy-file';
import { noisePlan } from '../../query-policies/noise-plan';
import type { QueryTemplate } from '../../query-policies/template';

export { loadPerimeterKey, type PerimeterKey } from '../../lib/perimeter-key';

export interface ReleaseSigner {
  sellerId: string;
  sellerPublicKey: string;
  policiesDir: string;
  key: PerimeterKey;
}

export interface ReleaseToSign {
  kind: ReleaseKind;
  dealId: string;
  terms: unknown;
  commitment: string;
  epsilonSpent: number;
  /** δ charged, when it is not the template's answer δ (a milestone run charges ε only). */
  deltaCharged?: number;
  template: QueryTemplate;
  subject?: VerdictSubject;
}

/** The statement of one release: its kind, the deal, its terms, the commitment, the charge, the policy. */
export async function signRelease(seller: ReleaseSigner, release: ReleaseToSign): Promise<ReleaseStatement> {
  const policy = await readTrustedDatasetPolicy(seller.policiesDir, seller.sellerId, seller.sellerPublicKey);
  const charged = release.epsilonSpent > 0;
  return signReleaseStatement(
    {
      type: 'tusk.release/v1',
      kind: release.kind,
      sellerId: seller.sellerId,
      dealId: release.dealId,
      ...(release.subject ? { subject: release.subject } : {}),
      // The terms were verified before anything ran: here they are only named.
      termsHash: termsHashOf(signedTermsSchema.parse(release.terms)),
      commitment: release.commitment,
      epsilonCharged: release.epsilonSpent,
      deltaCharged: release.deltaCharged ?? (charged ? noisePlan(release.template).delta : 0),
      datasetPolicy: { version: policy.version, hash: canonicalHash(policy) },
    },
    seller.key,
  );
}

/** The kind of a query's release: a subscription's run is a delivery, otherwise a sealed table. */
export const tableReleaseKind = (terms: { kind: string }): ReleaseKind =>
  terms.kind === 'subscription' ? 'subscription_delivery' : 'sealed_table';
