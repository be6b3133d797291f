import { sealedIssuesSignatureProblem } from '../../query-policies/draft-signature';
import {
  openReviewNote,
  reviewNote,
  sealReviewNote,
  SealedNoteError,
  type NoteBody,
  type NoteKind,
  type NoteReader,
} from '../../query-policies/sealed-review-note';
import type { DraftIssue, SealedNote, TemplateReviewStatus } from '../../workflows/template-review/shapes';
import { registeredPerimeterKey, noPerimeterKeyProblem, type TuskClient } from '../../sdk';
import { TuskApiError } from '../../lib/tusk-client';
import { logKeyOf } from '../buyer/release-acceptance';

/** A review's sealed text as one party opened it: each comment's by its place, each revision's lint problems. */
export interface OpenedNotes {
  comments: Map<number, string>;
  issues: Map<number, DraftIssue[]>;
  /** What did not open or check, in words: shown beside the review, never silently dropped. */
  problems: string[];
}

/**
 * Seals a decision's text (or lint problems) to the seller's perimeter and to the proposer's reply
 * key, stores it as a blob, and returns what the decision carries: the reference and the hash.
 */
export async function sealNote(
  client: TuskClient,
  at: { reviewId: string; revision: number },
  body: NoteBody,
  keys: { perimeter: string; proposer?: string },
): Promise<SealedNote> {
  const { bytes, hash } = await sealReviewNote(reviewNote(at.reviewId, at.revision, body), keys);
  return { ref: await client.putBlob(bytes), hash };
}

async function fetchNote(client: TuskClient, reviewId: string, ref: string): Promise<Buffer> {
  const { sealed } = await client.get<{ sealed: string }>(
    `/template-reviews/${reviewId}/notes/${encodeURIComponent(ref)}`,
  );
  return Buffer.from(sealed, 'base64url');
}

/**
 * Opens every sealed note of the review with this reader's key (the seller's perimeter sealing key,
 * or the proposer's reply key), each checked against the hash the review records; lint problems also
 * against the perimeter's signature, under the seller's perimeter key in the transparency log.
 */
export async function openNotes(
  client: TuskClient,
  status: TemplateReviewStatus,
  reader: NoteReader,
  privateKeyPem: string,
): Promise<OpenedNotes> {
  const opened: OpenedNotes = { comments: new Map(), issues: new Map(), problems: [] };
  const attempt = async (what: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      if (!(error instanceof SealedNoteError || error instanceof TuskApiError)) throw error;
      opened.problems.push(`${what}: ${error.message}`);
    }
  };
  for (const [index, comment] of status.comments.entries()) {
    const { note } = comment;
    if (!note) continue;
    await attempt(`the ${comment.kind} on revision ${comment.revision}`, async () => {
      const expected = {
        reviewId: status.reviewId,
        revision: comment.revision,
        kind: comment.kind as NoteKind,
        ...note,
      };
      const text = await openReviewNote(
        await fetchNote(client, status.reviewId, note.ref),
        reader,
        privateKeyPem,
        expected,
      );
      if (text.kind !== 'lint') opened.comments.set(index, text.message);
    });
  }
  const refused = status.revisions.flatMap((r) =>
    r.preview?.kind === 'refused' && r.preview.sealedIssues
      ? [{ revision: r.revision, sealed: r.preview.sealedIssues }]
      : [],
  );
  if (refused.length === 0) return opened;
  const perimeterKey = await registeredPerimeterKey(client, status.sellerId, await logKeyOf(client));
  for (const { revision, sealed } of refused) {
    await attempt(`the lint problems of revision ${revision}`, async () => {
      const { ref, hash, count, perimeterSignature } = sealed;
      const unsigned = perimeterKey
        ? sealedIssuesSignatureProblem(
            { reviewId: status.reviewId, revision, ref, hash, count },
            perimeterSignature,
            perimeterKey,
          )
        : noPerimeterKeyProblem(status.sellerId);
      if (unsigned) throw new SealedNoteError(unsigned);
      const expected = { reviewId: status.reviewId, revision, kind: 'lint' as const, hash };
      const note = await openReviewNote(
        await fetchNote(client, status.reviewId, ref),
        reader,
        privateKeyPem,
        expected,
      );
      if (note.kind === 'lint') opened.issues.set(revision, note.issues);
    });
  }
  return opened;
}
