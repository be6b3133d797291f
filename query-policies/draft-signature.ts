import { canonicalHash } from '../lib/canonical-json';
import { signEd25519, verifyEd25519 } from '../lib/ed25519';
import type { SignedDraft } from '../workflows/template-review/shapes';
import type { QueryTemplate } from './template';

export interface DraftToSign {
  reviewId: string;
  revision: number;
  proposer: string;
  draft: QueryTemplate;
}

/** What a proposer's signature covers: one revision of one review's draft, by that proposer. */
export const draftHashOf = ({ reviewId, revision, proposer, draft }: DraftToSign): string =>
  canonicalHash({ reviewId, revision, proposer, draft });

const signedMessage = (hash: string) => `tusk template draft v1\n${hash}`;

export function signDraft(draft: DraftToSign, privateKeyPem: string): SignedDraft {
  const draftHash = draftHashOf(draft);
  return { ...draft, draftHash, signature: signEd25519(privateKeyPem, signedMessage(draftHash)) };
}

/** Why this signed draft is not its proposer's under `publicKey`, or undefined when it is. */
export function draftSignatureProblem(signed: SignedDraft, publicKey: string): string | undefined {
  const hash = draftHashOf(signed);
  if (hash !== signed.draftHash)
    return `the draft changed after signing (now ${hash}, signed ${signed.draftHash})`;
  if (!verifyEd25519(publicKey, signedMessage(hash), signed.signature))
    return `the draft is not signed by ${signed.proposer}'s registered key`;
  return undefined;
}
