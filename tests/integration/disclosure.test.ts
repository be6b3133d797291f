import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../lib/blob-store';
import { canonicalHash } from '../../lib/canonical-json';
import type { DisclosureStatus } from '../../workflows/disclosure/state';
import { disclosureWorkflowId } from '../../workflows/workflow-ids';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { historyText, LIFECYCLE_PARTIES, party, replay, sleepUntil, waitFor } from './lifecycle-harness';

const VIEW_MS = 8000;

describe("selective disclosure of a deal's hidden fields", () => {
  let test: TestDeployment;
  let dealId: string;
  const disclosureId = `disclosure-${crypto.randomUUID()}`;
  const as = (id: string) => party(test, id).client;
  const status = () => as('auditor').get<DisclosureStatus>(`/disclosures/${disclosureId}`);
  const view = () =>
    as('auditor').get<{ fields: Record<string, string> }>(`/disclosures/${disclosureId}/view`);

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

    await as('compliance-1').post(`/disclosures/${disclosureId}/decisions`, { decision: 'approve' });
    await expect(view()).rejects.toMatchObject({ code: 'not_approved' });
    await expect(
      as('compliance-1').post(`/disclosures/${disclosureId}/decisions`, { decision: 'approve' }),
    ).rejects.toMatchObject({ status: 409, code: 'already_decided' });
    await expect(
      as('auditor').post(`/disclosures/${disclosureId}/decisions`, { decision: 'approve' }),
    ).rejects.toMatchObject({ status: 403 });

    const approved = await as('compliance-2').post<DisclosureStatus>(
      `/disclosures/${disclosureId}/decisions`,
      {
        decision: 'approve',
      },
    );
    expect(approved).toMatchObject({ stage: 'approved' });
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
