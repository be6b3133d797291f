import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeKeys } from '../../cli/buyer/he-keys';
import { accessTokenContext, ACCESS_TOKEN_HEADER } from '../../lib/access-token';
import { open } from '../../lib/sealed-box';
import { TuskApiError, type TuskClient } from '../../lib/tusk-client';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { grantWorkflowId, subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { buyDeal, RESEARCH_IN_US, startTestDeployment, TestSeller, type TestDeployment } from './harness';
import { party, sellerIdentity, terminateRunning, waitFor } from './lifecycle-harness';
import { addDisputeEvidence, nameReviewer, openDispute } from '../../lib/signed-actions';
import type { DecisionScope } from '../../lib/signed-decision';

/**
 * Every GET route × every role, against the one redaction rule (api/redaction.ts): a resource's own
 * parties and the operator see it whole; auditors and compliance see it with its parties and amounts
 * absent (keys left out, no id or amount anywhere in the body); everyone else gets 403.
 */
const ROLES = [
  'buyer',
  'seller',
  'otherBuyer',
  'sponsor',
  'grantee',
  'auditor',
  'compliance',
  'operator',
] as const;
type Role = (typeof ROLES)[number];
type Expect = 'whole' | 'redacted' | 'ok' | { status: number; code: string };

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const PRICE_A = '1234';
const PRICE_B = '1111';
const MILESTONES = ['777', '888'];
const SPONSOR = 'sponsor-acme';
const GRANTEE = 'grantee-lab';
const REVIEWER = 'auditor-1';

const forbidden = { status: 403, code: 'forbidden' } as const;
/** Role → expectation; roles left out are forbidden. */
const only = (given: Partial<Record<Role, Expect>>): Record<Role, Expect> =>
  Object.fromEntries(ROLES.map((role) => [role, given[role] ?? forbidden])) as Record<Role, Expect>;
const statusRule = (...whole: Role[]) =>
  only({
    ...Object.fromEntries(whole.map((role) => [role, 'whole'])),
    auditor: 'redacted',
    compliance: 'redacted',
    operator: 'whole',
  });

describe('one redaction rule: every GET route × every role', () => {
  let test: TestDeployment;
  let sellerB: TestSeller;
  let keyHome: string;
  const templates = new Map<string, QueryTemplate>();
  const ids = {
    deal: '',
    multi: `multi-${crypto.randomUUID()}`,
    subscription: `sub-${crypto.randomUUID()}`,
    grant: `grant-${crypto.randomUUID()}`,
    disclosure: `disclosure-${crypto.randomUUID()}`,
  };
  let clients: Record<Role, TuskClient>;
  let buyerToken = '';

  beforeAll(async () => {
    test = await startTestDeployment(
      'redaction',
      async (first) => {
        sellerB = new TestSeller(`${first.id}-b`, first.policiesRoot);
        templates.set(first.id, await first.publishDemoTemplate({ price: PRICE_A }));
        templates.set(sellerB.id, await sellerB.publishDemoTemplate({ price: PRICE_B }));
        await sellerB.publishDatasetPolicy();
      },
      () => ({
        buyerFunds: 100_000n,
        acceptanceTimeoutMs: 600_000,
        extraSellers: [{ sellerId: sellerB.id, sellerPublicKey: sellerB.keys.publicKey, rows: 20_000 }],
        parties: [
          { id: 'other-buyer', role: 'buyer' },
          { id: SPONSOR, role: 'sponsor', funds: 100_000n },
          { id: GRANTEE, role: 'buyer' },
          { id: REVIEWER, role: 'auditor' },
          { id: 'compliance-1', role: 'compliance' },
          { id: 'operator-1', role: 'operator' },
        ],
        env: { TUSK_MIN_PERIOD_MS: '1000' },
      }),
    );
    clients = {
      buyer: test.deployment.buyer.client,
      seller: sellerIdentity(test).client,
      otherBuyer: party(test, 'other-buyer').client,
      sponsor: party(test, SPONSOR).client,
      grantee: party(test, GRANTEE).client,
      auditor: party(test, REVIEWER).client,
      compliance: party(test, 'compliance-1').client,
      operator: party(test, 'operator-1').client,
    };
    const hashOf = (sellerId: string) => templateHash(templates.get(sellerId)!);
    const templateId = templates.get(test.seller.id)!.id;

    // A one-time deal, delivered, disputed by its buyer, with the auditor named reviewer.
    // Both sellers offer the template id: the buyer names whose copy it buys.
    const deal = await buyDeal(test.deployment, templateId, PARAMETERS, undefined, undefined, test.seller.id);
    ids.deal = deal.dealId;
    expect((await deal.delivered()).stage).toBe('delivered');
    await openDispute(clients.buyer, ids.deal, 'the table looks thin');
    await waitFor(
      () => clients.operator.get(`/deals/${ids.deal}/dispute`).catch(() => undefined),
      (s) => s !== undefined,
    );
    await addDisputeEvidence(clients.seller, ids.deal, 'groups under k are withheld');
    await nameReviewer(clients.compliance, ids.deal, REVIEWER);
    await clients.auditor.post('/disclosures', {
      disclosureId: ids.disclosure,
      dealId: ids.deal,
      reason: 'sample of disputed deals',
    });

    // A multi-seller sum over both sellers.
    keyHome = await mkdtemp(join(tmpdir(), 'tusk-he-redaction-'));
    const heKeyRef = await createHeKeys(clients.buyer, keyHome, test.deployment.buyer.id);
    await clients.buyer.post(
      '/multi-seller-deals',
      clients.buyer.signed('multi_seller', {
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

    // A subscription to the first seller's template, and a grant from the sponsor to the lab.
    await clients.buyer.post(
      '/subscriptions',
      clients.buyer.signed('subscription', {
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
    const deadline = new Date(Date.now() + 3_600_000).toISOString();
    await clients.sponsor.post(
      '/grants',
      clients.sponsor.signed('grant', {
        grantId: ids.grant,
        granteeId: GRANTEE,
        milestones: MILESTONES.map((amount, i) => ({
          milestoneId: `m${i}`,
          name: `milestone ${i}`,
          amount,
          deadline,
          check: { kind: 'sponsor_approval' },
        })),
      }),
    );

    await waitFor(
      () => clients.buyer.get<{ stage: string; problem?: unknown }>(`/multi-seller-deals/${ids.multi}`),
      (s) => s.stage === 'delivered' || s.problem !== undefined,
      180_000,
    );
    await waitFor(
      () => clients.buyer.get<{ deliveries: unknown[] }>(`/subscriptions/${ids.subscription}`),
      (s) => s.deliveries.length > 0,
      180_000,
    );
    const sealed = await clients.buyer.get<{ period: number; sealedToken: string }>(
      `/subscriptions/${ids.subscription}/token`,
    );
    buyerToken = (
      await open(
        Buffer.from(sealed.sealedToken, 'base64'),
        test.deployment.buyer.resultKeyPem,
        accessTokenContext(ids.subscription, sealed.period),
      )
    ).toString();
  }, 600_000);
  afterAll(async () => {
    if (test)
      await terminateRunning(test.temporal, [
        subscriptionWorkflowId(ids.subscription),
        grantWorkflowId(ids.grant),
      ]);
    await test?.close();
    if (keyHome) await rm(keyHome, { recursive: true, force: true });
  });

  const dealParties = () => [test.deployment.buyer.id, test.seller.id];
  interface Row {
    route: () => string;
    /** Ids and amounts that a redacted body must not contain anywhere, and a whole one shows. */
    parties: () => string[];
    amounts: string[];
    /** Keys a redacted body leaves out. */
    hiddenKeys: string[];
    expect: Record<Role, Expect>;
    headers?: (role: Role) => Record<string, string>;
    /** A read or view each role signs (as it would) over the run its status names, in the query string. */
    signedView?: { status: () => string; action: 'evidence_read' | 'disclosure_view' };
  }
  /** `role`'s signed read or view; the scope is read as the operator, who sees every status. */
  const signedViewQuery = async (role: Role, view: NonNullable<Row['signedView']>) => {
    const { scope } = await clients.operator.get<{ scope: DecisionScope }>(view.status());
    const nonce = crypto.randomUUID().replaceAll('-', '');
    const { notAfter, signature } = clients[role].signDecision(scope, view.action, { nonce });
    return new URLSearchParams({ notAfter: String(notAfter), nonce, signature }).toString();
  };
  const none = { parties: () => [], amounts: [], hiddenKeys: [] };
  const ROUTES: Record<string, Row> = {
    'GET /templates': {
      ...none,
      route: () => '/templates',
      expect: only(Object.fromEntries(ROLES.map((r) => [r, 'ok']))),
    },
    'GET /deals/:id': {
      route: () => `/deals/${ids.deal}`,
      parties: dealParties,
      amounts: [PRICE_A],
      hiddenKeys: ['buyerId', 'sellerId', 'price', 'templateId', 'templateHash'],
      expect: statusRule('buyer', 'seller'),
    },
    'GET /deals/:id/result': {
      ...none,
      route: () => `/deals/${ids.deal}/result`,
      expect: only({ buyer: 'ok' }),
    },
    'GET /multi-seller-deals/:id': {
      route: () => `/multi-seller-deals/${ids.multi}`,
      parties: () => [test.deployment.buyer.id, test.seller.id, sellerB.id],
      amounts: [String(Number(PRICE_A) + Number(PRICE_B))],
      hiddenKeys: ['buyerId', 'sellerIds', 'price', 'contributors', 'templateId'],
      expect: statusRule('buyer', 'seller'),
    },
    'GET /multi-seller-deals/:id/result': {
      ...none,
      route: () => `/multi-seller-deals/${ids.multi}/result`,
      expect: only({ buyer: 'ok' }),
    },
    'GET /subscriptions/:id': {
      route: () => `/subscriptions/${ids.subscription}`,
      parties: dealParties,
      amounts: [PRICE_A],
      hiddenKeys: ['buyerId', 'sellerId', 'pricePerPeriod'],
      expect: statusRule('buyer', 'seller'),
    },
    'GET /subscriptions/:id/token': {
      ...none,
      route: () => `/subscriptions/${ids.subscription}/token`,
      expect: only({ buyer: 'ok' }),
    },
    'GET /subscriptions/:id/deliveries/:period': {
      ...none,
      route: () => `/subscriptions/${ids.subscription}/deliveries/1`,
      headers: () => ({ [ACCESS_TOKEN_HEADER]: buyerToken }),
      expect: only({ buyer: 'ok' }),
    },
    'GET /grants/:id': {
      route: () => `/grants/${ids.grant}`,
      parties: () => [SPONSOR, GRANTEE],
      amounts: [...MILESTONES, String(MILESTONES.reduce((a, b) => a + Number(b), 0))],
      hiddenKeys: ['sponsorId', 'granteeId', 'total'],
      expect: statusRule('sponsor', 'grantee'),
    },
    'GET /deals/:id/dispute': {
      route: () => `/deals/${ids.deal}/dispute`,
      parties: dealParties,
      amounts: [],
      hiddenKeys: ['buyerId', 'sellerId', 'openedBy'],
      expect: statusRule('buyer', 'seller'),
    },
    'GET /deals/:id/dispute/evidence': {
      route: () => `/deals/${ids.deal}/dispute/evidence`,
      signedView: { status: () => `/deals/${ids.deal}/dispute`, action: 'evidence_read' },
      parties: dealParties,
      amounts: [],
      hiddenKeys: [],
      expect: only({ auditor: 'redacted' }),
    },
    'GET /disclosures/:id': {
      ...none,
      route: () => `/disclosures/${ids.disclosure}`,
      expect: only({ auditor: 'ok', compliance: 'ok', operator: 'ok' }),
    },
    'GET /disclosures/:id/view': {
      ...none,
      route: () => `/disclosures/${ids.disclosure}/view`,
      signedView: { status: () => `/disclosures/${ids.disclosure}`, action: 'disclosure_view' },
      expect: only({ auditor: { status: 409, code: 'not_approved' } }),
    },
  };

  /** Every string anywhere in a body: where an id or an amount would show. */
  const strings = (value: unknown): string[] =>
    typeof value === 'string'
      ? [value]
      : Array.isArray(value)
        ? value.flatMap(strings)
        : typeof value === 'object' && value !== null
          ? Object.values(value).flatMap(strings)
          : [];

  const cases = Object.entries(ROUTES).flatMap(([name, row]) =>
    ROLES.map((role) => [name, role, row, row.expect[role]] as const),
  );

  it.each(cases)('%s as %s', async (_name, role, row, want) => {
    const query = row.signedView ? `?${await signedViewQuery(role, row.signedView)}` : '';
    const request = clients[role].request<Record<string, unknown>>(
      'GET',
      `${row.route()}${query}`,
      undefined,
      row.headers?.(role) ?? {},
    );
    if (typeof want === 'object') {
      const error = await request.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TuskApiError);
      expect(error).toMatchObject(want);
      return;
    }
    const { status, body } = await request;
    expect(status).toBe(200);
    const values = strings(body);
    if (want === 'whole') {
      for (const id of row.parties()) expect(values.join('\n')).toContain(id);
      for (const amount of row.amounts) expect(values).toContain(amount);
      expect(body).not.toHaveProperty('hidden');
    }
    if (want === 'redacted') {
      for (const key of row.hiddenKeys) expect(body).not.toHaveProperty(key);
      // Nor anything the catalog, which every party reads, maps back to a seller and a price.
      const { templates: catalog } = await clients[role].get<{ templates: { id: string; hash: string }[] }>(
        '/templates',
      );
      for (const template of catalog) {
        expect(values).not.toContain(template.id);
        expect(values).not.toContain(template.hash);
      }
      for (const id of row.parties()) for (const value of values) expect(value).not.toContain(id);
      for (const amount of row.amounts) expect(values).not.toContain(amount);
    }
  });

  it('the public grant progress, unsigned, names no party and no amount', async () => {
    const response = await fetch(`${test.deployment.apiUrl}/public/grants/${ids.grant}/progress`);
    expect(response.status).toBe(200);
    const values = strings(await response.json());
    for (const value of values) for (const id of [SPONSOR, GRANTEE]) expect(value).not.toContain(id);
    for (const amount of MILESTONES) expect(values).not.toContain(amount);
  });
});
