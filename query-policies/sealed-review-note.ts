import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { canonicalHash } from '../lib/canonical-json';
import { open, seal, SealedBoxError } from '../lib/sealed-box';
import { draftIssue, type DraftIssue } from '../workflows/template-review/shapes';

/**
 * What a review says about a draft besides numbers: the lint problems of a refused preview (they quote
 * the draft's identifiers) and the seller's comments, change requests and reject reasons. Each is sealed
 * to the seller's perimeter (its `perimeter-sealing` key, which the seller's CLI holds) and to the
 * proposer's reply key (named in its signed draft), and stored as a blob; the history and the API hold
 * the reference and the hash only. The note carries 32 random bytes, so its hash confirms no guess of
 * a short comment.
 */
const noteHead = { reviewId: z.string(), revision: z.int(), salt: z.string() };
const reviewNoteSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...noteHead, kind: z.literal('lint'), issues: z.array(draftIssue) }),
  z.strictObject({
    ...noteHead,
    kind: z.enum(['comment', 'request_changes', 'reject']),
    message: z.string().min(1).max(4000),
  }),
]);
export type ReviewNote = z.infer<typeof reviewNoteSchema>;
export type NoteKind = ReviewNote['kind'];
export type NoteBody =
  | { kind: 'lint'; issues: DraftIssue[] }
  | { kind: 'comment' | 'request_changes' | 'reject'; message: string };

const sealedNoteFile = z.strictObject({
  type: z.literal('tusk.sealed-review-note/v1'),
  perimeter: z.string().min(1),
  proposer: z.string().min(1).optional(),
});

export type NoteReader = 'perimeter' | 'proposer';

export class SealedNoteError extends Error {
  override name = 'SealedNoteError';
}

const boxContext = (reviewId: string) => `tusk review note v1 ${reviewId}`;

/** A note with fresh salt, for one revision of one review. */
export function reviewNote(reviewId: string, revision: number, body: NoteBody): ReviewNote {
  return { reviewId, revision, salt: randomBytes(32).toString('base64url'), ...body };
}

/** The sealed file's bytes and the note's hash (what the history and the API keep, with the blob's reference). */
export async function sealReviewNote(
  note: ReviewNote,
  keys: { perimeter: string; proposer?: string },
): Promise<{ bytes: Buffer; hash: string }> {
  const plaintext = Buffer.from(JSON.stringify(note));
  const box = async (key: string) =>
    (await seal(plaintext, key, boxContext(note.reviewId))).toString('base64url');
  const file: z.infer<typeof sealedNoteFile> = {
    type: 'tusk.sealed-review-note/v1',
    perimeter: await box(keys.perimeter),
    ...(keys.proposer ? { proposer: await box(keys.proposer) } : {}),
  };
  return { bytes: Buffer.from(JSON.stringify(file)), hash: canonicalHash(note) };
}

/**
 * Opens a sealed note with one reader's X25519 private key and checks it is the one expected: its
 * hash is the recorded one, and it names the review, revision and kind it is recorded under.
 */
export async function openReviewNote(
  bytes: Uint8Array,
  reader: NoteReader,
  privateKeyPem: string,
  expected: { reviewId: string; revision: number; kind: NoteKind; hash: string },
): Promise<ReviewNote> {
  let file: z.infer<typeof sealedNoteFile>;
  try {
    file = sealedNoteFile.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch {
    throw new SealedNoteError('the blob is not a sealed review note');
  }
  const box = file[reader];
  if (!box) throw new SealedNoteError(`the note is not sealed to its ${reader}`);
  let plaintext: Buffer;
  try {
    plaintext = await open(Buffer.from(box, 'base64url'), privateKeyPem, boxContext(expected.reviewId));
  } catch (error) {
    if (error instanceof SealedBoxError)
      throw new SealedNoteError(
        `the note does not open for review ${expected.reviewId} with this ${reader} key`,
      );
    throw error;
  }
  let parsed: ReviewNote;
  try {
    parsed = reviewNoteSchema.parse(JSON.parse(plaintext.toString('utf8')));
  } catch {
    throw new SealedNoteError('the sealed note is malformed');
  }
  if (canonicalHash(parsed) !== expected.hash)
    throw new SealedNoteError(`the sealed note is not the recorded one (its hash is not ${expected.hash})`);
  if (
    parsed.reviewId !== expected.reviewId ||
    parsed.revision !== expected.revision ||
    parsed.kind !== expected.kind
  )
    throw new SealedNoteError(
      `the sealed note is a ${parsed.kind} on revision ${parsed.revision} of ${parsed.reviewId}, not the recorded ${expected.kind}`,
    );
  return parsed;
}
