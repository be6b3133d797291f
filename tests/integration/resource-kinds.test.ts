import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeKeys } from '../../cli/buyer/he-keys';
import { TuskApiError, type TuskClient } from '../../lib/tusk-client';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { DealStatus } from '../../workflows/deal/state';
import type { DisclosureStatus } from '../../workflows/disclosure/state';
import type { DisputeStatus } from '../../workflows/dispute/state';
import type { GrantStatus } from '../../workflows/grant/state';
import {
  disclosureWorkflowId,
  disputeWorkflowId,
  grantWorkflowId,
  subscriptionWorkflowId,
} from '../../lib/ids/workflow-ids';
import {
  budgetOf,
  buyDeal,
  RESEARCH_IN_US,
  startDealBehindTheApi,
  startTestDeployment,
  TestSeller,
  type TestDeployment,
} from './harness';
import { party, terminateRunning, waitFor } from './lifecycle-harness';
import {
  approveMilestone,
  approveOutcome,
  decideDisclosure,
  extendMilestone,
  openDispute,
  submitGrantEvidence,
  viewDisclosure,
} from '../../lib/signed-actions';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const PRICE_A = '1234';
const PRICE_B = '1111';
const DATED = 'visits-by-date';

/** A template over a date range and a minimum cost: typed parameters and a from ≤ to constraint. */
const datedChanges = (): Partial<QueryTemplate> => ({
  id: DATED,
  sql: 'SELECT person_id, zip3, diagnosis_code, cost FROM patients WHERE visit_date BETWEEN $from AND $to AND cost >= $min_cost',
  parameters: {
    from: { type: 'date', min: '2024-01-01', max: '2025-12-31' },
    to: { type: 'date', min: '2024-01-01', max: '2025-12-31' },
    min_cost: { type: 'decimal', scale: 2, min: '0.00', max: '5000.00' },
  },
  constraints: [{ lessOrEqual: ['from', 'to'] }],
  multiSeller: false,
  privateSelection: false,
});

/** The HTTP status a request ends with, whether it succeeded or was refused. */
async function statusOf(attempt: Promise<unknown>): Promise<{ status: number; code?: string }> {
  try {
    await attempt;
    return { status: 200 };
  } catch (error) {
    if (error instanceof TuskApiError) return { status: error.status, code: error.code };
    throw error;
  }
}

describe('ids of every kind, sellers by name, typed parameters and lifecycle fixes, through the API', () => {
  let test: TestDeployment;
  let sellerB: TestSeller;
  let keyHome: string;
  const templates = new Map<string, QueryTemplate>();
  let dated: QueryTemplate;
  const ids = {
    deal: '',
    multi: `multi-${crypto.randomUUID()}`,
    subscription: `sub-${crypto.randomUUID()}`,
    grant: `grant-${crypto.randomUUID()}`,
    disclosure: `disclosure-${crypto.randomUUID()}`,
    multiDisclosure: `disclosure-${crypto.randomUUID()}`,
  };
  const as = (id: string): TuskClient => party(test, id).client;
  let buyer: TuskClient;

  beforeAll(async () => {
    test = await startTestDeployment(
      'kinds',
      async (first) => {
        sellerB = new TestSeller(`${first.id}-b`, first.policiesRoot);
        templates.set(first.id, await first.publishDemoTemplate({ price: PRICE_A }));
        templates.set(sellerB.id, await sellerB.publishDemoTemplate({ price: PRICE_B }));
        dated = await first.publishDemoTemplate(datedChanges());
        await sellerB.publishDatasetPolicy();
      },
      () => ({
        buyerFunds: 100_000n,
        acceptanceTimeoutMs: 600_000,
        extraSellers: [{ sellerId: sellerB.id, sellerPublicKey: sellerB.keys.publicKey, rows: 20_000 }],
        parties: [
          { id: 'sponsor', role: 'sponsor', funds: 100_000n },
          { id: 'thin-sponsor', role: 'sponsor', funds: 500n },
          { id: 'thin-buyer', role: 'buyer', funds: 1000n },
          { id: 'lab', role: 'buyer' },
          { id: 'auditor', role: 'auditor' },
          { id: 'compliance-1', role: 'compliance' },
          { id: 'compliance-2', role: 'compliance' },
          { id: 'operator-1', role: 'operator' },
        ],
        env: { TUSK_MIN_PERIOD_MS: '1000' },
      }),
    );
    buyer = test.deployment.buyer.client;
    const hashOf = (sellerId: string) => templateHash(templates.get(sellerId)!);
    const templateId = templates.get(test.seller.id)!.id;

    const deal = await buyDeal(test.deployment, templateId, PARAMETERS, undefined, undefined, test.seller.id);
    ids.deal = deal.dealId;
    expect((await deal.delivered()).stage).toBe('delivered');
    await openDispute(buyer, ids.deal, 'the table looks thin');
    await waitFor(
      () =>
        as('operator-1')
          .get(`/deals/${ids.deal}/dispute`)
          .catch(() => undefined),
      (s) => s !== undefined,
    );
    await as('auditor').post('/disclosures', {
      disclosureId: ids.disclosure,
      dealId: ids.deal,
      reason: 'sample of disputed deals',
    });

    keyHome = await mkdtemp(join(tmpdir(), 'tusk-he-kinds-'));
    const heKeyRef = await createHeKeys(buyer, keyHome, test.deployment.buyer.id);
    await buyer.post(
      '/multi-seller-deals',
      buyer.signed('multi_seller', {
        dealId: ids.multi,
        templateId,
        sellers: [test.seller.id, sellerB.id].map((sellerId) => ({
          sellerId,
          templateHash: hashOf(sellerId),
          price: sellerId === test.seller.id ? PRICE_A : PRICE_B,
        })),
        parameters: PARAMETERS,
        price: String(Number(PRICE_A) + Number(PRICE_B)),
        heKeyRef,
        compliance: RESEARCH_IN_US,
      }),
    );
    await buyer.post(
      '/subscriptions',
      buyer.signed('subscription', {
        subscriptionId: ids.subscription,
        queries: [
          {
            templateId,
            sellerId: test.seller.id,
            templateHash: hashOf(test.seller.id),
            parameters: PARAMETERS,
          },
        ],
        pricePerPeriod: PRICE_A,
        periodSeconds: 3600,
        buyerPublicKey: test.deployment.buyer.resultPublicKey,
        compliance: RESEARCH_IN_US,
      }),
    );
    await as('sponsor').post(
      '/grants',
      as('sponsor').signed('grant', {
        grantId: ids.grant,
        granteeId: 'lab',
        milestones: [
          {
            milestoneId: 'report',
            name: 'final report',
            amount: '700',
            deadline: new Date(Date.now() + 3_600_000).toISOString(),
            check: { kind: 'sponsor_approval' },
          },
        ],
      }),
    );
    await waitFor(
      () => as('sponsor').get<GrantStatus>(`/grants/${ids.grant}`),
      (s) => s.stage === 'active',
    );
  }, 600_000);
  afterAll(async () => {
    if (test) await terminateRunning(test.temporal, [subscriptionWorkflowId(ids.subscription)]);
    await test?.close();
    if (keyHome) await rm(keyHome, { recursive: true, force: true });
  });

  describe('GET /deals lists what each party may see', () => {
    interface Listed {
      id: string;
      kind: string;
      stage: string;
      startedAt: string;
      closedAt?: string;
    }
    const list = (client: TuskClient, query = '') =>
      client.get<{ deals: Listed[] }>(`/deals${query}`).then(({ deals }) => deals);
    const listedIds = (deals: Listed[]) => deals.map((deal) => `${deal.kind}:${deal.id}`).sort();

    it('a buyer lists its own deals of every kind, with stages; others list none of them', async () => {
      const mine = [
        `deal:${ids.deal}`,
        `dispute:${ids.deal}`,
        `multi_seller:${ids.multi}`,
        `subscription:${ids.subscription}`,
      ];
      const deals = await waitFor(
        () => list(buyer, '?limit=100'),
        (found) => mine.every((id) => listedIds(found).includes(id)),
      );
      expect(
        listedIds(deals).filter((id) => id.startsWith('grant:') || id.startsWith('disclosure:')),
      ).toEqual([]);
      const deal = deals.find((listed) => listed.kind === 'deal' && listed.id === ids.deal)!;
      expect(Object.keys(deal).sort()).toEqual(
        ['id', 'kind', 'stage', 'startedAt'].concat(deal.closedAt ? ['closedAt'] : []).sort(),
      );
      expect(['delivered', 'disputed', 'refunded']).toContain(deal.stage);
      expect(listedIds(await list(as('thin-buyer'), '?limit=100'))).toEqual([]);
      const grants = await waitFor(
        () => list(as('sponsor'), '?kind=grant'),
        (found) => found.length > 0,
      );
      expect(listedIds(grants)).toEqual([`grant:${ids.grant}`]);
      expect(listedIds(await list(as('lab'), '?kind=deal'))).toEqual([]);
    });

    it('auditors list every kind without parties; since and until bound the start time', async () => {
      const seen = await waitFor(
        () => list(as('auditor'), '?limit=100'),
        (found) =>
          [`grant:${ids.grant}`, `disclosure:${ids.disclosure}`, `deal:${ids.deal}`].every((id) =>
            listedIds(found).includes(id),
          ),
      );
      const text = JSON.stringify(seen);
      for (const partyId of [test.deployment.buyer.id, test.seller.id, 'sponsor', 'lab'])
        expect(text).not.toContain(partyId);
      expect(
        await list(
          as('auditor'),
          `?until=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`,
        ),
      ).toEqual([]);
      const recent = await list(
        as('auditor'),
        `?kind=deal&since=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}&limit=1`,
      );
      expect(recent).toHaveLength(1);
      await expect(list(as('auditor'), '?kind=payment')).rejects.toMatchObject({ status: 400 });
    });
  });

  describe('every :id route answers an id of another kind with 404 (or 403), never 5xx', () => {
    /** Each kind's API id. */
    const idsOf = () => ({
      deal: [ids.deal],
      multi: [ids.multi],
      subscription: [ids.subscription],
      grant: [ids.grant],
      disclosure: [ids.disclosure],
      random: [`random-${crypto.randomUUID()}`],
    });
    /**
     * The workflow ids behind them, as an operator sees them in Temporal: not ids of any API kind, so
     * a route whose id format excludes them may answer 400, but never 5xx.
     */
    const workflowIds = () => [
      disputeWorkflowId(ids.deal),
      subscriptionWorkflowId(ids.subscription),
      grantWorkflowId(ids.grant),
      disclosureWorkflowId(ids.disclosure),
    ];
    type Kind = keyof ReturnType<typeof idsOf>;
    // A well-formed signed decision that verifies nowhere: each route must answer 404 before checking it.
    const PROOF = { notAfter: Date.now() + 3_600_000, signature: 'A'.repeat(86) };
    const VIEW = new URLSearchParams({
      ...PROOF,
      notAfter: String(PROOF.notAfter),
      nonce: 'n'.repeat(16),
    }).toString();
    // Every `:id` route in api/*/routes.ts: its own kind, who would call it, and a valid body.
    const ROUTES: { route: string; kind: Kind; call: (id: string) => Promise<unknown>; get?: true }[] = [
      {
        route: 'GET /deals/:id',
        kind: 'deal',
        get: true,
        call: (id) => as('operator-1').get(`/deals/${id}`),
      },
      {
        route: 'POST /deals/:id/confirm',
        kind: 'deal',
        call: (id) => buyer.post(`/deals/${id}/confirm`, PROOF),
      },
      { route: 'GET /deals/:id/result', kind: 'deal', call: (id) => buyer.get(`/deals/${id}/result`) },
      {
        route: 'POST /deals/:id/dispute',
        kind: 'deal',
        call: (id) => buyer.post(`/deals/${id}/dispute`, { reason: 'wrong kind of id', ...PROOF }),
      },
      {
        route: 'GET /deals/:id/dispute',
        kind: 'deal',
        get: true,
        call: (id) => as('operator-1').get(`/deals/${id}/dispute`),
      },
      {
        route: 'POST /deals/:id/dispute/reviewer',
        kind: 'deal',
        call: (id) =>
          as('compliance-1').post(`/deals/${id}/dispute/reviewer`, { reviewerId: 'auditor', ...PROOF }),
      },
      {
        route: 'POST /deals/:id/dispute/evidence',
        kind: 'deal',
        call: (id) => buyer.post(`/deals/${id}/dispute/evidence`, { evidence: 'a log', ...PROOF }),
      },
      {
        route: 'GET /deals/:id/dispute/evidence',
        kind: 'deal',
        call: (id) => as('auditor').get(`/deals/${id}/dispute/evidence?${VIEW}`),
      },
      {
        route: 'POST /deals/:id/dispute/approvals',
        kind: 'deal',
        call: (id) =>
          as('compliance-1').post(`/deals/${id}/dispute/approvals`, {
            outcome: { kind: 'refund' },
            ...PROOF,
          }),
      },
      {
        route: 'GET /multi-seller-deals/:id',
        kind: 'multi',
        get: true,
        call: (id) => as('operator-1').get(`/multi-seller-deals/${id}`),
      },
      {
        route: 'POST /multi-seller-deals/:id/confirm',
        kind: 'multi',
        call: (id) => buyer.post(`/multi-seller-deals/${id}/confirm`, PROOF),
      },
      {
        route: 'GET /multi-seller-deals/:id/result',
        kind: 'multi',
        call: (id) => buyer.get(`/multi-seller-deals/${id}/result`),
      },
      {
        route: 'GET /subscriptions/:id',
        kind: 'subscription',
        get: true,
        call: (id) => as('operator-1').get(`/subscriptions/${id}`),
      },
      {
        route: 'POST /subscriptions/:id/cancel',
        kind: 'subscription',
        call: (id) => buyer.post(`/subscriptions/${id}/cancel`, PROOF),
      },
      {
        route: 'POST /subscriptions/:id/payment-ready',
        kind: 'subscription',
        call: (id) => buyer.post(`/subscriptions/${id}/payment-ready`, { period: 1, ...PROOF }),
      },
      {
        route: 'GET /subscriptions/:id/token',
        kind: 'subscription',
        call: (id) => buyer.get(`/subscriptions/${id}/token`),
      },
      {
        route: 'GET /subscriptions/:id/deliveries/:period',
        kind: 'subscription',
        call: (id) => buyer.get(`/subscriptions/${id}/deliveries/1`),
      },
      {
        route: 'GET /grants/:id',
        kind: 'grant',
        get: true,
        call: (id) => as('operator-1').get(`/grants/${id}`),
      },
      {
        route: 'GET /public/grants/:id/progress',
        kind: 'grant',
        get: true,
        call: (id) => as('operator-1').get(`/public/grants/${id}/progress`),
      },
      {
        route: 'POST /grants/:id/milestones/:m/evidence',
        kind: 'grant',
        call: (id) =>
          as('lab').post(`/grants/${id}/milestones/report/evidence`, { evidence: 'a report', ...PROOF }),
      },
      {
        route: 'POST /grants/:id/milestones/:m/approve',
        kind: 'grant',
        call: (id) => as('sponsor').post(`/grants/${id}/milestones/report/approve`, PROOF),
      },
      {
        route: 'POST /grants/:id/milestones/:m/extend',
        kind: 'grant',
        call: (id) =>
          as('sponsor').post(`/grants/${id}/milestones/report/extend`, {
            deadline: new Date(Date.now() + 7_200_000).toISOString(),
            ...PROOF,
          }),
      },
      {
        route: 'POST /grants/:id/remainder/consent',
        kind: 'grant',
        call: (id) => as('lab').post(`/grants/${id}/remainder/consent`, { amount: '1', ...PROOF }),
      },
      {
        route: 'GET /disclosures/:id',
        kind: 'disclosure',
        get: true,
        call: (id) => as('operator-1').get(`/disclosures/${id}`),
      },
      {
        route: 'POST /disclosures/:id/decisions',
        kind: 'disclosure',
        call: (id) =>
          as('compliance-1').post(`/disclosures/${id}/decisions`, { decision: 'approve', ...PROOF }),
      },
      {
        route: 'GET /disclosures/:id/view',
        kind: 'disclosure',
        call: (id) => as('auditor').get(`/disclosures/${id}/view?${VIEW}`),
      },
    ];

    it('walks every route with the ids of every other kind and a random id', async () => {
      const answers: string[] = [];
      const wrong: string[] = [];
      for (const { route, kind, call, get } of ROUTES) {
        for (const [other, otherIds] of Object.entries(idsOf()))
          for (const id of other === kind ? [] : otherIds) {
            const { status, code } = await statusOf(call(id));
            answers.push(`${route} ${other}`);
            const allowed = get ? status === 404 : status === 404 || status === 403;
            if (!allowed) wrong.push(`${route} with ${other} id ${id}: ${status} ${code}`);
          }
      }
      expect(wrong).toEqual([]);
      expect(answers.length).toBeGreaterThanOrEqual(ROUTES.length * 5);
    }, 300_000);

    it('walks every route with the workflow ids behind each kind: 400, 403 or 404, never 5xx', async () => {
      const wrong: string[] = [];
      for (const { route, call, get } of ROUTES)
        for (const id of workflowIds()) {
          const { status, code } = await statusOf(call(id));
          const allowed = get ? status === 404 || status === 400 : [400, 403, 404].includes(status);
          if (!allowed) wrong.push(`${route} with workflow id ${id}: ${status} ${code}`);
        }
      expect(wrong).toEqual([]);
    }, 300_000);
  });

  describe('a template several sellers offer', () => {
    const body = (changes: Record<string, unknown>) =>
      buyer.signed('cohort_query', {
        dealId: `deal-${crypto.randomUUID()}`,
        templateId: templates.get(test.seller.id)!.id,
        templateHash: templateHash(templates.get(test.seller.id)!),
        parameters: PARAMETERS,
        price: PRICE_A,
        buyerPublicKey: test.deployment.buyer.resultPublicKey,
        compliance: RESEARCH_IN_US,
        ...changes,
      });

    it('without sellerId is refused with 400, naming the sellers', async () => {
      const refusal = await buyer.post('/deals', body({})).catch((error: unknown) => error);
      expect(refusal).toMatchObject({ status: 400, code: 'seller_required' });
      expect((refusal as TuskApiError).reason).toContain(test.seller.id);
      expect((refusal as TuskApiError).reason).toContain(sellerB.id);
    });

    it("a hash of one seller's copy, naming the other seller, says whose copy it is", async () => {
      await expect(buyer.post('/deals', body({ sellerId: sellerB.id }))).rejects.toMatchObject({
        status: 422,
        code: 'template_of_other_seller',
        reason: expect.stringContaining(`name sellerId ${test.seller.id}`),
      });
    });

    it("the second seller's copy can be bought by naming it", async () => {
      const deal = await buyDeal(
        test.deployment,
        templates.get(sellerB.id)!.id,
        PARAMETERS,
        undefined,
        undefined,
        sellerB.id,
      );
      expect(deal.created.status).toBe(201);
      const delivered = await deal.delivered();
      expect(delivered).toMatchObject({ stage: 'delivered', sellerId: sellerB.id, price: PRICE_B });
    }, 180_000);
  });

  describe('date ranges and decimals', () => {
    const spentByBuyer = async () => (await budgetOf(buyer, test.seller.id)).buyer!.spent.epsilon;

    it('from after to is refused by the API with the reason, before any deal, budget or payment', async () => {
      const before = {
        spent: await spentByBuyer(),
        balance: await test.deployment.ledger.balanceOf('demo-buyer'),
      };
      const dealId = `dated-${crypto.randomUUID()}`;
      await expect(
        buyDeal(test.deployment, DATED, { from: '2024-06-01', to: '2024-03-01', min_cost: '10.00' }, dealId),
      ).rejects.toMatchObject({
        status: 422,
        code: 'invalid_parameters',
        reason: 'from: from (2024-06-01) must be at most to (2024-03-01)',
      });
      await expect(as('operator-1').get(`/deals/${dealId}`)).rejects.toMatchObject({ status: 404 });
      expect(await spentByBuyer()).toBe(before.spent);
      expect(await test.deployment.ledger.balanceOf('demo-buyer')).toBe(before.balance);
    });

    it('a date or decimal not written as declared is refused by the API', async () => {
      await expect(
        buyDeal(test.deployment, DATED, { from: '2024/01/01', to: '2024-03-01', min_cost: '10.5' }),
      ).rejects.toMatchObject({
        status: 422,
        code: 'invalid_parameters',
        reason: 'from: a date written YYYY-MM-DD; min_cost: a decimal written with exactly 2 decimal places',
      });
    });

    it('the perimeter refuses from after to on its own, even in terms the buyer signed, and charges nothing', async () => {
      const before = {
        spent: await spentByBuyer(),
        balance: await test.deployment.ledger.balanceOf('demo-buyer'),
      };
      const status = await startDealBehindTheApi(test, {
        templateId: DATED,
        templateHash: templateHash(dated),
        parameters: { from: '2024-06-01', to: '2024-03-01', min_cost: '10.00' },
      });
      expect(status.stage).toBe('failed');
      expect(status.timeline.map((t) => t.stage)).toEqual(['quoted', 'failed']);
      expect(status.problem).toMatchObject({
        code: 'InvalidParameters',
        reason: expect.stringContaining('from (2024-06-01) must be at most to (2024-03-01)'),
      });
      expect(status.result).toBeUndefined();
      expect(await spentByBuyer()).toBe(before.spent);
      expect(await test.deployment.ledger.balanceOf('demo-buyer')).toBe(before.balance);
    }, 120_000);

    it('a range in order is answered: the values reach DuckDB as a DATE and an exact DECIMAL', async () => {
      const deal = await buyDeal(test.deployment, DATED, {
        from: '2024-03-01',
        to: '2024-06-30',
        min_cost: '100.00',
      });
      const delivered = await deal.delivered();
      expect(delivered.problem).toBeUndefined();
      expect(delivered.stage).toBe('delivered');
    }, 180_000);
  });

  describe('disclosures and votes', () => {
    it('a disclosure on a multi-seller deal is requested, approved and shows its sellers', async () => {
      const requested = await as('auditor').request<DisclosureStatus>('POST', '/disclosures', {
        disclosureId: ids.multiDisclosure,
        dealId: ids.multi,
        reason: 'sample of multi-seller sums',
      });
      expect(requested.status).toBe(201);
      for (const principal of ['compliance-1', 'compliance-2'])
        await decideDisclosure(as(principal), ids.multiDisclosure, 'approve');
      const view = await viewDisclosure<{ fields: Record<string, unknown> }>(
        as('auditor'),
        ids.multiDisclosure,
      );
      expect(view.fields).toEqual({
        buyerId: test.deployment.buyer.id,
        sellerIds: [test.seller.id, sellerB.id],
        price: String(Number(PRICE_A) + Number(PRICE_B)),
      });
    });

    it('two principals who disagree settle it when one changes its vote', async () => {
      const approve = (principal: string, outcome: { kind: string }) =>
        approveOutcome<DisputeStatus>(as(principal), ids.deal, outcome);
      expect((await approve('compliance-1', { kind: 'release' })).stage).toBe('open');
      expect((await approve('compliance-2', { kind: 'refund' })).stage).toBe('open');
      await expect(approve('compliance-2', { kind: 'refund' })).rejects.toMatchObject({
        status: 409,
        code: 'already_decided',
      });
      const changed = await approve('compliance-1', { kind: 'refund' });
      expect(changed).toMatchObject({
        stage: 'resolved',
        outcome: { kind: 'refund' },
        resolvedBy: 'approvals',
      });
      expect(changed.approvals.map((vote) => [vote.principal, vote.decision])).toEqual([
        ['compliance-2', { kind: 'refund' }],
        ['compliance-1', { kind: 'refund' }],
      ]);
      await waitFor(
        () => buyer.get<DealStatus>(`/deals/${ids.deal}`),
        (deal) => deal.stage === 'refunded',
      );
    }, 120_000);
  });

  describe('grants', () => {
    it('the sponsor cannot approve before evidence; once finished, the grant answers with its final stage', async () => {
      const sponsor = as('sponsor');
      const approve = () => approveMilestone(sponsor, ids.grant, 'report');
      await expect(approve()).rejects.toMatchObject({
        status: 409,
        code: 'invalid_state',
        reason: expect.stringContaining('has no evidence yet'),
      });
      await submitGrantEvidence(as('lab'), ids.grant, 'report', 'the report');
      await approve();
      const done = await waitFor(
        () => sponsor.get<GrantStatus>(`/grants/${ids.grant}`),
        (grant) => grant.stage === 'completed',
      );
      expect(done.milestones[0]).toMatchObject({ stage: 'released' });
      const finished = {
        status: 409,
        code: 'invalid_state',
        reason: `grant ${ids.grant} is completed: it takes no more actions`,
      };
      await expect(approve()).rejects.toMatchObject(finished);
      await expect(
        extendMilestone(sponsor, ids.grant, 'report', new Date(Date.now() + 7_200_000).toISOString()),
      ).rejects.toMatchObject(finished);
      await expect(submitGrantEvidence(as('lab'), ids.grant, 'report', 'more')).rejects.toMatchObject(
        finished,
      );
      await expect(as('lab').get(`/grants/${ids.grant}`)).resolves.toMatchObject({
        stage: 'completed',
      });
    }, 120_000);

    it('a grant or subscription the payer cannot afford is refused at creation (local ledger)', async () => {
      const thin = as('thin-sponsor');
      const grantId = `grant-${crypto.randomUUID()}`;
      await expect(
        thin.post(
          '/grants',
          thin.signed('grant', {
            grantId,
            granteeId: 'lab',
            milestones: [
              {
                milestoneId: 'm',
                name: 'too much',
                amount: '501',
                deadline: new Date(Date.now() + 3_600_000).toISOString(),
                check: { kind: 'sponsor_approval' },
              },
            ],
          }),
        ),
      ).rejects.toMatchObject({
        status: 422,
        code: 'insufficient_funds',
        reason: `grant ${grantId} needs 501 but thin-sponsor holds 500`,
      });
      await expect(as('operator-1').get(`/grants/${grantId}`)).rejects.toMatchObject({ status: 404 });
      const poor = as('thin-buyer');
      const subscriptionId = `sub-${crypto.randomUUID()}`;
      await expect(
        poor.post(
          '/subscriptions',
          poor.signed('subscription', {
            subscriptionId,
            queries: [
              {
                templateId: templates.get(test.seller.id)!.id,
                sellerId: test.seller.id,
                templateHash: templateHash(templates.get(test.seller.id)!),
                parameters: PARAMETERS,
              },
            ],
            pricePerPeriod: PRICE_A,
            periodSeconds: 3600,
            buyerPublicKey: test.deployment.buyer.resultPublicKey,
            compliance: RESEARCH_IN_US,
          }),
        ),
      ).rejects.toMatchObject({ status: 422, code: 'insufficient_funds' });
      await expect(as('operator-1').get(`/subscriptions/${subscriptionId}`)).rejects.toMatchObject({
        status: 404,
      });
    });
  });
});
