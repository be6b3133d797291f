import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_ACCOUNT } from '../../activities/settlement/local-ledger';
import { BlobStore } from '../../lib/blob-store';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { DealStatus } from '../../workflows/deal/state';
import type { DisputeOutcome, DisputeStatus } from '../../workflows/dispute/state';
import {
  addEvidenceUpdate,
  approveOutcomeUpdate,
  concedeUpdate,
  nameReviewerUpdate,
} from '../../workflows/dispute/workflow';
import { signDecision, type SignedDecision } from '../../lib/signed-decision';
import {
  addDisputeEvidence,
  approveOutcome,
  concedeDispute,
  confirmDeal,
  nameReviewer,
  openDispute,
  readDisputeEvidence,
} from '../../lib/signed-actions';
import { disputeWorkflowId } from '../../lib/ids/workflow-ids';
import { buyDeal, startDealWorkflow, startTestDeployment, type TestDeployment } from './harness';
import {
  LIFECYCLE_PARTIES,
  party,
  registerAlias,
  replay,
  sellerIdentity,
  signedBy,
  sleepUntil,
  updateRefusal,
  waitFor,
} from './lifecycle-harness';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const REVIEWER_ACCESS_MS = 10_000;

describe('a dispute inside the acceptance window', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let buyer: PartyIdentity;
  let seller: Pick<PartyIdentity, 'id' | 'client'>;
  let dealId: string;
  const as = (id: string) => party(test, id).client;

  beforeAll(async () => {
    test = await startTestDeployment(
      'dispute',
      async (s) => {
        template = await s.publishDemoTemplate();
      },
      {
        parties: [
          ...LIFECYCLE_PARTIES,
          { id: 'ops', role: 'operator' },
          { id: 'other-seller', role: 'seller' },
        ],
        acceptanceTimeoutMs: 300_000,
        env: { TUSK_REVIEWER_ACCESS_MS: String(REVIEWER_ACCESS_MS), TUSK_DISPUTE_TIMEOUT_MS: '300000' },
      },
    );
    buyer = test.deployment.buyer;
    seller = sellerIdentity(test);
  });
  afterAll(() => test?.close());

  const dispute = () => as('compliance-1').get<DisputeStatus>(`/deals/${dealId}/dispute`);

  it('either party opens it; the deal can no longer be confirmed', async () => {
    const deal = await buyDeal(test.deployment, template.id, PARAMETERS);
    dealId = deal.dealId;
    await deal.delivered();
    await expect(openDispute(as('auditor'), dealId, 'x')).rejects.toMatchObject({
      status: 403,
    });
    const opened = await openDispute<DealStatus>(buyer.client, dealId, 'the table is empty');
    expect(opened).toMatchObject({ stage: 'disputed', dispute: { openedBy: buyer.id } });
    await expect(openDispute(seller.client, dealId, 'me too')).rejects.toMatchObject({
      status: 409,
      code: 'invalid_state',
    });
    await expect(confirmDeal(buyer.client, dealId)).rejects.toMatchObject({
      code: 'not_confirmable',
    });
    await waitFor(
      () => dispute().catch(() => undefined),
      (s) => s?.stage === 'open',
    );
  });

  it("the named reviewer reads both parties' evidence until the access expires", async () => {
    await addDisputeEvidence(buyer.client, dealId, 'buyer: 0 rows for my zip codes');
    await addDisputeEvidence(seller.client, dealId, 'seller: groups under k are withheld');

    // Straight to Temporal: a nomination and evidence sent as plain strings, as before they were signed.
    const handle = test.temporal.workflow.getHandle(disputeWorkflowId(dealId));
    const plainNomination = { reviewerId: 'auditor', namedBy: 'compliance-1' } as never;
    expect(
      await updateRefusal(handle.executeUpdate(nameReviewerUpdate, { args: [plainNomination] })),
    ).toMatch(/not signed/);
    const plainEvidence = { by: buyer.id, ref: `sha256:${'0'.repeat(64)}` } as never;
    expect(await updateRefusal(handle.executeUpdate(addEvidenceUpdate, { args: [plainEvidence] }))).toMatch(
      /not signed/,
    );
    // The buyer's key signing evidence in the seller's name: refused by the coordinator.
    const { scope } = await dispute();
    const forged = signedBy(
      test,
      buyer.id,
      scope!,
      'dispute_evidence',
      { ref: `sha256:${'1'.repeat(64)}` },
      {
        principal: seller.id,
      },
    );
    expect(
      await updateRefusal(handle.executeUpdate(addEvidenceUpdate, { args: [{ signed: forged }] })),
    ).toMatch(new RegExp(`the signature is not ${seller.id}'s`));
    // The operator, a registered nominator, signs a nomination of a party that is no reviewer (a
    // buyer or sponsor outside the deal, itself, or nobody registered) and sends it straight to
    // Temporal: the coordinator checks the nominee's registered role, which the API alone did before.
    for (const nominee of ['lab', 'sponsor', 'ops', 'nobody-registered']) {
      const nomination = signedBy(test, 'ops', scope!, 'reviewer_nomination', { reviewerId: nominee });
      expect(
        await updateRefusal(handle.executeUpdate(nameReviewerUpdate, { args: [{ signed: nomination }] })),
      ).toMatch(new RegExp(`${nominee} is not a registered compliance or auditor party`));
    }
    expect((await dispute()).reviewer).toBeUndefined();
    expect((await dispute()).audit.map((e) => e.action)).not.toContain('reviewer_named');

    const named = await nameReviewer<DisputeStatus>(as('compliance-1'), dealId, 'reviewer');
    const read = await readDisputeEvidence<{ evidence: { by: string; text: string }[] }>(
      as('reviewer'),
      dealId,
    );
    // The reviewer is compliance: it learns each author's side, not who they are.
    expect(read.evidence.map((e) => e.by)).toEqual(['(buyer)', '(seller)']);
    await expect(readDisputeEvidence(as('compliance-2'), dealId)).rejects.toMatchObject({ status: 403 });

    // Every read is recorded, so wait out the access rather than polling the evidence.
    await sleepUntil(named.reviewer!.accessUntil);
    await expect(readDisputeEvidence(as('reviewer'), dealId)).rejects.toMatchObject({
      status: 403,
      code: 'access_expired',
    });
    const expired = await waitFor(dispute, (s) => s.reviewer?.expired === true);
    expect(expired.audit.map((e) => e.action)).toEqual([
      'opened',
      'evidence_added',
      'evidence_added',
      'reviewer_named',
      'evidence_read',
      'reviewer_access_ended',
    ]);
    expect(expired.audit.at(-1)).toMatchObject({ by: 'timer' });
  });

  /** An approval as its principal signs it, through the SDK: bound to the dispute's run and deal. */
  const approve = (id: string, outcome: DisputeOutcome) =>
    approveOutcome<DisputeStatus>(as(id), dealId, outcome);

  it('one approval is not enough; a second, distinct one pays the split', async () => {
    const split: DisputeOutcome = { kind: 'split', sellerBps: 4000 };
    const once = await approve('compliance-1', split);
    expect(once.stage).toBe('open');
    expect(once.approvals).toEqual([
      {
        principal: 'compliance-1',
        key: as('compliance-1').publicKey,
        decision: split,
        at: expect.any(Number),
      },
    ]);
    await expect(approve('compliance-1', split)).rejects.toMatchObject({
      status: 409,
      code: 'already_decided',
    });
    await expect(approve('auditor', split)).rejects.toMatchObject({ status: 403 });
    const { scope } = await dispute();
    const signedForAnother = signedBy(test, 'compliance-2', scope!, 'dispute_outcome', {
      outcome: { kind: 'refund' },
    });
    await expect(
      as('compliance-2').post(`/deals/${dealId}/dispute/approvals`, {
        outcome: split,
        notAfter: signedForAnother.statement.notAfter,
        signature: signedForAnother.signature,
      }),
    ).rejects.toMatchObject({ status: 422, code: 'decision_signature_invalid' });

    // Straight to Temporal, bypassing the API: compliance-1's key approving a second time.
    const handle = test.temporal.workflow.getHandle(disputeWorkflowId(dealId));
    const send = (signed: unknown) =>
      updateRefusal(handle.executeUpdate(approveOutcomeUpdate, { args: [{ signed } as never] }));
    const byOne = (principal: string, options: { notAfter?: number } = {}) =>
      signedBy(
        test,
        'compliance-1',
        scope!,
        'dispute_outcome',
        { outcome: split },
        { principal, ...options },
      );
    expect(await send(byOne('compliance-1'))).toMatch(/compliance-1 has already decided/);
    expect(await send(byOne('compliance-2'))).toBe(
      `the signature is not compliance-2's over this decision on ${disputeWorkflowId(dealId)}`,
    );
    const blank: SignedDecision = { ...byOne('compliance-2'), signature: 'A'.repeat(86) };
    expect(await send(blank)).toMatch(/the signature is not compliance-2's/);
    expect(await send(byOne('auditor'))).toBe('auditor is not a registered compliance principal');
    expect(await send(byOne('compliance-2', { notAfter: Date.now() - 1 }))).toMatch(/expired/);
    expect(
      await updateRefusal(
        handle.executeUpdate(approveOutcomeUpdate, {
          args: [{ principal: 'compliance-2', outcome: split, signature: 'A'.repeat(86) } as never],
        }),
      ),
    ).toMatch(/not signed/);
    await registerAlias(test, 'compliance-alias', 'compliance-1');
    expect(await send(byOne('compliance-alias'))).toMatch(/key that signed compliance-alias's decision/);
    const still = await dispute();
    expect(still).toMatchObject({ stage: 'open' });
    expect(still.approvals.map((a) => a.principal)).toEqual(['compliance-1']);
    const { ledger } = test.deployment;
    expect(await ledger.balanceOf(test.seller.id)).toBe(0n);
    expect(await ledger.balanceOf(buyer.id)).toBe(4000n);

    const twice = await approve('compliance-2', split);
    expect(twice).toMatchObject({ stage: 'resolved', resolvedBy: 'approvals', outcome: split });
    const settled = await waitFor(
      () => buyer.client.get<DealStatus>(`/deals/${dealId}`),
      (s) => s.stage === 'settled',
    );
    expect(settled.dispute).toMatchObject({ outcome: split, resolvedBy: 'approvals' });
    expect(await ledger.balanceOf(test.seller.id)).toBe(390n);
    expect(await ledger.balanceOf(OPERATOR_ACCOUNT)).toBe(10n);
    expect(await ledger.balanceOf(buyer.id)).toBe(4600n);

    const record = (await new BlobStore(join(test.home, 'blobs')).get(settled.dispute!.auditRef!)).toString();
    expect(record).toContain('"action":"resolved"');
    expect(record).not.toContain('0 rows for my zip codes');
  });

  it('a default refund at the timeout waits for signatures; only the seller concedes it, and the buyer is refunded', async () => {
    const quietDeal = `quiet-${crypto.randomUUID()}`;
    // Started as an operator would (with the buyer's signed terms), to give this one deal a
    // three-second dispute timeout. Neither party signs the dispute terms, so the default outcome
    // is the operator's word: settlement refunds a delivered deal only on the compliance votes or the
    // seller's own consent, and the dispute waits for one of them rather than closing without.
    const handle = await startDealWorkflow(test, {
      dealId: quietDeal,
      templateId: template.id,
      templateHash: templateHash(template),
      parameters: PARAMETERS,
      acceptanceTimeoutMs: 300_000,
      dispute: { reviewerAccessMs: 1000, resolutionTimeoutMs: 3000, defaultOutcome: { kind: 'refund' } },
    });
    const dealOf = () => buyer.client.get<DealStatus>(`/deals/${quietDeal}`);
    const delivered = await waitFor(dealOf, (s) => s.stage === 'delivered');
    const { ledger } = test.deployment;
    const frozen = await ledger.balanceOf(buyer.id);
    const sellerBefore = await ledger.balanceOf(test.seller.id);
    await openDispute(seller.client, quietDeal, 'the buyer will not confirm');
    const asSeller = () => seller.client.get<DisputeStatus>(`/deals/${quietDeal}/dispute`);
    // The dispute child may not be started yet right after the opening.
    const waited = await waitFor(
      () => asSeller().catch(() => undefined),
      (s) => s?.defaultWithheld === true,
      60_000,
    );
    const waiting = waited!;
    expect(waiting).toMatchObject({ stage: 'open', escrowId: expect.stringContaining(quietDeal) });
    expect(waiting.audit.map((e) => e.action)).toContain('default_withheld');
    expect(await dealOf()).toMatchObject({ stage: 'disputed' });

    // The buyer "conceding" through the API: not the seller.
    await expect(concedeDispute(buyer.client, quietDeal)).rejects.toMatchObject({ status: 403 });
    // Straight to Temporal, each with the escrow the dispute names and its run's scope.
    const disputeHandle = test.temporal.workflow.getHandle(disputeWorkflowId(quietDeal));
    const send = (signed: unknown) =>
      updateRefusal(disputeHandle.executeUpdate(concedeUpdate, { args: [{ signed } as never] }));
    const consent = { escrowId: waiting.escrowId };
    const scope = waiting.scope!;
    // The buyer's key, and the operator's, each signing in the seller's name.
    for (const signer of [buyer.id, 'ops'])
      expect(
        await send(signedBy(test, signer, scope, 'refund_consent', consent, { principal: seller.id })),
      ).toBe(`the signature is not ${seller.id}'s over this decision on ${disputeWorkflowId(quietDeal)}`);
    // The buyer, a compliance principal and another registered seller, each signing as itself.
    for (const signer of [buyer.id, 'compliance-1', 'other-seller'])
      expect(await send(signedBy(test, signer, scope, 'refund_consent', consent))).toMatch(
        new RegExp(`must sign it`),
      );
    // The seller's own key, but over another escrow, or unsigned.
    const sellerSigned = (content: { escrowId: string }) =>
      signDecision(test.seller.keys.privateKeyPem, {
        ...scope,
        action: 'refund_consent',
        principal: seller.id,
        content,
        notAfter: Date.now() + 60_000,
      });
    expect(await send(sellerSigned({ escrowId: `${consent.escrowId}x` }))).toMatch(/signed over/);
    expect(await send({ ...sellerSigned(consent), signature: 'A'.repeat(86) })).toMatch(
      new RegExp(`the signature is not ${seller.id}'s`),
    );
    expect(await send({ principal: seller.id, escrowId: consent.escrowId })).toMatch(/not signed/);
    expect(await asSeller()).toMatchObject({ stage: 'open' });
    expect(await ledger.balanceOf(buyer.id)).toBe(frozen);
    expect(await ledger.balanceOf(test.seller.id)).toBe(sellerBefore);

    // The seller concedes: the dispute resolves as a refund, and settlement refunds on its consent.
    const conceded = await concedeDispute<DisputeStatus>(seller.client, quietDeal);
    expect(conceded).toMatchObject({
      stage: 'resolved',
      outcome: { kind: 'refund' },
      resolvedBy: 'concession',
    });
    const refunded = await waitFor(dealOf, (s) => s.stage === 'refunded');
    expect(refunded.dispute).toMatchObject({ outcome: { kind: 'refund' }, resolvedBy: 'concession' });
    expect(await ledger.balanceOf(buyer.id)).toBe(frozen + BigInt(delivered.price));
    expect(await ledger.balanceOf(test.seller.id)).toBe(sellerBefore);
    await expect(concedeDispute(seller.client, quietDeal)).rejects.toMatchObject({ status: 409 });
    await replay(test, disputeWorkflowId(quietDeal));
    await replay(test, handle.workflowId);
  });

  it("the deal's and the dispute's recorded histories replay", async () => {
    await replay(test, dealId);
    await replay(test, disputeWorkflowId(dealId));
  });
});
