import { describe, expect, it } from 'vitest';
import { agreedDecision } from '../../workflows/approvals';
import {
  DISPUTE_LIMITS,
  DisputeState,
  outcomeKey,
  sellerShare,
  type DisputeInput,
} from '../../workflows/dispute/state';

const input: DisputeInput = {
  dealId: 'd',
  terms: { kind: 'cohort_query', signer: 'b', publicKey: 'k', body: {}, signature: 's' },
  buyerId: 'b',
  sellerId: 's',
  price: '1000',
  openedBy: 'b',
  reason: 'the table is empty',
  reviewerAccessMs: 100,
  resolutionTimeoutMs: 1000,
  defaultOutcome: { kind: 'refund' },
};

/** A principal whose decision verified under its own key. */
const voter = (principal: string, key = `key-of-${principal}`) => ({ principal, key });

describe('dispute state', () => {
  it('bounds the evidence kept and the reads recorded, with reasons', () => {
    const dispute = new DisputeState(input, 0);
    for (let i = 0; i < DISPUTE_LIMITS.evidence; i++) {
      dispute.assertRoomForEvidence();
      dispute.addEvidence(i % 2 ? 'b' : 's', `sha256:${i}`, 1);
    }
    expect(() => dispute.assertRoomForEvidence()).toThrow(
      'the dispute of deal d holds 50 pieces of evidence, the most allowed',
    );
    dispute.nameReviewer('c1', 'b', 1_000_000, 2);
    for (let i = 0; i < DISPUTE_LIMITS.evidenceReads; i++) {
      dispute.assertRoomForRead();
      dispute.recordEvidenceRead('c1', ['sha256:0'], `nonce-${i}`, 3);
    }
    expect(() => dispute.assertRoomForRead()).toThrow(
      'the evidence of deal d has been read 200 times, the most allowed',
    );
  });

  it('needs two distinct principals approving the same outcome', () => {
    const dispute = new DisputeState(input, 0);
    dispute.approve(voter('c1'), { kind: 'split', sellerBps: 4000 }, 1);
    expect(dispute.resolved).toBe(false);
    expect(() => dispute.approve(voter('c1'), { kind: 'split', sellerBps: 4000 }, 2)).toThrow(
      /already decided/,
    );
    dispute.approve(voter('c2'), { kind: 'split', sellerBps: 6000 }, 3);
    expect(dispute.resolved).toBe(false);
    dispute.approve(voter('c3'), { kind: 'split', sellerBps: 4000 }, 4);
    expect(dispute.snapshot()).toMatchObject({
      stage: 'resolved',
      outcome: { kind: 'split', sellerBps: 4000 },
      resolvedBy: 'approvals',
    });
    expect(() => dispute.approve(voter('c4'), { kind: 'refund' }, 5)).toThrow(/resolved/);
  });

  it('a principal may change its approval until the dispute is resolved', () => {
    const dispute = new DisputeState(input, 0);
    dispute.approve(voter('c1'), { kind: 'release' }, 1);
    dispute.approve(voter('c2'), { kind: 'refund' }, 2);
    expect(dispute.resolved).toBe(false);
    expect(() => dispute.approve(voter('c1', 'another-key'), { kind: 'refund' }, 3)).toThrow(/same key/);
    dispute.approve(voter('c1'), { kind: 'refund' }, 3);
    expect(dispute.snapshot()).toMatchObject({
      stage: 'resolved',
      outcome: { kind: 'refund' },
      resolvedBy: 'approvals',
      approvals: [
        { principal: 'c2', decision: { kind: 'refund' } },
        { principal: 'c1', decision: { kind: 'refund' }, at: 3 },
      ],
    });
    expect(dispute.snapshot().audit.map((event) => event.action)).toEqual([
      'opened',
      'approved',
      'approved',
      'approval_changed',
      'resolved',
    ]);
    expect(() => dispute.approve(voter('c2'), { kind: 'release' }, 4)).toThrow(/resolved/);
  });

  it('a changed approval counts once: one principal alone never resolves', () => {
    const dispute = new DisputeState(input, 0);
    dispute.approve(voter('c1'), { kind: 'release' }, 1);
    dispute.approve(voter('c1'), { kind: 'refund' }, 2);
    expect(dispute.resolved).toBe(false);
    expect(dispute.snapshot().approvals).toHaveLength(1);
  });

  it('refuses a split outside 0..10000 basis points', () => {
    const dispute = new DisputeState(input, 0);
    expect(() => dispute.approve(voter('c1'), { kind: 'split', sellerBps: 10_001 }, 1)).toThrow(/sellerBps/);
    expect(() => dispute.approve(voter('c1'), { kind: 'split', sellerBps: 1.5 }, 1)).toThrow(/sellerBps/);
  });

  it("ends the reviewer's access at its deadline; a default refund at the timeout waits for signatures", () => {
    const dispute = new DisputeState(input, 0);
    expect(() => dispute.nameReviewer('s', 'c1', 100, 1)).toThrow(/party to the deal/);
    dispute.nameReviewer('r', 'c1', 100, 10);
    expect(dispute.nextDeadline()).toBe(110);
    dispute.recordEvidenceRead('r', ['sha256:x'], 'read-1', 50);
    expect(() => dispute.recordEvidenceRead('r', ['sha256:x'], 'read-1', 51)).toThrow(/used already/);
    expect(() => dispute.assertReviewerAccess('someone', 50)).toThrow(/not the dispute's reviewer/);
    expect(() => dispute.assertReviewerAccess('r', 110)).toThrow(/has ended/);
    dispute.tick(110, input.defaultOutcome);
    expect(dispute.snapshot().reviewer?.expired).toBe(true);
    expect(dispute.nextDeadline()).toBe(1000);
    dispute.tick(999, input.defaultOutcome);
    expect(dispute.resolved).toBe(false);
    dispute.tick(1000, input.defaultOutcome);
    // The refund is the seller's loss, and nobody signed it: the dispute stays open, with no deadline.
    expect(dispute.resolved).toBe(false);
    expect(dispute.snapshot()).toMatchObject({ stage: 'open', defaultWithheld: true });
    expect(dispute.nextDeadline()).toBeUndefined();
    dispute.tick(5000, input.defaultOutcome);
    dispute.approve(voter('c1'), { kind: 'refund' }, 5001);
    dispute.approve(voter('c2'), { kind: 'refund' }, 5002);
    expect(dispute.snapshot()).toMatchObject({ outcome: { kind: 'refund' }, resolvedBy: 'approvals' });
    expect(dispute.snapshot().audit.map((e) => e.action)).toEqual([
      'opened',
      'reviewer_named',
      'evidence_read',
      'reviewer_access_ended',
      'default_withheld',
      'approved',
      'approved',
      'resolved',
    ]);
  });

  it('applies a default release at the timeout, and a default split only on runs from before', () => {
    const released = new DisputeState({ ...input, defaultOutcome: { kind: 'release' } }, 0);
    released.tick(1000, { kind: 'release' });
    expect(released.snapshot()).toMatchObject({ outcome: { kind: 'release' }, resolvedBy: 'timeout' });
    const split = { kind: 'split', sellerBps: 5000 } as const;
    const withheld = new DisputeState({ ...input, defaultOutcome: split }, 0);
    withheld.tick(1000, split);
    expect(withheld.snapshot()).toMatchObject({ stage: 'open', defaultWithheld: true });
    const unpatched = new DisputeState({ ...input, defaultOutcome: split }, 0);
    unpatched.tick(1000, split, false);
    expect(unpatched.snapshot()).toMatchObject({ outcome: split, resolvedBy: 'timeout' });
  });

  it("resolves as a refund when the deal's seller concedes, also after the timeout; nobody else concedes", () => {
    const dispute = new DisputeState(input, 0);
    expect(dispute.snapshot().escrowId).toBe('deal:d');
    expect(() => dispute.concede('b', 1)).toThrow(/only the seller of deal d concedes/);
    expect(() => dispute.concede('c1', 1)).toThrow(/only the seller/);
    dispute.tick(1000, input.defaultOutcome);
    dispute.concede('s', 1001);
    expect(dispute.snapshot()).toMatchObject({
      stage: 'resolved',
      outcome: { kind: 'refund' },
      resolvedBy: 'concession',
    });
    expect(dispute.snapshot().audit.slice(-2)).toMatchObject([
      { action: 'conceded', by: 's' },
      { action: 'resolved', by: 's', detail: { outcome: 'refund' } },
    ]);
    expect(() => dispute.concede('s', 1002)).toThrow(/is resolved/);
  });

  it('takes evidence from the two parties only', () => {
    const dispute = new DisputeState(input, 0);
    dispute.addEvidence('b', 'sha256:1', 1);
    dispute.addEvidence('s', 'sha256:2', 2);
    expect(() => dispute.addEvidence('r', 'sha256:3', 3)).toThrow(/buyer or the seller/);
    expect(dispute.snapshot().evidence.map((e) => e.by)).toEqual(['b', 's']);
  });

  it('splits in whole units, rounding the seller share down', () => {
    expect(sellerShare('999', 4000)).toBe('399');
    expect(sellerShare('1000', 10_000)).toBe('1000');
    expect(sellerShare('1000', 0)).toBe('0');
    expect(outcomeKey({ kind: 'split', sellerBps: 1 })).toBe('split:1');
  });

  it('agreement counts distinct keys only', () => {
    const vote = (principal: string, key = principal) => ({ principal, key, decision: 'approve', at: 0 });
    expect(agreedDecision([vote('a'), vote('a')], String)).toBeUndefined();
    expect(agreedDecision([vote('a'), vote('b')], String)).toBe('approve');
    expect(agreedDecision([vote('a', 'k'), vote('b', 'k')], String)).toBeUndefined();
  });

  it('one key approving under two principal names does not resolve', () => {
    const dispute = new DisputeState(input, 0);
    dispute.approve(voter('c1', 'shared'), { kind: 'refund' }, 1);
    expect(() => dispute.approve(voter('c2', 'shared'), { kind: 'refund' }, 2)).toThrow(
      /key .* already decided/,
    );
    expect(dispute.resolved).toBe(false);
    expect(dispute.snapshot().approvals).toEqual([
      { principal: 'c1', key: 'shared', decision: { kind: 'refund' }, at: 1 },
    ]);
  });
});
