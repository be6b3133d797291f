import { describe, expect, it } from 'vitest';
import { canonicalHash } from '../../lib/canonical-json';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import {
  openReviewNote,
  reviewNote,
  sealReviewNote,
  SealedNoteError,
} from '../../query-policies/sealed-review-note';

describe('a sealed review note', () => {
  const perimeter = generateX25519KeyPair();
  const proposer = generateX25519KeyPair();
  const at = { reviewId: 'review-1', revision: 2 };
  const comment = () => reviewNote(at.reviewId, at.revision, { kind: 'comment', message: 'ok' });

  it('opens for the seller (perimeter key) and the proposer, checked against its recorded hash', async () => {
    const { bytes, hash } = await sealReviewNote(comment(), {
      perimeter: perimeter.publicKey,
      proposer: proposer.publicKey,
    });
    const expected = { ...at, kind: 'comment' as const, hash };
    for (const [reader, key] of [
      ['perimeter', perimeter],
      ['proposer', proposer],
    ] as const) {
      const note = await openReviewNote(bytes, reader, key.privateKeyPem, expected);
      expect(note).toMatchObject({ kind: 'comment', message: 'ok' });
    }
  });

  it('hides a short text behind its salt: the same comment twice has two hashes, neither the bare text', async () => {
    const first = await sealReviewNote(comment(), { perimeter: perimeter.publicKey });
    const second = await sealReviewNote(comment(), { perimeter: perimeter.publicKey });
    expect(first.hash).not.toBe(second.hash);
    const unsalted = canonicalHash({ ...at, kind: 'comment', message: 'ok' });
    expect([first.hash, second.hash]).not.toContain(unsalted);
    expect(first.bytes.toString()).not.toContain('"ok"');
  });

  it('refuses another key, another review, another hash, and a reader it is not sealed to', async () => {
    const { bytes, hash } = await sealReviewNote(comment(), { perimeter: perimeter.publicKey });
    const expected = { ...at, kind: 'comment' as const, hash };
    const other = generateX25519KeyPair();
    await expect(openReviewNote(bytes, 'perimeter', other.privateKeyPem, expected)).rejects.toThrow(
      SealedNoteError,
    );
    await expect(
      openReviewNote(bytes, 'perimeter', perimeter.privateKeyPem, { ...expected, reviewId: 'review-2' }),
    ).rejects.toThrow(/does not open for review review-2/);
    const swapped = (await sealReviewNote(comment(), { perimeter: perimeter.publicKey })).bytes;
    await expect(openReviewNote(swapped, 'perimeter', perimeter.privateKeyPem, expected)).rejects.toThrow(
      /not the recorded one/,
    );
    await expect(
      openReviewNote(bytes, 'perimeter', perimeter.privateKeyPem, { ...expected, kind: 'reject' }),
    ).rejects.toThrow(/not the recorded reject/);
    await expect(openReviewNote(bytes, 'proposer', proposer.privateKeyPem, expected)).rejects.toThrow(
      /not sealed to its proposer/,
    );
  });
});
