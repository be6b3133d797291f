import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { canonicalHash } from '../../lib/canonical-json';
import { generateEd25519KeyPair, publicKeyOf } from '../../lib/ed25519';
import { signReleaseStatement, termsHashOf, type ReleaseStatement } from '../../lib/release-statement';
import { signedTermsSchema } from '../../lib/signed-terms';
import { readTrustedDatasetPolicy } from '../../query-policies/dataset-policy-file';
import { noisePlan } from '../../query-policies/noise-plan';
import type { QueryTemplate } from '../../query-policies/template';

export const PERIMETER_KEY_FILE = 'perimeter-signing.ed25519.pem';

export interface PerimeterKey {
  publicKey: string;
  privateKeyPem: string;
}

/**
 * The perimeter's own signing key, in its state directory: made on first start ('wx', so two starts
 * keep one key). Its public key is what the operator registers as the seller's perimeter key.
 */
export async function loadPerimeterKey(stateDir: string): Promise<PerimeterKey> {
  const path = join(stateDir, PERIMETER_KEY_FILE);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, generateEd25519KeyPair().privateKeyPem, { mode: 0o600, flag: 'wx' }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    },
  );
  const privateKeyPem = await readFile(path, 'utf8');
  return { publicKey: publicKeyOf(privateKeyPem), privateKeyPem };
}

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
