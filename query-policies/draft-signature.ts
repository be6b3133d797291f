import { canonicalHash } from '../lib/canonical-json';
import { signEd25519, verifyEd25519 } from '../lib/ed25519';
import type { DraftPreview, SignedDraft } from '../workflows/template-review/shapes';
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

type Previewed = Extract<DraftPreview, { kind: 'previewed' }>;
const previewMessage = (preview: Omit<Previewed, 'perimeterSignature'>) =>
  `tusk draft preview v1\n${canonicalHash(preview)}`;

/** The perimeter signs its preview with its own key, as it signs what it releases. */
export function signPreview(
  preview: Omit<Previewed, 'perimeterSignature'>,
  perimeterKeyPem: string,
): Previewed {
  return { ...preview, perimeterSignature: signEd25519(perimeterKeyPem, previewMessage(preview)) };
}

/** Why this preview is not what the seller's perimeter signed under `perimeterKey`, or undefined. */
export function previewSignatureProblem(preview: Previewed, perimeterKey: string): string | undefined {
  const { perimeterSignature, ...rest } = preview;
  return verifyEd25519(perimeterKey, previewMessage(rest), perimeterSignature)
    ? undefined
    : "the preview is not signed by the seller's perimeter key";
}
