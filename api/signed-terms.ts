import type { Party } from '../lib/parties';
import {
  termsBodyOf,
  termsSignatureValid,
  type SignedTerms,
  type TermsBody,
  type TermsKind,
} from '../lib/signed-terms';
import { ApiError } from './errors';

/**
 * The caller's signed terms: the request body it sent, under the key the registry holds for it.
 * Built from the request itself, so the terms the workflow carries are exactly what was asked.
 */
export function signedTermsOf(
  party: Party,
  kind: TermsKind,
  { termsSignature, ...body }: TermsBody & { termsSignature: string },
): SignedTerms {
  const terms: SignedTerms = {
    kind,
    signer: party.id,
    publicKey: party.publicKey,
    body: termsBodyOf(body),
    signature: termsSignature,
  };
  if (!termsSignatureValid(terms))
    throw new ApiError(
      'terms_signature_invalid',
      `termsSignature is not ${party.id}'s signature of these ${kind} terms (see lib/signed-terms.ts)`,
    );
  return terms;
}
