import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../lib/blob-store';
import { canonicalHash } from '../../lib/canonical-json';
import type { DisclosureDecision, DisclosureStatus } from '../../workflows/disclosure/state';
import { decideDisclosureUpdate } from '../../workflows/disclosure/workflow';
import { disclosureWorkflowId } from '../../workflows/workflow-ids';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import {
  historyText,
  LIFECYCLE_PARTIES,
  party,
  registerAlias,
  replay,
  sleepUntil,
  updateRefusal,
  waitFor,
} from './lifecycle-harness';

const VIEW_MS = 8000;

describe("selective disclosure of a deal's hidden fields", () => {
  let test: TestDeployment;
  let dealId: string;
  const disclosureId = `disclosure-${crypto.randomUUID()}`;
  const as = (id: string) => party(test, id).client;
  const status = () => as('auditor').get<DisclosureStatus>(`/disclosures/${disclosureId}`);
  const view = () =>
    as('auditor').get<{ fields: Record<string, string> }>(`/disclosures/${disclosureId}/view`);

  const workflowId = () => disclosureWorkflowId(disclosureId);
  /** A decision as its principal signs it: over (the disclosure's workflow id, decision). */
  const decide = (id: string, decision: DisclosureDecision) =>
    as(id).post<DisclosureStatus>(`/disclosures/${disclosureId}/decisions`, {
      decision,
      signature: as(id).signDecision(workflowId(), decision),
    });

  beforeAll(async () => {
    test = await startTestDeployment(
      'disclosure',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      {
        parties: LIFECYCLE_PARTIES,
        env: { TUSK_DISCLOSURE_VIEW_MS: String(VIEW_MS) },
      },
    );
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', {
      min_age: 30,
      max_age: 50,
      sex: 'F',
    });
    dealId = deal.dealId;
    await deal.delivered();
  });
  afterAll(() => test?.close());

  it('an auditor sees the deal without its parties and amount', async () => {
    const seen = await as('auditor').get<Record<string, unknown>>(`/deals/${dealId}`);
    expect(seen).toMatchObject({ dealId, hidden: ['parties', 'amount'] });
    expect(seen).not.toHaveProperty('buyerId');
    expect(seen).not.toHaveProperty('sellerId');
    expect(seen).not.toHaveProperty('price');
  });

  it('needs two approvals from distinct compliance principals before anything is shown', async () => {
    const requested = await as('auditor').request<DisclosureStatus>('POST', '/disclosures', {
      disclosureId,
      dealId,
      reason: 'quarterly sample of settled deals',
    });
    expect(requested.status).toBe(201);
    expect(requested.body).toMatchObject({ stage: 'pending', fields: ['parties', 'amount'] });
    await expect(view()).rejects.toMatchObject({ status: 409, code: 'not_approved' });

    await decide('compliance-1', 'approve');
    await expect(view()).rejects.toMatchObject({ code: 'not_approved' });
    await expect(decide('compliance-1', 'approve')).rejects.toMatchObject({
      status: 409,
      code: 'already_decided',
    });
    await expect(decide('auditor', 'approve')).rejects.toMatchObject({ status: 403 });
    const deny = as('compliance-2').signDecision(workflowId(), 'deny');
    await expect(
      as('compliance-2').post(`/disclosures/${disclosureId}/decisions`, {
        decision: 'approve',
        signature: deny,
      }),
    ).rejects.toMatchObject({ status: 422, code: 'decision_signature_invalid' });

    // Straight to Temporal, bypassing the API: one key approving twice, under two names.
    const handle = test.temporal.workflow.getHandle(workflowId());
    const send = (principal: string, signature: string) =>
      updateRefusal(
        handle.executeUpdate(decideDisclosureUpdate, {
          args: [{ principal, decision: 'approve', signature }],
        }),
      );
    const signedByOne = as('compliance-1').signDecision(workflowId(), 'approve');
    expect(await send('compliance-2', signedByOne)).toMatch(/the signature is not compliance-2's/);
    await registerAlias(test, 'compliance-alias', 'compliance-1');
    expect(await send('compliance-alias', signedByOne)).toMatch(
      /key that signed compliance-alias's decision/,
    );
    await expect(view()).rejects.toMatchObject({ code: 'not_approved' });
    expect((await status()).stage).toBe('pending');

    const approved = await decide('compliance-2', 'approve');
    expect(approved).toMatchObject({ stage: 'approved' });
    expect(new Set(approved.decisions.map((d) => d.key)).size).toBe(2);
  });

  it('shows the fields to the auditor who asked, records the view, and expires', async () => {
    const fields = { buyerId: test.deployment.buyer.id, sellerId: test.seller.id, price: '1000' };
    expect((await view()).fields).toEqual(fields);
    await expect(as('compliance-1').get(`/disclosures/${disclosureId}/view`)).rejects.toMatchObject({
      status: 403,
    });
    const viewed = await status();
    expect(viewed.views).toEqual([
      {
        viewer: 'auditor',
        at: expect.any(Number),
        fields: ['parties', 'amount'],
        valuesHash: canonicalHash({ dealId, ...fields }),
      },
    ]);

    await sleepUntil(viewed.viewUntil!);
    await expect(view()).rejects.toMatchObject({ status: 403, code: 'access_expired' });
    const expired = await waitFor(status, (s) => s.stage === 'expired' && s.auditRef !== undefined);
    expect(expired.audit.map((e) => e.action)).toEqual([
      'requested',
      'approved',
      'approved',
      'view_opened',
      'viewed',
      'view_expired',
    ]);

    const record = (await new BlobStore(join(test.home, 'blobs')).get(expired.auditRef!)).toString();
    expect(record).toContain('"action":"viewed"');
    expect(record).toContain(canonicalHash({ dealId, ...fields }));
    const history = await historyText(test, disclosureWorkflowId(disclosureId));
    for (const text of [record, history]) expect(text).not.toContain(fields.buyerId);
  });

  it('replays its recorded history', async () => {
    await replay(test, disclosureWorkflowId(disclosureId));
  });
});
