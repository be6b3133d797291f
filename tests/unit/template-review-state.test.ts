import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueryTemplate } from '../../query-policies/template';
import type { DraftPreview, SignedDraft } from '../../workflows/template-review/shapes';
import { TemplateReviewState } from '../../workflows/template-review/state';
import { differsBeyondSellerChoices } from '../../query-policies/template-diff';

const demo = JSON.parse(
  readFileSync(join(__dirname, '../../query-policies/demo-seller/cohort-cost-by-zip3.json'), 'utf8'),
) as QueryTemplate;
const draft: QueryTemplate = { ...demo, id: 'proposed', seller: 'seller-a' };
const hash = (n: number) => `sha256:${String(n).padStart(64, '0')}`;
/** A revision as the workflow holds it: the sealed draft's reference and hash, never the draft. */
const signed = (
  revision: number,
  changes: Partial<Pick<SignedDraft, 'seller' | 'dataset' | 'templateId'>> = {},
  proposer = 'buyer-a',
): SignedDraft => ({
  reviewId: 'r1',
  revision,
  proposer,
  seller: draft.seller,
  dataset: draft.dataset,
  templateId: draft.id,
  draftRef: hash(100 + revision),
  draftHash: hash(revision),
  signature: 'x'.repeat(86),
  ...changes,
});
const previewed = (revision: number): DraftPreview => ({
  kind: 'previewed',
  revision,
  draftHash: hash(revision),
  twin: { rows: 10, units: 5, domainsHash: hash(99) },
  groups: 1,
  maxGroups: 1,
  countNoiseScale: 1,
  typicalCount: 1,
  metrics: [],
  epsilon: 1,
  delta: 0,
  answersPerBuyer: 1,
  answersTotal: 1,
  perimeterSignature: 's'.repeat(86),
});
const review = () =>
  new TemplateReviewState(
    { reviewId: 'r1', sellerId: 'seller-a', proposerId: 'buyer-a', proposal: signed(1), expiresAt: 1000 },
    { workflowId: 'template-review:r1', runId: 'run' },
    0,
  );
const approvedFrom = (template: QueryTemplate): QueryTemplate => ({
  ...template,
  price: '9',
  compliance: { ...template.compliance, purposes: ['research'] },
  review: { reviewId: 'r1' },
});

describe('template review state', () => {
  it('keeps every revision, binds decisions to the current one, and needs a preview before approval', () => {
    const state = review();
    expect(state.awaitingPreview?.revision).toBe(1);
    state.recordPreview(previewed(1), 1);
    expect(state.awaitingPreview).toBeUndefined();
    expect(() => state.decide('buyer-a', { decision: 'reject', revision: 1, message: 'no' }, 2)).toThrow(
      /only seller seller-a/,
    );
    state.decide('seller-a', { decision: 'request_changes', revision: 1, message: 'k higher' }, 2);
    expect(state.stage).toBe('changes_requested');
    expect(() => state.revise(signed(2, {}, 'buyer-b'), 3)).toThrow(/only buyer-a/);
    expect(() => state.revise(signed(3), 3)).toThrow(/next revision is 2/);
    expect(() => state.revise(signed(2, { dataset: 'other' }), 3)).toThrow(/keeps dataset/);
    expect(() => state.revise(signed(2, { templateId: 'other' }), 3)).toThrow(/keeps seller/);
    state.revise(signed(2), 3);
    expect(state.stage).toBe('open');
    expect(state.scope.subject.termsHash).toBe(hash(2));
    expect(() => state.decide('seller-a', { decision: 'comment', revision: 1, message: 'old' }, 4)).toThrow(
      /current revision is 2/,
    );
    expect(() => state.approve('seller-a', approvedFrom(draft), hash(7), 4)).toThrow(/no preview yet/);
    state.recordPreview(previewed(2), 5);
    expect(state.snapshot().revisions.map((r) => [r.revision, r.draftRef])).toEqual([
      [1, hash(101)],
      [2, hash(102)],
    ]);
  });

  it('approves only a template naming this review, seller, dataset and template id', () => {
    const state = review();
    state.recordPreview(previewed(1), 1);
    const current = draft;
    expect(() => state.approve('seller-a', { ...approvedFrom(current), id: 'another' }, hash(7), 2)).toThrow(
      /must be seller-a's proposed/,
    );
    expect(() =>
      state.approve('seller-a', { ...approvedFrom(current), review: undefined }, hash(7), 2),
    ).toThrow(/must name review r1/);
    state.approve('seller-a', approvedFrom(current), hash(7), 2);
    expect(state.snapshot()).toMatchObject({ stage: 'approved', approvedTemplateHash: hash(7) });
    expect(() => state.revise(signed(2), 3)).toThrow(/is approved/);
    expect(() => state.decide('seller-a', { decision: 'comment', revision: 1, message: 'late' }, 3)).toThrow(
      /is approved/,
    );
  });

  it("a refused preview cannot be approved; an open proposal expires at the seller's deadline", () => {
    const state = review();
    state.recordPreview({ kind: 'refused', revision: 1, reason: 'lint', issues: [] }, 1);
    expect(() => state.approve('seller-a', approvedFrom(draft), hash(7), 2)).toThrow(/refused preview/);
    state.decide('seller-a', { decision: 'set_deadline', expiresAt: 50 }, 2);
    expect(state.nextDeadline()).toBe(50);
    state.tick(49);
    expect(state.stage).toBe('open');
    state.tick(50);
    expect(state.stage).toBe('expired');
    expect(state.nextDeadline()).toBeUndefined();
  });
});

describe('what the seller signs on approval', () => {
  it('is the draft it opened, changed in nothing but price, allowed uses and the review it names', () => {
    const approved: QueryTemplate = {
      ...draft,
      price: '9',
      compliance: { ...draft.compliance, purposes: ['x'] },
      review: { reviewId: 'r1' },
    };
    expect(differsBeyondSellerChoices(approved, draft)).toBe(false);
    expect(differsBeyondSellerChoices({ ...approved, minCohortSize: 2 }, draft)).toBe(true);
    expect(differsBeyondSellerChoices({ ...approved, sql: `${draft.sql} ` }, draft)).toBe(true);
  });
});
