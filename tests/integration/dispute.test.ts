import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_ACCOUNT } from '../../activities/settlement/local-ledger';
import { BlobStore } from '../../lib/blob-store';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { DealStatus } from '../../workflows/deal/state';
import type { DisputeOutcome, DisputeStatus } from '../../workflows/dispute/state';
import { approveOutcomeUpdate } from '../../workflows/dispute/workflow';
import { disputeWorkflowId } from '../../workflows/workflow-ids';
import { buyDeal, startDealWorkflow, startTestDeployment, type TestDeployment } from './harness';
import {
  LIFECYCLE_PARTIES,
  party,
  registerAlias,
  replay,
  sellerIdentity,
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
        parties: LIFECYCLE_PARTIES,
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
    await expect(as('auditor').post(`/deals/${dealId}/dispute`, { reason: 'x' })).rejects.toMatchObject({
      status: 403,
    });
    const opened = await buyer.client.post<DealStatus>(`/deals/${dealId}/dispute`, {
      reason: 'the table is empty',
    });
    expect(opened).toMatchObject({ stage: 'disputed', dispute: { openedBy: buyer.id } });
    await expect(seller.client.post(`/deals/${dealId}/dispute`, { reason: 'me too' })).rejects.toMatchObject({
      status: 409,
      code: 'invalid_state',
    });
    await expect(buyer.client.post(`/deals/${dealId}/confirm`)).rejects.toMatchObject({
      code: 'not_confirmable',
    });
    await waitFor(
      () => dispute().catch(() => undefined),
      (s) => s?.stage === 'open',
    );
  });

  it("the named reviewer reads both parties' evidence until the access expires", async () => {
    await buyer.client.post(`/deals/${dealId}/dispute/evidence`, {
      evidence: 'buyer: 0 rows for my zip codes',
    });
    await seller.client.post(`/deals/${dealId}/dispute/evidence`, {
      evidence: 'seller: groups under k are withheld',
    });
    const named = await as('compliance-1').post<DisputeStatus>(`/deals/${dealId}/dispute/reviewer`, {
      reviewerId: 'reviewer',
    });
    const read = await as('reviewer').get<{ evidence: { by: string; text: string }[] }>(
      `/deals/${dealId}/dispute/evidence`,
    );
    // The reviewer is compliance: it learns each author's side, not who they are.
    expect(read.evidence.map((e) => e.by)).toEqual(['(buyer)', '(seller)']);
    await expect(as('compliance-2').get(`/deals/${dealId}/dispute/evidence`)).rejects.toMatchObject({
      status: 403,
    });

    // Every read is recorded, so wait out the access rather than polling the evidence.
    await sleepUntil(named.reviewer!.accessUntil);
    await expect(as('reviewer').get(`/deals/${dealId}/dispute/evidence`)).rejects.toMatchObject({
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

  /** An approval as its principal signs it: over (the dispute's workflow id, outcome). */
  const approve = (id: string, outcome: DisputeOutcome) =>
    as(id).post<DisputeStatus>(`/deals/${dealId}/dispute/approvals`, {
      outcome,
      signature: as(id).signDecision(disputeWorkflowId(dealId), outcome),
    });

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
    const signedForAnother = as('compliance-2').signDecision(disputeWorkflowId(dealId), { kind: 'refund' });
    await expect(
      as('compliance-2').post(`/deals/${dealId}/dispute/approvals`, {
        outcome: split,
        signature: signedForAnother,
      }),
    ).rejects.toMatchObject({ status: 422, code: 'decision_signature_invalid' });

    // Straight to Temporal, bypassing the API: compliance-1's key approving a second time.
    const handle = test.temporal.workflow.getHandle(disputeWorkflowId(dealId));
    const send = (principal: string, signature: string) =>
      updateRefusal(
        handle.executeUpdate(approveOutcomeUpdate, { args: [{ principal, outcome: split, signature }] }),
      );
    const signedByOne = as('compliance-1').signDecision(disputeWorkflowId(dealId), split);
    expect(await send('compliance-1', signedByOne)).toMatch(/compliance-1 has already decided/);
    expect(await send('compliance-2', signedByOne)).toBe(
      `the signature is not compliance-2's over this decision on ${disputeWorkflowId(dealId)}`,
    );
    expect(await send('compliance-2', 'A'.repeat(86))).toMatch(/the signature is not compliance-2's/);
    expect(await send('auditor', signedByOne)).toBe('auditor is not a registered compliance principal');
    await registerAlias(test, 'compliance-alias', 'compliance-1');
    expect(await send('compliance-alias', signedByOne)).toMatch(
      /key that signed compliance-alias's decision/,
    );
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

  it('with no decision, the default outcome applies at the timeout', async () => {
    const quietDeal = `quiet-${crypto.randomUUID()}`;
    // Started as an operator would (with the buyer's signed terms), to give this one deal a
    // three-second dispute timeout.
    const handle = await startDealWorkflow(test, {
      dealId: quietDeal,
      templateId: template.id,
      templateHash: templateHash(template),
      parameters: PARAMETERS,
      acceptanceTimeoutMs: 300_000,
      dispute: { reviewerAccessMs: 1000, resolutionTimeoutMs: 3000, defaultOutcome: { kind: 'refund' } },
    });
    await waitFor(
      () => buyer.client.get<DealStatus>(`/deals/${quietDeal}`),
      (s) => s.stage === 'delivered',
    );
    await seller.client.post(`/deals/${quietDeal}/dispute`, { reason: 'the buyer will not confirm' });
    const final = await handle.result();
    expect(final).toMatchObject({
      stage: 'refunded',
      dispute: { outcome: { kind: 'refund' }, resolvedBy: 'timeout' },
    });
    expect(await test.deployment.ledger.balanceOf(buyer.id)).toBe(4600n);
  });

  it("the deal's and the dispute's recorded histories replay", async () => {
    await replay(test, dealId);
    await replay(test, disputeWorkflowId(dealId));
  });
});
