import { canonicalHash } from '../lib/canonical-json';
import { signEd25519, verifyEd25519 } from '../lib/ed25519';
import type { DraftPreview, SignedDraft } from '../workflows/template-review/shapes';
import type { QueryTemplate } from './template';

export interface DraftToSign {
  reviewId: string;
  revision: number;
  proposer: string;
  draft: QueryTemplate;
  /**
   * The proposer's X25519 key (base64url): the perimeter seals a refused preview's lint problems to
   * it, the seller its comments. Under the proposer's signature, so the operator cannot swap in its own.
   */
  replyKey?: string;
}

/** What a proposer's signature covers: one revision of one review's draft (and reply key), by that proposer. */
export const draftHashOf = ({ reviewId, revision, proposer, draft, replyKey }: DraftToSign): string =>
  canonicalHash({ reviewId, revision, proposer, draft, ...(replyKey === undefined ? {} : { replyKey }) });

const signedMessage = (hash: string) => `tusk template draft v1\n${hash}`;

/** The proposer's signature over one revision's draft: what travels in clear instead of the draft. */
export function signDraft(
  draft: DraftToSign,
  privateKeyPem: string,
): { draftHash: string; signature: string } {
  const draftHash = draftHashOf(draft);
  return { draftHash, signature: signEd25519(privateKeyPem, signedMessage(draftHash)) };
}

/**
 * Why this signature over a draft's hash is not its proposer's under `publicKey`, or undefined: what
 * the API can check without the draft, which it never sees.
 */
export function draftHashSignatureProblem(
  signed: Pick<SignedDraft, 'draftHash' | 'signature' | 'proposer'>,
  publicKey: string,
): string | undefined {
  return verifyEd25519(publicKey, signedMessage(signed.draftHash), signed.signature)
    ? undefined
    : `the draft is not signed by ${signed.proposer}'s registered key`;
}

/**
 * Why an opened draft is not the one its proposer signed in `signed` under `publicKey`, or undefined:
 * its hash must be the signed hash, and it must name the review, revision, proposer, seller, dataset
 * and template id the workflow routes it by.
 */
export function draftSignatureProblem(
  opened: DraftToSign,
  signed: SignedDraft,
  publicKey: string,
): string | undefined {
  const hash = draftHashOf(opened);
  if (hash !== signed.draftHash)
    return `the sealed draft is not the signed one (its hash is ${hash}, the proposer signed ${signed.draftHash})`;
  const mismatch = (
    [
      ['review', opened.reviewId, signed.reviewId],
      ['revision', opened.revision, signed.revision],
      ['proposer', opened.proposer, signed.proposer],
      ['seller', opened.draft.seller, signed.seller],
      ['dataset', opened.draft.dataset, signed.dataset],
      ['template id', opened.draft.id, signed.templateId],
    ] as const
  ).find(([, inDraft, routed]) => inDraft !== routed);
  if (mismatch) return `the sealed draft names ${mismatch[0]} ${mismatch[1]}, not ${mismatch[2]}`;
  return draftHashSignatureProblem(signed, publicKey);
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

/** What the perimeter signs of a refused preview's sealed lint problems: this review and revision, this note. */
export interface SealedIssuesToSign {
  reviewId: string;
  revision: number;
  ref: string;
  hash: string;
  count: number;
}
const sealedIssuesMessage = (sealed: SealedIssuesToSign) => `tusk draft lint v1\n${canonicalHash(sealed)}`;

export function signSealedIssues(sealed: SealedIssuesToSign, perimeterKeyPem: string): string {
  return signEd25519(perimeterKeyPem, sealedIssuesMessage(sealed));
}

/** Why these sealed lint problems are not what the seller's perimeter signed under `perimeterKey`, or undefined. */
export function sealedIssuesSignatureProblem(
  sealed: SealedIssuesToSign,
  signature: string,
  perimeterKey: string,
): string | undefined {
  return verifyEd25519(perimeterKey, sealedIssuesMessage(sealed), signature)
    ? undefined
    : "the lint problems are not signed by the seller's perimeter key";
}

/** Why this preview is not what the seller's perimeter signed under `perimeterKey`, or undefined. */
export function previewSignatureProblem(preview: Previewed, perimeterKey: string): string | undefined {
  const { perimeterSignature, ...rest } = preview;
  return verifyEd25519(perimeterKey, previewMessage(rest), perimeterSignature)
    ? undefined
    : "the preview is not signed by the seller's perimeter key";
}
