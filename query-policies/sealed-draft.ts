import { z } from 'zod';
import { open, seal, SealedBoxError } from '../lib/sealed-box';
import type { DraftToSign } from './draft-signature';
import type { QueryTemplate } from './template';

/**
 * A proposed draft (its SQL, parameters, metrics, declared use) as it travels: sealed to the seller's
 * perimeter (its registered `perimeter-sealing` key) and to the proposer's own X25519 key, stored in
 * the blob store. Temporal and the API hold only the blob's reference and the draft's hash, which the
 * proposer signs (draft-signature.ts): the operator never reads query text the seller has not published.
 */
const sealedDraftFile = z.strictObject({
  type: z.literal('tusk.sealed-draft/v1'),
  /** base64url sealed boxes of the same plaintext, one per reader. */
  perimeter: z.string().min(1),
  proposer: z.string().min(1).optional(),
});

export type DraftReader = 'perimeter' | 'proposer';

export class SealedDraftError extends Error {
  override name = 'SealedDraftError';
}

/** The box's authenticated context: a box sealed for one review cannot be passed off as another's. */
const boxContext = (reviewId: string) => `tusk template draft v1 ${reviewId}`;

export async function sealDraft(
  draft: DraftToSign,
  keys: { perimeter: string; proposer?: string },
): Promise<Buffer> {
  const plaintext = Buffer.from(JSON.stringify(draft));
  const box = async (key: string) =>
    (await seal(plaintext, key, boxContext(draft.reviewId))).toString('base64url');
  const file: z.infer<typeof sealedDraftFile> = {
    type: 'tusk.sealed-draft/v1',
    perimeter: await box(keys.perimeter),
    ...(keys.proposer ? { proposer: await box(keys.proposer) } : {}),
  };
  return Buffer.from(JSON.stringify(file));
}

/**
 * Opens a sealed draft with one reader's X25519 private key. What it returns is only what the box
 * held: the caller checks its hash and its proposer's signature (draftSignatureProblem).
 */
export async function openSealedDraft(
  bytes: Uint8Array,
  reader: DraftReader,
  privateKeyPem: string,
  reviewId: string,
): Promise<DraftToSign> {
  let file: z.infer<typeof sealedDraftFile>;
  try {
    file = sealedDraftFile.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch {
    throw new SealedDraftError('the blob is not a sealed draft');
  }
  const box = file[reader];
  if (!box) throw new SealedDraftError(`the draft is not sealed to its ${reader}`);
  let plaintext: Buffer;
  try {
    plaintext = await open(Buffer.from(box, 'base64url'), privateKeyPem, boxContext(reviewId));
  } catch (error) {
    if (error instanceof SealedBoxError)
      throw new SealedDraftError(`the draft does not open for review ${reviewId} with this ${reader} key`);
    throw error;
  }
  const parsed = z
    .strictObject({
      reviewId: z.string(),
      revision: z.int(),
      proposer: z.string(),
      draft: z.record(z.string(), z.unknown()),
      replyKey: z.string().optional(),
    })
    .safeParse(JSON.parse(plaintext.toString('utf8')));
  if (!parsed.success) throw new SealedDraftError('the sealed draft is malformed');
  return { ...parsed.data, draft: parsed.data.draft as unknown as QueryTemplate };
}
