// @ts-check
/**
 * A review's sealed notes in the page, as query-policies/sealed-review-note.ts and
 * cli/template/sealed-notes.ts handle them: the seller's comments, change requests and reject reasons,
 * and a refused preview's lint problems, each sealed to the seller's perimeter sealing key and the
 * proposer's signed reply key. The API holds their blob reference and a salted hash; the text is
 * sealed and opened here only.
 */
import { operatorKeyOf } from './review-drafts.js';
import { registeredKeyOf, verifyEd25519 } from './release-check.js';
import { base64url, canonicalHash, fromBase64, openSealedBox, sealBox } from './tusk-crypto.js';

/**
 * @typedef {import('./api.js').Client} Client
 * @typedef {import('./tusk-crypto.js').HeldKey} HeldKey
 * @typedef {import('./review-drafts.js').ReviewStatus} ReviewStatus
 * @typedef {{ code: string, message: string, fix: string }} DraftIssue
 * @typedef {{ comments: Map<number, string>, issues: Map<number, DraftIssue[]>, problems: string[] }} OpenedNotes
 */

const NOTE_FILE_TYPE = 'tusk.sealed-review-note/v1';
/** sealed-review-note.ts's boxContext: a note sealed for one review cannot be passed off as another's. */
const boxContext = (/** @type {string} */ reviewId) => `tusk review note v1 ${reviewId}`;

/**
 * A note with 32 fresh random bytes of salt (so its hash confirms no guess of a short comment), in
 * sealed-review-note.ts's field order.
 * @param {string} reviewId @param {number} revision @param {'comment' | 'request_changes' | 'reject'} kind
 * @param {string} text
 */
export function reviewNote(reviewId, revision, kind, text) {
  const salt = base64url(crypto.getRandomValues(new Uint8Array(32)));
  return { reviewId, revision, salt, kind, message: text };
}

/**
 * The sealed file (as text) and the note's hash, as sealReviewNote writes them.
 * @param {{ reviewId: string }} note @param {{ perimeter: string, proposer?: string }} keys
 */
export async function sealReviewNote(note, keys) {
  const plaintext = new TextEncoder().encode(JSON.stringify(note));
  const box = async (/** @type {string} */ key) =>
    base64url(await sealBox(plaintext, key, boxContext(note.reviewId)));
  const file = {
    type: NOTE_FILE_TYPE,
    perimeter: await box(keys.perimeter),
    ...(keys.proposer ? { proposer: await box(keys.proposer) } : {}),
  };
  return { file: JSON.stringify(file), hash: await canonicalHash(note) };
}

/**
 * Seals the seller's text to its perimeter and the proposer's reply key, stores it as a blob, and
 * returns what the signed decision carries: the reference and the hash.
 * @param {Client} client @param {{ reviewId: string, revision: number }} at
 * @param {'comment' | 'request_changes' | 'reject'} kind @param {string} text
 * @param {{ perimeter: string, proposer?: string }} keys
 */
export async function sealNote(client, at, kind, text, keys) {
  const { file, hash } = await sealReviewNote(reviewNote(at.reviewId, at.revision, kind, text), keys);
  const { ref } = await client.putBlob(file);
  return { ref, hash };
}

/**
 * Opens a sealed note with one reader's key and checks it is the recorded one (openReviewNote): its
 * hash, and the review, revision and kind it is recorded under.
 * @param {string} sealed the API's base64url bytes @param {'perimeter' | 'proposer'} reader
 * @param {HeldKey} key @param {{ reviewId: string, revision: number, kind: string, hash: string }} expected
 */
export async function openReviewNote(sealed, reader, key, expected) {
  let file;
  try {
    file = JSON.parse(new TextDecoder().decode(fromBase64(sealed)));
  } catch {
    throw new Error('the blob is not a sealed review note');
  }
  if (file?.type !== NOTE_FILE_TYPE) throw new Error('the blob is not a sealed review note');
  if (typeof file[reader] !== 'string') throw new Error(`the note is not sealed to its ${reader}`);
  const bytes = await openSealedBox(fromBase64(file[reader]), key, boxContext(expected.reviewId)).catch(
    () => {
      throw new Error(`the note does not open for review ${expected.reviewId} with this ${reader} key`);
    },
  );
  const note = JSON.parse(new TextDecoder().decode(bytes));
  const hash = await canonicalHash(note);
  if (hash !== expected.hash)
    throw new Error(`the sealed note is not the recorded one (its hash is not ${expected.hash})`);
  if (
    note.reviewId !== expected.reviewId ||
    note.revision !== expected.revision ||
    note.kind !== expected.kind
  )
    throw new Error(
      `the sealed note is a ${note.kind} on revision ${note.revision} of ${note.reviewId}, not the recorded ${expected.kind}`,
    );
  return note;
}

/** @param {Client} client @param {string} reviewId @param {string} ref @returns {Promise<string>} */
async function fetchNote(client, reviewId, ref) {
  const { sealed } = await client.get(
    `/template-reviews/${encodeURIComponent(reviewId)}/notes/${encodeURIComponent(ref)}`,
  );
  return sealed;
}

/** draft-signature.ts's sealedIssuesSignatureProblem. @param {string} key @param {any} sealed @param {string} signature */
async function sealedIssuesProblem(key, sealed, signature) {
  const message = `tusk draft lint v1\n${await canonicalHash(sealed)}`;
  return (await verifyEd25519(key, message, signature))
    ? ''
    : "the lint problems are not signed by the seller's perimeter key";
}

/**
 * Opens every sealed note of the review with this reader's key (the seller's perimeter sealing key,
 * or the proposer's result key), each against the hash the review records; lint problems also
 * against the perimeter's signature, under the seller's perimeter key in the transparency log.
 * @param {Client} client @param {ReviewStatus} status @param {'perimeter' | 'proposer'} reader
 * @param {HeldKey} key @returns {Promise<OpenedNotes>}
 */
export async function openNotes(client, status, reader, key) {
  /** @type {OpenedNotes} */
  const opened = { comments: new Map(), issues: new Map(), problems: [] };
  const attempt = async (/** @type {string} */ what, /** @type {() => Promise<void>} */ run) =>
    run().catch((error) => {
      opened.problems.push(`${what}: ${error instanceof Error ? error.message : error}`);
    });
  for (const [index, comment] of status.comments.entries()) {
    const { note } = comment;
    if (!note) continue;
    await attempt(`the ${comment.kind} on revision ${comment.revision}`, async () => {
      const expected = { reviewId: status.reviewId, revision: comment.revision, kind: comment.kind, ...note };
      const text = await openReviewNote(
        await fetchNote(client, status.reviewId, note.ref),
        reader,
        key,
        expected,
      );
      opened.comments.set(index, text.message);
    });
  }
  const refused = status.revisions.filter((r) => r.preview?.kind === 'refused' && r.preview.sealedIssues);
  if (refused.length === 0) return opened;
  const perimeterKey = await registeredKeyOf(
    client,
    status.sellerId,
    await operatorKeyOf(client),
    'perimeter',
  );
  for (const { revision, preview } of refused)
    await attempt(`the lint problems of revision ${revision}`, async () => {
      const { ref, hash, count, perimeterSignature } = preview.sealedIssues;
      if (!perimeterKey)
        throw new Error(`seller ${status.sellerId} has no perimeter key in the transparency log`);
      const unsigned = await sealedIssuesProblem(
        perimeterKey,
        { reviewId: status.reviewId, revision, ref, hash, count },
        perimeterSignature,
      );
      if (unsigned) throw new Error(unsigned);
      const expected = { reviewId: status.reviewId, revision, kind: 'lint', hash };
      const note = await openReviewNote(await fetchNote(client, status.reviewId, ref), reader, key, expected);
      opened.issues.set(revision, note.issues);
    });
  return opened;
}
