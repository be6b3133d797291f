import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPaths, writeFileAtomic } from '../../cli/common';
import { waitForStage } from '../../cli/buyer/commands';
import type { SignedBundle } from '../../audit/bundle';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { confirmDeal } from '../../lib/signed-actions';
import type { TuskClient } from '../../lib/tusk-client';
import type { DeclaredColumns } from '../../query-policies/column-domains';
import { previewSignatureProblem } from '../../query-policies/draft-signature';
import {
  openRevisionAsSeller,
  sealAndSign,
  signedReplyKey,
  sealedRevision,
} from '../../cli/template/sealed-drafts';
import { openNotes, sealNote } from '../../cli/template/sealed-notes';
import { perimeterSealingKeyFile } from '../../lib/perimeter-key';
import { publicKeyFromPem } from '../../lib/x25519-public';
import { readFile } from 'node:fs/promises';
import { Client } from '@temporalio/client';
import { decodeHistoryJson, searchableText } from '../support/history-codec';
import { registeredPerimeterKey } from '../../sdk';
import { signTemplate, templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { DealStatus } from '../../workflows/deal/state';
import {
  SEALED_MESSAGE,
  templateReviewWorkflowId,
  type ReviewDecisionContent,
  type SignedDraft,
  type TemplateReviewStatus,
} from '../../workflows/template-review/shapes';
import {
  approveTemplateUpdate,
  decideReviewUpdate,
  reviseProposalUpdate,
} from '../../workflows/template-review/workflow';
import { signDecision } from '../../lib/signed-decision';
import { buyDeal, DEFAULT_DATASET_BUDGETS, startTestDeployment, type TestDeployment } from './harness';
import {
  LIFECYCLE_PARTIES,
  party,
  replay,
  sellerIdentity,
  updateRefusal,
  waitFor,
} from './lifecycle-harness';
import { tusk, tuskOk } from './cli/run-tusk';

const DIAGNOSES = ['I10', 'E11', 'J45', 'M54', 'F32', 'K21', 'N39', 'G43', 'C50', 'Z00', 'L40', 'D50'];

/** What the seller declares of `patients`, by hand: each column's possible values, no statistic of the rows. */
const PATIENT_COLUMNS: DeclaredColumns = {
  person_id: { type: 'integer', min: 1, max: 1500 },
  age: { type: 'integer', min: 5, max: 94 },
  sex: { type: 'enum', values: ['F', 'M'] },
  zip3: { type: 'enum', values: Array.from({ length: 300 }, (_, i) => String(100 + i)) },
  diagnosis_code: { type: 'enum', values: DIAGNOSES },
  cost: { type: 'decimal', scale: 2, min: 50, max: 4050 },
  visit_date: { type: 'date', min: '2024-01-01', max: '2025-12-30' },
};

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };

/** A draft's SQL naming a column (`income`) the dataset does not declare. */
const INCOME_SQL =
  'SELECT person_id, diagnosis_code, income AS cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex';

describe('a buyer proposes a template, the seller reviews and approves it', () => {
  let test: TestDeployment;
  let seller: TuskClient;
  const buyer = () => test.deployment.buyer;
  const reviewPath = (id: string) => `/template-reviews/${id}`;

  /** A buyer's draft: patients and total cost per diagnosis, for an age range and sex. */
  const draftFor = (templateId: string, changes: Partial<QueryTemplate> = {}): QueryTemplate => ({
    id: templateId,
    version: 1,
    seller: test.seller.id,
    title: 'Patients and cost per diagnosis',
    description: 'For an age range and sex: distinct patients and total cost per diagnosis group.',
    dataset: 'patients',
    sql: 'SELECT person_id, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex',
    parameters: {
      min_age: { type: 'integer', min: 0, max: 120 },
      max_age: { type: 'integer', min: 0, max: 120 },
      sex: { type: 'enum', values: ['F', 'M'] },
    },
    constraints: [{ lessOrEqual: ['min_age', 'max_age'] }],
    dimensions: ['diagnosis_code'],
    metrics: [
      { name: 'patients', aggregate: 'count_units' },
      { name: 'total_cost', aggregate: 'sum', column: 'cost', min: 0, max: 4000 },
    ],
    privacyUnit: 'person_id',
    maxGroupsPerUnit: 3,
    minCohortSize: 20,
    privacy: { mechanism: 'discrete_laplace', epsilon: 2 },
    price: '500',
    compliance: { jurisdictions: ['US'], purposes: ['research'], dataClasses: ['health', 'deidentified'] },
    multiSeller: false,
    privateSelection: false,
    groupDomain: { diagnosis_code: DIAGNOSES },
    ...changes,
  });

  /** As the proposer's CLI sends it: linted, sealed to the seller's perimeter, stored, its hash signed. */
  const sealed = (reviewId: string, draft: QueryTemplate, as = buyer(), revision = 1, lint = true) =>
    (lint ? sealedRevision : sealAndSign)(
      as.client,
      { reviewId, revision, proposer: as.id, draft },
      { signingKeyPem: as.signingKeyPem, resultKeyPem: as.resultKeyPem },
    );
  const send = (signed: SignedDraft, as = buyer()) =>
    as.client.post<TemplateReviewStatus>(
      signed.revision === 1 ? '/template-reviews' : `${reviewPath(signed.reviewId)}/revisions`,
      signed,
    );
  const propose = async (reviewId: string, draft: QueryTemplate, as = buyer(), revision = 1) =>
    send(await sealed(reviewId, draft, as, revision), as);
  /** The seller's perimeter's state directory in this deployment: its sealing key opens the drafts. */
  const perimeterState = () => join(test.home, 'perimeter', test.seller.id);
  const openAsSeller = async (reviewId: string, revision: number) => {
    const current = await status(reviewId, seller);
    return openRevisionAsSeller(
      seller,
      current,
      current.revisions.find((r) => r.revision === revision)!,
      perimeterState(),
    );
  };
  const status = (reviewId: string, client = buyer().client) =>
    client.get<TemplateReviewStatus>(reviewPath(reviewId));
  const previewed = (reviewId: string, revision: number, client = buyer().client) =>
    waitFor(
      () => status(reviewId, client),
      (s) => s.revisions.find((r) => r.revision === revision)?.preview !== undefined,
    );
  const sendDecision = async (reviewId: string, content: ReviewDecisionContent) => {
    const proof = await seller.decide(reviewPath(reviewId), 'template_review', content, reviewId);
    return seller.post<TemplateReviewStatus>(`${reviewPath(reviewId)}/decisions`, { content, proof });
  };
  const sealingKey = () => readFile(perimeterSealingKeyFile(perimeterState()), 'utf8');
  /** As the seller's CLI decides: the text sealed to the proposer's signed reply key and the perimeter's key. */
  const decide = async (
    reviewId: string,
    content:
      | ReviewDecisionContent
      | { decision: 'comment' | 'request_changes' | 'reject'; revision: number; message: string },
  ) => {
    if (content.decision === 'set_deadline' || !('message' in content) || content.message === undefined)
      return sendDecision(reviewId, content);
    const key = await sealingKey();
    const replyKey = await signedReplyKey(seller, await status(reviewId, seller), key);
    const note = await sealNote(
      seller,
      { reviewId, revision: content.revision },
      { kind: content.decision, message: content.message },
      { perimeter: publicKeyFromPem(key), ...(replyKey ? { proposer: replyKey } : {}) },
    );
    return sendDecision(reviewId, { decision: content.decision, revision: content.revision, note });
  };
  /** What the proposer reads of the review's sealed notes, with its reply key. */
  const openedByProposer = async (reviewId: string, as = buyer()) =>
    openNotes(as.client, await status(reviewId, as.client), 'proposer', as.resultKeyPem);
  const openedBySeller = async (reviewId: string) =>
    openNotes(seller, await status(reviewId, seller), 'perimeter', await sealingKey());
  /** What the seller signs: the reviewed draft with its own price and allowed uses, naming the review. */
  const approved = (reviewId: string, draft: QueryTemplate): QueryTemplate => ({
    ...draft,
    price: '800',
    compliance: { ...draft.compliance, purposes: ['research', 'public-health'] },
    review: { reviewId },
  });

  beforeAll(async () => {
    test = await startTestDeployment(
      'review',
      (s) =>
        s
          .publishDatasetPolicy({
            patients: { ...DEFAULT_DATASET_BUDGETS.patients!, columns: PATIENT_COLUMNS },
          })
          .then(() => undefined),
      { parties: LIFECYCLE_PARTIES, acceptanceTimeoutMs: 8_000 },
    );
    seller = sellerIdentity(test).client;
  });
  afterAll(async () => {
    await test?.close();
  });

  describe('propose → preview → change request → revision → approve → a deal → its audit bundle', () => {
    const reviewId = `review-${crypto.randomUUID()}`;
    const templateId = 'proposed-cost-by-dx';
    let revised: QueryTemplate;

    it('the proposal is signed by the buyer, linted at once, and previewed on the synthetic twin', async () => {
      const created = await propose(reviewId, draftFor(templateId));
      expect(created).toMatchObject({
        reviewId,
        stage: 'open',
        proposerId: buyer().id,
        sellerId: test.seller.id,
      });
      const { revisions } = await previewed(reviewId, 1);
      const preview = revisions[0]!.preview!;
      expect(preview).toMatchObject({
        kind: 'previewed',
        revision: 1,
        metrics: [{ aggregate: 'count_units' }, { aggregate: 'sum' }],
        maxGroups: 12,
        epsilon: 2,
        // The seller's signed budgets: ε = 20 per buyer, 200 for all buyers together.
        answersPerBuyer: 10,
        answersTotal: 100,
      });
      if (preview.kind !== 'previewed') throw new Error('not previewed');
      expect(preview.twin.rows).toBeGreaterThan(0);
      expect(preview.groups).toBeGreaterThan(0);
      expect(preview.groups).toBeLessThanOrEqual(12);
      expect(preview.typicalCount).toBeGreaterThan(0);
      expect(preview.countNoiseScale).toBeGreaterThan(0);
      // Signed by the seller's perimeter under the key the transparency log registers for it.
      const operatorKey = (await buyer().client.get<{ publicKey: string }>('/operator/key')).publicKey;
      const perimeterKey = await registeredPerimeterKey(buyer().client, test.seller.id, operatorKey);
      expect(previewSignatureProblem(preview, perimeterKey!)).toBeUndefined();
      // The seller sees the same proposal and preview.
      expect((await status(reviewId, seller)).revisions[0]!.preview).toEqual(preview);
    });

    it('the seller comments and asks for changes; the buyer revises and every revision is kept', async () => {
      await decide(reviewId, { decision: 'comment', revision: 1, message: 'k = 20 is low for diagnoses' });
      const asked = await decide(reviewId, {
        decision: 'request_changes',
        revision: 1,
        message: 'raise minCohortSize to 30',
      });
      expect(asked.stage).toBe('changes_requested');
      expect(asked.comments.map((c) => c.kind)).toEqual(['comment', 'request_changes']);
      // The texts are sealed: the review holds a reference and a hash; the proposer and the seller open them.
      expect(asked.comments.map((c) => c.message)).toEqual([SEALED_MESSAGE, SEALED_MESSAGE]);
      const expected = ['k = 20 is low for diagnoses', 'raise minCohortSize to 30'];
      const byProposer = await openedByProposer(reviewId);
      expect(byProposer.problems).toEqual([]);
      expect([...byProposer.comments.values()]).toEqual(expected);
      expect([...(await openedBySeller(reviewId)).comments.values()]).toEqual(expected);
      revised = draftFor(templateId, { minCohortSize: 30 });
      const after = await propose(reviewId, revised, buyer(), 2);
      expect(after.stage).toBe('open');
      expect(after.revisions.map((r) => r.revision)).toEqual([1, 2]);
      // Only the seller (with its perimeter's key) reads the drafts; every revision is kept.
      expect((await openAsSeller(reviewId, 1)).minCohortSize).toBe(20);
      expect((await openAsSeller(reviewId, 2)).minCohortSize).toBe(30);
      const { revisions } = await previewed(reviewId, 2);
      expect(revisions[1]!.preview?.kind).toBe('previewed');
    });

    it('the operator, reading the whole history with the codec keys and every API answer, finds no query text, comment or lint problem', async () => {
      // A second proposal of this buyer whose preview is refused with lint problems quoting its SQL.
      const lintedId = `review-${crypto.randomUUID()}`;
      await propose(lintedId, draftFor('lint-refused-too', { sql: INCOME_SQL }));
      const linted = await previewed(lintedId, 1);
      const raw = new Client({ connection: test.temporal.connection, namespace: 'default' });
      const historyOf = async (id: string) =>
        searchableText(
          await decodeHistoryJson(
            await raw.workflow.getHandle(templateReviewWorkflowId(id)).fetchHistory(),
            test.codec,
          ),
        );
      const decoded = (await historyOf(reviewId)) + (await historyOf(lintedId));
      // The check can fail: the history is decoded (the review's id and the drafts' hashes are there).
      expect(decoded).toContain(reviewId);
      expect(decoded).toContain(lintedId);
      const current = await status(reviewId, seller);
      for (const { draftHash } of current.revisions) expect(decoded).toContain(draftHash);
      const answers = JSON.stringify([
        current,
        await status(reviewId),
        linted,
        await status(lintedId, seller),
        await seller.get('/template-reviews'),
        await buyer().client.get('/template-reviews'),
        await seller.get(`${reviewPath(reviewId)}/revisions/1/draft`),
        ...current.comments.map((c) =>
          seller.get(`${reviewPath(reviewId)}/notes/${encodeURIComponent(c.note!.ref)}`),
        ),
      ]);
      // What the proposer opens with its reply key: the comments and the lint problems are there to find.
      const comments = [...(await openedByProposer(reviewId)).comments.values()];
      const issues = (await openedByProposer(lintedId)).issues.get(1) ?? [];
      expect(comments).toHaveLength(2);
      expect(issues.map((i) => i.message).join(' ')).toContain('income');
      const draft = draftFor(templateId);
      const secrets = [
        draft.sql,
        'BETWEEN $min_age',
        ...Object.keys(draft.parameters).filter((name) => name.includes('_')),
        draft.description,
        ...comments,
        ...issues.flatMap((i) => [i.message, i.fix]),
        'income',
      ];
      for (const secret of secrets) {
        expect(decoded).not.toContain(secret);
        expect(answers).not.toContain(secret);
      }
    });

    it('another buyer never sees the proposal: the same 404 as an id that does not exist', async () => {
      const other = party(test, 'thin-buyer').client;
      const unknown = await other.get(reviewPath(`review-${crypto.randomUUID()}`)).catch((e: unknown) => e);
      const hidden = await other.get(reviewPath(reviewId)).catch((e: unknown) => e);
      expect(hidden).toMatchObject({ status: 404, code: 'not_found' });
      expect((hidden as Error).message).toBe((unknown as Error).message);
      const revising = await propose(reviewId, revised, party(test, 'thin-buyer'), 3).catch(
        (e: unknown) => e,
      );
      expect((revising as Error).message).toBe((unknown as Error).message);
      const listed = await other.get<{ reviews: { reviewId: string }[] }>('/template-reviews');
      expect(listed.reviews.map((r) => r.reviewId)).not.toContain(reviewId);
    });

    it('an approval signed by another key, sent straight to Temporal by the operator, is refused', async () => {
      const template = approved(reviewId, revised);
      const forged = signTemplate(template, generateEd25519KeyPair().privateKeyPem);
      const handle = test.temporal.workflow.getHandle(templateReviewWorkflowId(reviewId));
      const reason = await updateRefusal(
        handle.executeUpdate(approveTemplateUpdate, { args: [{ template, signature: forged }] }),
      );
      expect(reason).toContain(`not seller ${test.seller.id}'s`);
      expect((await status(reviewId)).stage).toBe('open');
      const { templates } = await buyer().client.get<{ templates: { id: string }[] }>('/templates');
      expect(templates.map((t) => t.id)).not.toContain(templateId);
    });

    it('the seller approves by signing with its price and allowed uses; it enters the catalog', async () => {
      const template = approved(reviewId, revised);
      const done = await seller.post<TemplateReviewStatus>(`${reviewPath(reviewId)}/approval`, {
        template,
        signature: signTemplate(template, test.seller.keys.privateKeyPem),
      });
      expect(done).toMatchObject({ stage: 'approved', approvedTemplateHash: templateHash(template) });
      const { templates } = await buyer().client.get<{
        templates: { id: string; hash: string; price: string }[];
      }>('/templates');
      expect(templates.find((t) => t.id === templateId)).toMatchObject({
        hash: templateHash(template),
        price: '800',
      });
    });

    it('a revision after approval is refused, through the API and straight on Temporal', async () => {
      const late = draftFor(templateId, { minCohortSize: 10 });
      await expect(propose(reviewId, late, buyer(), 3)).rejects.toMatchObject({ status: 409 });
      const signed = await sealed(reviewId, late, buyer(), 3);
      const handle = test.temporal.workflow.getHandle(templateReviewWorkflowId(reviewId));
      await expect(handle.executeUpdate(reviseProposalUpdate, { args: [signed] })).rejects.toThrow();
      expect((await status(reviewId)).revisions).toHaveLength(2);
    });

    it("a deal on the approved template delivers, and its audit bundle links the template's review", async () => {
      const deal = await buyDeal(test.deployment, templateId, PARAMETERS);
      const delivered = await deal.delivered();
      expect(delivered.problem).toBeUndefined();
      await confirmDeal<DealStatus>(buyer().client, deal.dealId);
      await waitForStage(buyer().client, deal.dealId, (s) => s.stage === 'settled', 60_000);
      await test.temporal.workflow.getHandle(deal.dealId).result();
      const bundle = await buyer().client.get<SignedBundle>(`/deals/${deal.dealId}/audit-bundle`);
      const pinned = bundle.body.templates[0]!.template as QueryTemplate;
      expect(pinned.review).toEqual({ reviewId });
      // The link leads to the review that approved exactly this template.
      const review = await status(reviewId);
      expect(review.approvedTemplateHash).toBe(templateHash(pinned));
    });
  });

  describe('refusals', () => {
    it('the seller rejects with a reason: the proposal ends, nothing enters the catalog, and its history replays', async () => {
      const reviewId = `review-${crypto.randomUUID()}`;
      await propose(reviewId, draftFor('rejected-one'));
      await previewed(reviewId, 1);
      const rejected = await decide(reviewId, {
        decision: 'reject',
        revision: 1,
        message: 'we do not sell diagnoses',
      });
      expect(rejected.stage).toBe('rejected');
      expect(rejected.comments.at(-1)).toMatchObject({ kind: 'reject', message: SEALED_MESSAGE });
      expect((await openedByProposer(reviewId)).comments.get(0)).toBe('we do not sell diagnoses');
      await expect(
        decide(reviewId, { decision: 'comment', revision: 1, message: 'too late' }),
      ).rejects.toMatchObject({ status: 409 });
      const { templates } = await buyer().client.get<{ templates: { id: string }[] }>('/templates');
      expect(templates.map((t) => t.id)).not.toContain('rejected-one');
      // An auditor replays how the proposal was decided, against today's workflow code.
      await test.temporal.workflow.getHandle(templateReviewWorkflowId(reviewId)).result();
      await replay(test, templateReviewWorkflowId(reviewId));
    });

    it("a draft that breaks row independence is refused by the proposer's own lint, and again by the perimeter", async () => {
      const reviewId = `review-${crypto.randomUUID()}`;
      const draft = draftFor('row-dependent', {
        sql: 'SELECT person_id, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex ORDER BY cost DESC LIMIT 100',
      });
      const refused = await propose(reviewId, draft).catch((e: unknown) => e);
      expect((refused as Error).message).toMatch(/fails lint[\s\S]*LIMIT/);
      expect((refused as Error).message).toContain('fix:');
      await expect(status(reviewId)).rejects.toMatchObject({ status: 404 });
      // Sent without the CLI's lint: the perimeter lints what it opens, and previews nothing.
      await send(await sealed(reviewId, draft, buyer(), 1, false));
      const { revisions } = await previewed(reviewId, 1);
      expect(revisions[0]!.preview).toMatchObject({ kind: 'refused', reason: 'the draft fails lint' });
    });

    it("a rejection not signed by the seller's key, sent straight to Temporal, is refused", async () => {
      const reviewId = `review-${crypto.randomUUID()}`;
      const { scope } = await propose(reviewId, draftFor('kept-open'));
      const note = { ref: `sha256:${'0'.repeat(64)}`, hash: `sha256:${'1'.repeat(64)}` };
      const content = { decision: 'reject', revision: 1, note } as const;
      const statement = {
        ...scope,
        action: 'template_review' as const,
        principal: test.seller.id,
        content,
        notAfter: Date.now() + 60_000,
      };
      const forged = signDecision(generateEd25519KeyPair().privateKeyPem, statement);
      const handle = test.temporal.workflow.getHandle(templateReviewWorkflowId(reviewId));
      const reason = await updateRefusal(
        handle.executeUpdate(decideReviewUpdate, { args: [{ signed: forged }] }),
      );
      expect(reason).toMatch(/signature is not/);
      const byBuyer = signDecision(buyer().signingKeyPem, { ...statement, principal: buyer().id });
      expect(
        await updateRefusal(handle.executeUpdate(decideReviewUpdate, { args: [{ signed: byBuyer }] })),
      ).toMatch(/seller/);
      expect((await status(reviewId)).stage).toBe('open');
    });

    it('a draft naming a column the dataset lacks gets a refused preview with the declared columns, and cannot be approved', async () => {
      const reviewId = `review-${crypto.randomUUID()}`;
      const draft = draftFor('needs-income', { sql: INCOME_SQL });
      await propose(reviewId, draft);
      const { revisions } = await previewed(reviewId, 1);
      const preview = revisions[0]!.preview!;
      expect(preview.kind).toBe('refused');
      if (preview.kind !== 'refused') throw new Error('previewed');
      // The problems are sealed to both parties (and signed by the perimeter); each opens the same ones.
      expect(preview.issues).toEqual([]);
      expect(preview.sealedIssues?.count).toBeGreaterThan(0);
      const issues = (await openedByProposer(reviewId)).issues.get(1)!;
      expect(issues.map((i) => i.code)).toContain('unknown_column');
      expect(issues.find((i) => i.code === 'unknown_column')?.fix).toContain('visit_date');
      expect((await openedBySeller(reviewId)).issues.get(1)).toEqual(issues);
      const template = approved(reviewId, draft);
      await expect(
        seller.post(`${reviewPath(reviewId)}/approval`, {
          template,
          signature: signTemplate(template, test.seller.keys.privateKeyPem),
        }),
      ).rejects.toMatchObject({ status: 409 });
    });

    it('a revision the proposer did not sign, sent straight to Temporal, is never previewed', async () => {
      const reviewId = `review-${crypto.randomUUID()}`;
      await propose(reviewId, draftFor('forged-revision'));
      await previewed(reviewId, 1);
      const forged = await sealed(
        reviewId,
        draftFor('forged-revision', { minCohortSize: 2 }),
        {
          ...buyer(),
          signingKeyPem: generateEd25519KeyPair().privateKeyPem,
        },
        2,
      );
      await test.temporal.workflow
        .getHandle(templateReviewWorkflowId(reviewId))
        .executeUpdate(reviseProposalUpdate, { args: [forged] });
      const { revisions } = await previewed(reviewId, 2);
      expect(revisions[1]!.preview).toMatchObject({
        kind: 'refused',
        reason: expect.stringContaining('not signed'),
      });
    });

    it('a revision whose sealed draft the operator swapped for another, sent straight to Temporal, is refused by the perimeter', async () => {
      const reviewId = `review-${crypto.randomUUID()}`;
      await propose(reviewId, draftFor('swapped'));
      await previewed(reviewId, 1);
      // Two revisions the buyer sealed for this review; the operator pairs one's signature with the other's blob.
      const signed = await sealed(reviewId, draftFor('swapped', { minCohortSize: 30 }), buyer(), 2);
      const other = await sealed(reviewId, draftFor('swapped', { minCohortSize: 5 }), buyer(), 2);
      await test.temporal.workflow
        .getHandle(templateReviewWorkflowId(reviewId))
        .executeUpdate(reviseProposalUpdate, { args: [{ ...signed, draftRef: other.draftRef }] });
      const { revisions } = await previewed(reviewId, 2);
      expect(revisions[1]!.preview).toMatchObject({
        kind: 'refused',
        reason: expect.stringContaining('not the signed one'),
      });
      // Nothing previewed is approvable: the seller's approval of it is refused.
      const template = approved(reviewId, draftFor('swapped', { minCohortSize: 5 }));
      await expect(
        seller.post(`${reviewPath(reviewId)}/approval`, {
          template,
          signature: signTemplate(template, test.seller.keys.privateKeyPem),
        }),
      ).rejects.toMatchObject({ status: 409 });
      // The seller still rejects it, sealed to the reply key of the last revision that opens.
      await decide(reviewId, {
        decision: 'reject',
        revision: 2,
        message: 'revision 2 is not what you signed',
      });
      expect((await openedByProposer(reviewId)).comments.get(0)).toBe('revision 2 is not what you signed');
    });

    it("a comment in clear is refused, through the API and straight on Temporal under the seller's own signature", async () => {
      const reviewId = `review-${crypto.randomUUID()}`;
      const { scope } = await propose(reviewId, draftFor('clear-comment'));
      const content = { decision: 'comment', revision: 1, message: 'said in clear' } as const;
      const refused = await sendDecision(reviewId, content).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 422 });
      expect((refused as Error).message).toContain('sealed');
      const statement = {
        ...scope,
        action: 'template_review' as const,
        principal: test.seller.id,
        content,
        notAfter: Date.now() + 60_000,
      };
      const signed = signDecision(test.seller.keys.privateKeyPem, statement);
      const handle = test.temporal.workflow.getHandle(templateReviewWorkflowId(reviewId));
      expect(await updateRefusal(handle.executeUpdate(decideReviewUpdate, { args: [{ signed }] }))).toContain(
        'sealed',
      );
      expect((await status(reviewId)).comments).toEqual([]);
    });

    it("a sponsor's proposal is previewed, commented on under seal and approved into the catalog", async () => {
      const sponsor = party(test, 'sponsor');
      const reviewId = `review-${crypto.randomUUID()}`;
      const created = await propose(reviewId, draftFor('sponsored-cost-by-dx'), sponsor);
      expect(created).toMatchObject({ proposerId: sponsor.id, stage: 'open' });
      const { revisions } = await previewed(reviewId, 1, sponsor.client);
      expect(revisions[0]!.preview?.kind).toBe('previewed');
      await decide(reviewId, { decision: 'comment', revision: 1, message: 'fine for a grant check' });
      expect((await openedByProposer(reviewId, sponsor)).comments.get(0)).toBe('fine for a grant check');
      const template = approved(reviewId, draftFor('sponsored-cost-by-dx'));
      const done = await seller.post<TemplateReviewStatus>(`${reviewPath(reviewId)}/approval`, {
        template,
        signature: signTemplate(template, test.seller.keys.privateKeyPem),
      });
      expect(done).toMatchObject({ stage: 'approved', approvedTemplateHash: templateHash(template) });
      const { templates } = await sponsor.client.get<{ templates: { id: string }[] }>('/templates');
      expect(templates.map((t) => t.id)).toContain('sponsored-cost-by-dx');
    });

    it("an open proposal expires at the seller's deadline", async () => {
      const reviewId = `review-${crypto.randomUUID()}`;
      await propose(reviewId, draftFor('expiring'));
      await decide(reviewId, { decision: 'set_deadline', expiresAt: Date.now() + 3_000 });
      const expired = await waitFor(
        () => status(reviewId),
        (s) => s.stage === 'expired',
        30_000,
      );
      expect(expired.audit.map((e) => e.action)).toContain('expired');
      await expect(
        propose(reviewId, draftFor('expiring', { minCohortSize: 25 }), buyer(), 2),
      ).rejects.toMatchObject({
        status: 409,
      });
    });
  });
  describe('through the CLI: tusk buyer template and tusk seller review', () => {
    let keyHome: string;
    let env: Record<string, string>;
    const reviewId = `review-${crypto.randomUUID()}`;
    const draftFile = () => join(keyHome, 'draft.json');

    beforeAll(async () => {
      keyHome = await mkdtemp(join(tmpdir(), 'tusk-review-keys-'));
      env = { TUSK_HOME: keyHome, TUSK_API_URL: test.deployment.apiUrl };
      await writeFileAtomic(keyPaths(keyHome, buyer().id).signing, buyer().signingKeyPem, 0o600);
      await writeFileAtomic(keyPaths(keyHome, test.seller.id).signing, test.seller.keys.privateKeyPem, 0o600);
    });
    afterAll(async () => {
      if (keyHome) await rm(keyHome, { recursive: true, force: true });
    });

    it('a row-dependent draft is refused with every problem, exit 1', async () => {
      const draft = draftFor('cli-limited', { sql: `${draftFor('x').sql} LIMIT 5` });
      await writeFile(draftFile(), JSON.stringify(draft));
      const run = await tusk(['buyer', 'template', 'propose', draftFile(), '--as', buyer().id], env);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/the draft fails lint:\n  - order_limi/);
      expect(run.stderr).toContain('fix:');
    });

    it('propose, show with a diff, ask for changes, revise, approve with a price: it is for sale', async () => {
      await writeFile(draftFile(), JSON.stringify(draftFor('cli-cost-by-dx')));
      const asBuyer = ['--as', buyer().id];
      const asSeller = ['--as', test.seller.id];
      // The seller runs the perimeter: its CLI opens the sealed drafts with the perimeter's key.
      const withPerimeterKey = ['--perimeter-state', perimeterState()];
      await tuskOk(['buyer', 'template', 'propose', draftFile(), '--review-id', reviewId, ...asBuyer], env);
      await previewed(reviewId, 1);
      const shown = await tuskOk(
        ['seller', 'review', 'show', reviewId, ...asSeller, ...withPerimeterKey],
        env,
      );
      expect(shown).toContain('preview on a synthetic twin');
      // Opened with the perimeter's key: the seller reads the draft's SQL, which nobody else did.
      expect(shown).toContain(`SQL: ${draftFor('cli-cost-by-dx').sql}`);
      expect(shown).toContain("preview signed by the seller's perimeter key");
      // The nearest template it sells is one approved above, at another price and with other uses.
      expect(shown).toMatch(/differs from (proposed|sponsored)-cost-by-dx in:[\s\S]*price/);
      expect(await tuskOk(['seller', 'review', 'list', ...asSeller], env)).toContain(reviewId);
      await tuskOk(
        [
          'seller',
          'review',
          'request-changes',
          reviewId,
          'name it for diagnoses',
          ...asSeller,
          ...withPerimeterKey,
        ],
        env,
      );
      await writeFile(
        draftFile(),
        JSON.stringify(draftFor('cli-cost-by-dx', { title: 'Patients and cost per diagnosis group' })),
      );
      await tuskOk(['buyer', 'template', 'revise', reviewId, draftFile(), ...asBuyer], env);
      await previewed(reviewId, 2);
      const status = await tuskOk(['buyer', 'template', 'status', reviewId, ...asBuyer], env);
      expect(status).toContain('revision 2');
      expect(status).toContain(`request_changes: ${SEALED_MESSAGE}`);
      // The proposer opens its own sealed copy and the seller's sealed change request.
      const shownToBuyer = await tuskOk(['buyer', 'template', 'status', reviewId, '--show', ...asBuyer], env);
      expect(shownToBuyer).toContain('request_changes: name it for diagnoses');
      expect(shownToBuyer).toContain(`SQL: ${draftFor('cli-cost-by-dx').sql}`);
      await tuskOk(
        ['seller', 'review', 'approve', reviewId, '--price', '900', ...asSeller, ...withPerimeterKey],
        env,
      );
      const { templates } = await buyer().client.get<{ templates: { id: string; price: string }[] }>(
        '/templates',
      );
      expect(templates.find((t) => t.id === 'cli-cost-by-dx')?.price).toBe('900');
    });

    it('tusk sponsor template propose and status --show: a sponsor proposes and reads its own draft back', async () => {
      const sponsor = party(test, 'sponsor');
      await writeFileAtomic(keyPaths(keyHome, sponsor.id).signing, sponsor.signingKeyPem, 0o600);
      const sponsorReview = `review-${crypto.randomUUID()}`;
      await writeFile(draftFile(), JSON.stringify(draftFor('cli-sponsored')));
      const asSponsor = ['--as', sponsor.id];
      const proposed = await tuskOk(
        ['sponsor', 'template', 'propose', draftFile(), '--review-id', sponsorReview, ...asSponsor],
        env,
      );
      expect(proposed).toContain(`tusk sponsor template status ${sponsorReview}`);
      await previewed(sponsorReview, 1, sponsor.client);
      const shown = await tuskOk(
        ['sponsor', 'template', 'status', sponsorReview, '--show', ...asSponsor],
        env,
      );
      expect(shown).toContain(`SQL: ${draftFor('cli-sponsored').sql}`);
      expect(shown).toContain('preview on a synthetic twin');
    });
  });
});
